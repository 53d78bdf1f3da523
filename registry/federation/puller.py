"""Pull sync (docs/federation-protocol.md): copy every trusted origin's records from the peers that offer them.

For each origin a peer offers, the puller holds the origin's lock (one puller per origin across
processes), then either bootstraps from the peer's snapshot (no cursor yet, or the peer answered
410 because the cursor is older than its log) or follows the origin's change feed from the cursor.

Nothing unverified is applied. A page is checked whole before any of it is applied: every item
must be the next seq, signed by a key the origin published (`typ` and `alg` checked), claim that
origin and carry an id in its namespace. A page that fails, or does not parse, is discarded whole
and stops the origin for this round; a later round fetches it again. A valid page is applied by
`records.apply_copies` and the cursor moves in the same transaction, so a puller killed at any point
leaves either the whole page or none of it. A snapshot is downloaded to a temporary file first (so
the peer streams it at network speed), then verified, and applied in one transaction only when its
manifest's count and digest match.

Requests that fail for a passing reason (connection refused or reset, timeout, 429, 5xx, a page
cut short) are retried with exponential backoff and full jitter, waiting at least what
`Retry-After` asks. An origin that still fails is put off (`retry_at`) for the watch loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from urllib.parse import urlencode

import orjson
from joserfc.jwk import KeySet
from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.crypto import checkpoint, envelope
from registry.db import iso, utcnow
from registry.errors import RegistryError
from registry.federation import peers, trust
from registry.outbound import Outbound, OutboundError, Response
from registry.progress import Progress, silent
from registry.record_types import RECORD_TYPES
from registry.services import checkpoints, watching
from registry.services.change_log import restart_relayed_log
from registry.services.records import apply_copies, discard_copy, forget_loaded, lock_origin

logger = logging.getLogger(__name__)

PAGE_LIMIT = 500
# Snapshot records applied between two releases of the objects the session has loaded.
SNAPSHOT_BATCH = 1000
PAGE_MAX_BYTES = 64 << 20
SNAPSHOT_MAX_BYTES = 8 << 30
TOKEN_MAX_BYTES = 64 << 10
ATTEMPTS = 4
BACKOFF_BASE = 0.5
# A Retry-After longer than this is not waited out within a round: the origin is put off instead.
LONGEST_WAIT = 60.0
# How long a failing origin is put off in the watch loop: doubling from a minute, at most an hour.
PUT_OFF_BASE, PUT_OFF_MAX = 60, 3600


class SyncFailure(Exception):
    """This origin cannot be pulled from this peer now; the message says why."""

    def __init__(self, message: str, *, retry_after: float | None = None, refused: int = 0):
        super().__init__(message)
        self.retry_after = retry_after
        self.refused = refused


class Transient(SyncFailure):
    """A failure worth retrying: the peer or the network, not the data."""


@dataclass
class OriginReport:
    origin: str
    source: str | None = None
    bootstrapped: bool = False
    pages: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("applied", "duplicate", "stale", "quarantined", "refused"), 0))
    cursor: int | None = None
    error: str | None = None
    skipped: str | None = None
    # Said of a pull that worked, e.g. a snapshot from a peer that gave no checkpoint to check it with.
    warning: str | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# -- talking to a peer ----------------------------------------------------------------------------

class PeerClient:
    """One peer for one round: its token (client credentials, scope federation:read) and its feeds."""

    def __init__(self, credentials: peers.PeerCredentials, outbound: Outbound, sleep: Callable = time.sleep):
        self.credentials = credentials
        self.name = credentials.name
        self.outbound = outbound
        self.sleep = sleep
        self._token: str | None = None
        self._token_expires = 0.0

    def origins(self) -> list[dict]:
        listing = self.json("/api/v1/federation/origins")
        if not isinstance(listing, list) or not all(isinstance(o, dict) and isinstance(o.get("origin"), str)
                                                    and isinstance(o.get("last_seq"), int) for o in listing):
            raise SyncFailure(f"{self.name}: its list of origins is not a list of {{origin, last_seq}}")
        return listing

    def json(self, path: str, params: dict | None = None, *, accept_gone: bool = False):
        """The JSON answer of a GET, retried while it fails for a passing reason (a body that does not
        parse counts as one: a page cut short). None for a 410 when `accept_gone`."""
        def attempt():
            response = self.get(path, params, max_bytes=PAGE_MAX_BYTES)
            if response.status == 410 and accept_gone:
                return None
            self.check(response, path)
            try:
                return orjson.loads(response.body)
            except orjson.JSONDecodeError as exc:
                raise Transient(f"{self.name}{path}: the answer is not complete JSON ({exc}); discarded") from None
        return self.retrying(attempt)

    def get(self, path: str, params: dict | None = None, *, max_bytes: int) -> Response:
        url = self.url(path, params)
        try:
            response = self.outbound.request("GET", url, headers=self.headers(), max_bytes=max_bytes)
            if response.status == 401:
                self._token = None
                response = self.outbound.request("GET", url, headers=self.headers(), max_bytes=max_bytes)
        except OutboundError as exc:
            raise _failure(self.name, exc) from None
        return response

    @contextlib.contextmanager
    def stream(self, path: str) -> Iterator[Iterator[bytes]]:
        try:
            with self.outbound.stream_lines(self.url(path), headers=self.headers(),
                                            max_bytes=SNAPSHOT_MAX_BYTES) as (response, lines):
                self.check(response, path)
                yield self._guarded(lines)
        except OutboundError as exc:
            raise _failure(self.name, exc) from None

    def _guarded(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from lines
        except OutboundError as exc:
            raise Transient(f"{self.name}: the snapshot broke off: {exc}") from None

    def check(self, response: Response, path: str) -> None:
        if 200 <= response.status < 300:
            return
        detail = _problem_detail(response.body)
        message = f"{self.name}{path.split('?')[0]} answered {response.status}" + (f": {detail}" if detail else "")
        if response.status == 429 or response.status >= 500:
            raise Transient(message, retry_after=Outbound.retry_after(response))
        raise SyncFailure(message)

    def retrying(self, attempt: Callable):
        for number in range(1, ATTEMPTS + 1):
            try:
                return attempt()
            except Transient as exc:
                wait = random.uniform(0, BACKOFF_BASE * 2 ** number)
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                if number == ATTEMPTS or wait > LONGEST_WAIT:
                    raise
                self.sleep(wait)
        raise AssertionError("unreachable")

    def url(self, path: str, params: dict | None = None) -> str:
        return f"{self.credentials.url}{path}" + (f"?{urlencode(params)}" if params else "")

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}

    def token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        body = urlencode({"grant_type": "client_credentials", "scope": "federation:read",
                          "client_id": self.credentials.client_id, "client_secret": self.credentials.client_secret})

        def attempt():
            try:
                response = self.outbound.request(
                    "POST", f"{self.credentials.url}/oauth/token", body=body.encode(), max_bytes=TOKEN_MAX_BYTES,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
            except OutboundError as exc:
                raise _failure(self.name, exc) from None
            self.check(response, "/oauth/token")
            return response
        # One attempt: the token is fetched inside a request that is itself retried, and retries of
        # both would multiply (a dead peer held a round for many times the backoff).
        response = attempt()
        try:
            answer = orjson.loads(response.body)
            self._token = answer["access_token"]
            expires_in = float(answer.get("expires_in", 300))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise SyncFailure(f"{self.name}/oauth/token: no access token in the answer") from None
        self._token_expires = time.monotonic() + max(expires_in - 30, 1)
        return self._token


def _failure(peer: str, error: OutboundError) -> SyncFailure:
    kind = Transient if error.transient else SyncFailure
    return kind(f"{peer}: {error}", retry_after=error.retry_after)


def _problem_detail(body: bytes) -> str | None:
    try:
        problem = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return str(problem.get("detail"))[:300] if isinstance(problem, dict) and problem.get("detail") else None


# -- verifying ------------------------------------------------------------------------------------

class Verifier:
    """Checks envelopes against one trusted origin's pinned keys, fetching them again once if an
    envelope names a kid they lack (the origin may have rotated)."""

    def __init__(self, ctx: Context, origin: models.TrustedOrigin):
        self.ctx = ctx
        self.origin = origin
        self.keys: KeySet = trust.key_set(origin)
        self.refreshed = False

    def claims(self, signed, expected_seq: int | None = None, *, line: dict | None = None) -> dict:
        """The verified claims of one item; SyncFailure (refused=1) naming what is wrong otherwise."""
        if not isinstance(signed, str):
            raise SyncFailure(f"an item of {self.origin.node_id}" + (f" at seq {expected_seq}" if expected_seq else "")
                              + " has no envelope string", refused=1)
        claims = self._verified(lambda keys: envelope.verify(signed, keys), self._what(signed, expected_seq, line))
        problem = self._problem(claims, expected_seq, line)
        if problem:
            raise SyncFailure(f"{self._what(signed, expected_seq, line)} was refused: {problem}", refused=1)
        return claims

    def checkpoint(self, signed) -> dict:
        """The verified claims of a checkpoint of this origin; SyncFailure naming what is wrong otherwise."""
        return self._verified(lambda keys: checkpoint.verify(signed, keys, self.origin.node_id),
                              f"a checkpoint of {self.origin.node_id}")

    def _verified(self, verify: Callable[[KeySet], dict], what: str) -> dict:
        try:
            return verify(self.keys)
        except envelope.InvalidEnvelope as exc:
            if "unknown kid" not in str(exc) or self.refreshed:
                raise SyncFailure(f"{what} was refused: {exc}", refused=1) from None
        # A kid the pinned keys lack: the origin may have rotated. Its key set is fetched again, once per
        # pull (trust.refresh_keys itself waits a minute between two fetches of one origin).
        self.refreshed = True
        try:
            fresh = trust.refresh_keys(self.ctx, self.origin.node_id)
        except RegistryError as refresh:
            raise Transient(f"{what} names an unknown kid; {self.origin.node_id}'s keys could not be fetched "
                            f"again: {refresh.detail}") from None
        if fresh is None:  # fetched moments ago, maybe by another pull: the keys pinned now
            fresh = trust.trusted(self.ctx).get(self.origin.node_id)
        if fresh is not None:
            self.keys = trust.key_set(fresh)
        try:
            return verify(self.keys)
        except envelope.InvalidEnvelope as exc:
            raise SyncFailure(f"{what} was refused: {exc}", refused=1) from None

    def _what(self, signed, expected_seq: int | None, line: dict | None) -> str:
        """Names the envelope in a message: its record and seq as it claims them."""
        try:
            claimed = envelope.claims_unverified(signed)
        except envelope.InvalidEnvelope:
            claimed = {}
        record = claimed.get("id") or (line or {}).get("id")
        seq = expected_seq if expected_seq is not None else claimed.get("seq")
        return (f"the envelope of {self.origin.node_id}" + (f" for {record}" if record else "")
                + (f" at seq {seq}" if seq is not None else ""))

    def _problem(self, claims: dict, expected_seq: int | None, line: dict | None) -> str | None:
        if claims.get("origin") != self.origin.node_id:
            return f"it claims the origin {claims.get('origin')!r}"
        record_id = claims.get("id")
        if not isinstance(record_id, str) or not record_id.startswith(f"{self.origin.namespace}:"):
            return f"the id {record_id!r} is not in {self.origin.node_id}'s namespace {self.origin.namespace!r}"
        if claims.get("type") not in RECORD_TYPES:
            return f"unknown record type {claims.get('type')!r}"
        if not (isinstance(claims.get("seq"), int) and isinstance(claims.get("version"), int)
                and claims["version"] >= 1 and isinstance(claims.get("deleted"), bool)
                and isinstance(claims.get("body"), dict) and isinstance(claims.get("owner_network"), str)
                and isinstance(claims.get("updated_at"), str)):
            return "its claims are incomplete"
        try:
            datetime.fromisoformat(claims["updated_at"])
        except ValueError:
            return f"updated_at {claims['updated_at']!r} is not a date-time"
        if expected_seq is not None and claims["seq"] != expected_seq:
            return f"it carries seq {claims['seq']} where the feed needs {expected_seq} (a gap or a replay)"
        if line is not None and any(line.get(k) != claims[k] for k in ("id", "type", "version", "deleted", "seq")):
            return f"the snapshot line of {line.get('id')!r} does not match its envelope"
        return None


# -- one origin -----------------------------------------------------------------------------------

class OriginPull:
    """Pulling one origin from one peer: bootstrap if needed, then the feed up to the peer's end."""

    def __init__(self, ctx: Context, peer: PeerClient, trusted: models.TrustedOrigin, report: OriginReport,
                 offered_seq: int, stop: Callable[[], bool] = lambda: False, progress: Progress = silent,
                 rebootstrap: bool = False):
        self.ctx = ctx
        self.rebootstrap = rebootstrap
        self.stop = stop
        self.progress = progress
        self.peer = peer
        self.offered_seq = offered_seq
        self.origin = trusted.node_id
        self.verifier = Verifier(ctx, trusted)
        self.report = report
        # Who wrote a copied version, as far as this node knows: its origin (whose publisher a live
        # version's envelope does not name), and the peer it came through. A tombstone is the origin's
        # deletion, not the peer's, and names who deleted it there when its origin says so.
        self.actor = f"origin:{trusted.node_id} via sync from {peer.name}"

    def actor_of(self, claims: dict) -> str:
        deleted_by = claims.get("deleted_by") if claims.get("deleted") else None
        return f"{deleted_by} at {self.actor}" if isinstance(deleted_by, str) and deleted_by else self.actor

    def run(self) -> None:
        _update_state(self.ctx, self.origin, source_last_seq=self.offered_seq)
        cursor = self.cursor()
        if cursor is not None and cursor >= self.offered_seq and not self.rebootstrap:
            # Nothing here that this node lacks (or the peer is behind it): no request needed.
            _update_state(self.ctx, self.origin, source=self.peer.name, last_success_at=utcnow(),
                          caught_up_at=utcnow() if cursor == self.offered_seq else None)
            self.report.cursor = cursor
            self.compare_with_checkpoint(cursor)
            return
        bootstrapped = False
        if cursor is None or self.rebootstrap:
            cursor, bootstrapped = self.bootstrap(repair=self.rebootstrap), True
        while True:
            if self.stop():
                self.report.cursor = cursor
                return
            page = self.peer.json(f"/api/v1/federation/origins/{self.origin}/changes",
                                  {"after": cursor, "limit": PAGE_LIMIT}, accept_gone=True)
            if page is None:
                if bootstrapped:
                    # At most one bootstrap per origin and round: a peer that answers 410 again right
                    # after its own snapshot would otherwise be downloaded for ever.
                    raise SyncFailure(f"{self.peer.name}: {self.origin}'s change feed answered 410 (cursor gone) "
                                      f"again right after a bootstrap at seq {cursor}; tried again next round")
                cursor, bootstrapped = self.bootstrap(), True
                continue
            items, has_more, last_seq = self.checked_page(page, cursor)
            self.take_checkpoint(page.get("checkpoint"))
            verified = [(self.verifier.claims(item.get("envelope"), cursor + 1 + i), item["envelope"])
                        for i, item in enumerate(items)]
            if verified:
                cursor = self.apply_page(cursor, verified)
            self.report.pages += 1
            if not has_more:
                _update_state(self.ctx, self.origin, source=self.peer.name, source_last_seq=last_seq,
                              caught_up_at=utcnow() if cursor >= last_seq else None)
                self.report.cursor = cursor
                self.compare_with_checkpoint(cursor)
                return

    def take_checkpoint(self, signed) -> None:
        """Verify a checkpoint the peer handed on and keep it if it is the freshest seen."""
        if signed is None:
            return
        claims = self.verifier.checkpoint(signed)
        with self.ctx.db.write() as session:
            checkpoints.remember(session, claims, signed)

    def compare_with_checkpoint(self, cursor: int) -> None:
        """Once caught up with the peer: the copies held must be exactly the origin's checkpoint at that
        seq, and the peer must not be behind the freshest checkpoint seen (from it or another peer)."""
        with self.ctx.db.write() as session:
            row = checkpoints.freshest(session, self.origin)
            if row is None or row.as_of_seq < cursor:
                return
            if row.as_of_seq > cursor:
                raise SyncFailure(f"{self.peer.name} serves {self.origin} up to seq {cursor}, behind {self.origin}'s "
                                  f"checkpoint at seq {row.as_of_seq} (signed {iso(row.issued_at)}): the copies here "
                                  f"lag {row.as_of_seq - cursor} changes until the origin or a fresher peer answers")
            if row.matched:  # checked when this node reached that seq; nothing of the origin changed since
                return
            claims = envelope.claims_unverified(row.signed)
            if checkpoints.matches(session, claims):
                row.matched = True
                return
            row.matched = False
        raise SyncFailure(f"the copies of {self.origin} held here at seq {cursor} do not match {self.origin}'s "
                          f"checkpoint at that seq ({claims['count']} records): a copy was changed or lost on this "
                          f"node; repair it with `registry sync --origin {self.origin} --rebootstrap`")

    def cursor(self) -> int | None:
        with self.ctx.db.read() as session:
            counter = session.get(models.OriginSequence, self.origin)
            return None if counter is None else counter.last_seq

    def checked_page(self, page, cursor: int) -> tuple[list[dict], bool, int]:
        if not (isinstance(page, dict) and page.get("origin") == self.origin and isinstance(page.get("items"), list)
                and isinstance(page.get("has_more"), bool) and isinstance(page.get("last_seq"), int)
                and all(isinstance(i, dict) for i in page["items"])):
            raise SyncFailure(f"{self.peer.name}: the page after {cursor} of {self.origin} is not a change-feed page")
        items = page["items"]
        if len(items) > PAGE_LIMIT:
            raise SyncFailure(f"{self.peer.name}: the page after {cursor} of {self.origin} is too long")
        if page["has_more"] != (cursor + len(items) < page["last_seq"]):
            raise SyncFailure(f"{self.peer.name}: the page after {cursor} of {self.origin} holds {len(items)} items "
                              f"up to its last seq {page['last_seq']} and says has_more={page['has_more']}: items "
                              "are missing; the page is discarded", refused=1)
        for i, item in enumerate(items):
            if item.get("seq") != cursor + 1 + i:
                raise SyncFailure(f"{self.peer.name}: {self.origin}'s feed skips from {cursor + i} to "
                                  f"{item.get('seq')}; the page is discarded and {self.origin} stops until it is "
                                  "fetched again", refused=1)
        return items, page["has_more"], page["last_seq"]

    def apply_page(self, cursor: int, verified: list[tuple[dict, str]]) -> int:
        counts = dict.fromkeys(("applied", "duplicate", "stale", "quarantined"), 0)
        with self.ctx.db.write() as session:
            counter = lock_origin(session, self.origin)
            if counter.last_seq != cursor:
                raise SyncFailure(f"{self.origin}'s cursor moved from {cursor} to {counter.last_seq} during the page")
            copies = [(claims, signed, self.actor_of(claims)) for claims, signed in verified]
            for outcome, _reason in apply_copies(session, copies, log=True):
                counts[outcome.value] += 1
            _count(session, self.origin, counts, source=self.peer.name, last_success_at=utcnow())
        self._add(counts)
        return verified[-1][0]["seq"]

    def bootstrap(self, repair: bool = False) -> int:
        """Replace this node's copies of the origin with the peer's snapshot; the new cursor.

        The snapshot counts only against the origin's checkpoint at its seq: its records must hash to the
        checkpoint's digest, so that no record was left out, added or changed by whoever relayed it; only
        then are the copies it does not name discarded, and the cursor moves to the signed seq. A snapshot
        without a checkpoint (a peer of an older release, or one that holds none at that seq) is applied
        record by record, every envelope verified, but nothing is discarded and the cursor moves only to
        the newest signed seq in it. `repair` overwrites copies that differ from the origin's versions."""
        with tempfile.TemporaryFile() as spool:
            manifest, count, entries = self.spool_snapshot(spool)
            checked = self.checked_against_checkpoint(manifest, entries)
            cursor = manifest["as_of_seq"] if checked else max((seq for _i, _v, seq in entries), default=0)
            spool.seek(0)
            counts = dict.fromkeys(("applied", "duplicate", "stale", "quarantined"), 0)
            with self.ctx.db.write() as session:
                counter = lock_origin(session, self.origin)
                if counter.last_seq > cursor:
                    raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot is at seq {cursor}, "
                                      f"behind the {counter.last_seq} held here; not applied")
                restart_relayed_log(session, self.origin)
                held: set[str] = set()
                done = 0
                while lines := list(islice(spool, SNAPSHOT_BATCH)):
                    copies = [(claims, signed, self.actor_of(claims)) for claims, signed in map(orjson.loads, lines)]
                    held.update(claims["id"] for claims, _signed, _actor in copies)
                    # Only what the origin's checkpoint vouches for may overwrite a copy.
                    for outcome, _reason in apply_copies(session, copies, log=False,
                                                         repair=repair and checked is not None):
                        counts[outcome.value] += 1
                    done += len(copies)
                    if len(copies) == SNAPSHOT_BATCH:
                        forget_loaded(session)
                        self.progress(done, count)
                if checked:
                    for record_type in RECORD_TYPES.values():
                        model = record_type.model
                        ids = session.scalars(select(model.id).where(model.origin == self.origin)).all()
                        for record_id in set(ids) - held:
                            discard_copy(session, record_type.name, session.get(model, record_id))
                    checkpoints.remember(session, checked, manifest["checkpoint"], matched=True)
                lock_origin(session, self.origin).last_seq = cursor
                now = utcnow()
                _count(session, self.origin, counts, source=self.peer.name, bootstrapped_at=now, last_success_at=now)
        if not checked:
            self.report.warning = (f"{self.peer.name} gave {self.origin}'s snapshot without a checkpoint: every "
                                   "record verified, but its completeness could not be, so no copy was discarded")
        self._add(counts)
        self.report.bootstrapped = True
        self.report.cursor = cursor
        return cursor

    def checked_against_checkpoint(self, manifest: dict, entries: list[tuple[str, int, int]]) -> dict | None:
        """The claims of the snapshot's checkpoint once the snapshot matches it; None without one."""
        signed = manifest.get("checkpoint")
        if signed is None:
            return None
        claims = self.verifier.checkpoint(signed)
        if claims["as_of_seq"] != manifest["as_of_seq"]:
            raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot says it is at seq {manifest['as_of_seq']} "
                              f"but its checkpoint is at seq {claims['as_of_seq']}; discarded", refused=1)
        if checkpoint.state_digest(entries) != (claims["count"], claims["digest"]):
            raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot at seq {claims['as_of_seq']} does not hold "
                              f"the records of {self.origin}'s checkpoint ({len(entries)} received, {claims['count']} "
                              "signed, or other versions): a record was left out, added or changed; discarded",
                              refused=1)
        return claims

    def spool_snapshot(self, spool) -> tuple[dict, int, list[tuple[str, int, int]]]:
        """Download the snapshot, then verify it into `spool`, one `[claims, envelope]` per line; the
        manifest once its count and digest match what was received, the count, and the (id, version,
        seq) of every record in it."""
        def attempt():
            with tempfile.TemporaryFile() as download:
                # Downloaded whole before any check, so that the peer streams at network speed:
                # verifying as it arrives would hold one of its workers for as long as the checks take.
                with self.peer.stream(f"/api/v1/federation/origins/{self.origin}/snapshot") as lines:
                    for raw in lines:
                        download.write(raw + b"\n")
                download.seek(0)
                return self.verified_snapshot(download, spool)
        return self.peer.retrying(attempt)

    def verified_snapshot(self, download, spool) -> tuple[dict, int, list[tuple[str, int, int]]]:
        spool.seek(0)
        spool.truncate()
        digest, count, manifest, newest = hashlib.sha256(), 0, None, 0
        entries: list[tuple[str, int, int]] = []
        for raw in download:
            if manifest is not None:
                raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot goes on after its manifest")
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise Transient(f"{self.peer.name}: {self.origin}'s snapshot has a broken line "
                                f"after {count} records; discarded") from None
            if not isinstance(line, dict):
                raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot holds a line that is not an object")
            if "manifest" in line:
                manifest = line["manifest"]
                continue
            claims = self.verifier.claims(line.get("envelope"), line=line)
            newest = max(newest, claims["seq"])
            entries.append((claims["id"], claims["version"], claims["seq"]))
            digest.update(line["envelope"].encode() + b"\n")
            count += 1
            spool.write(orjson.dumps([claims, line["envelope"]]) + b"\n")
        return (*self.checked_manifest(manifest, count, digest.hexdigest(), newest), entries)

    def checked_manifest(self, manifest, count: int, digest: str, newest: int) -> tuple[dict, int]:
        if manifest is None:
            raise Transient(f"{self.peer.name}: {self.origin}'s snapshot ended without its manifest "
                            f"(cut short after {count} records); discarded")
        if not (isinstance(manifest, dict) and manifest.get("origin") == self.origin
                and isinstance(manifest.get("as_of_seq"), int)):
            raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot manifest is malformed")
        if manifest.get("count") != count or manifest.get("digest") != digest:
            raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot does not match its manifest "
                              f"({count} records received, {manifest.get('count')} announced, or another digest); "
                              "discarded", refused=1)
        if newest > manifest["as_of_seq"]:
            raise SyncFailure(f"{self.peer.name}: {self.origin}'s snapshot holds seq {newest}, past its as_of_seq "
                              f"{manifest['as_of_seq']}; discarded", refused=1)
        return manifest, count

    def _add(self, counts: dict) -> None:
        for name, value in counts.items():
            self.report.counts[name] += value


# -- a round --------------------------------------------------------------------------------------

def sync_once(ctx: Context, *, only: set[str] | None = None, respect_put_off: bool = False,
              sleep: Callable = time.sleep, stop: Callable[[], bool] = lambda: False,
              progress_of: Callable[[str], Progress] | None = None, rebootstrap: bool = False) -> list[OriginReport]:
    """Pull every trusted origin that a peer offers (or those in `only`), each from the first peer
    that serves it: the origin itself when it is a peer, then the peer furthest ahead. `progress_of`
    gives the progress of an origin's bootstrap (how many records of its snapshot are applied)."""
    outbound = ctx.outbound
    trusted = trust.trusted(ctx)
    offers: dict[str, list[tuple[tuple, PeerClient, int]]] = {}
    reports: dict[str, OriginReport] = {}
    for credentials in peers.credentials(ctx):
        peer = PeerClient(credentials, outbound, sleep)
        try:
            listing = peer.origins()
        except SyncFailure as exc:
            for origin in _origins_from(ctx, peer.name):
                reports.setdefault(origin, OriginReport(origin, peer.name, error=str(exc)))
                if not (respect_put_off and _put_off(ctx, origin)):  # one failure per put-off period
                    _failed(ctx, origin, exc)
            continue
        for offered in listing:
            origin = offered["origin"]
            if origin == ctx.settings.node_id or (only and origin not in only):
                continue
            # The origin's own node first, then the peer furthest ahead.
            rank = (0 if offered.get("own") else 1, -offered["last_seq"])
            offers.setdefault(origin, []).append((rank, peer, offered["last_seq"], offered.get("checkpoint")))
    for origin in sorted(offers):
        if stop():
            break
        report = OriginReport(origin)
        reports[origin] = report
        if origin not in trusted:
            sources = ", ".join(peer.name for _, peer, _, _ in offers[origin])
            report.skipped = (f"not trusted: offered by {sources}, refused. Trust it with `registry origins trust "
                              f"{origin} --namespace NS --jwks-url URL` to accept its records")
            _update_state(ctx, origin, last_error=report.skipped, last_error_at=utcnow(), last_attempt_at=utcnow())
            continue
        if respect_put_off and _put_off(ctx, origin):
            report.skipped = "put off after failures; retried later"
            continue
        with origin_lock(ctx, origin) as held:
            if not held:
                report.skipped = "another puller holds this origin"
                continue
            _take_offered_checkpoints(ctx, trusted[origin], offers[origin], report)
            _pull_origin(ctx, trusted[origin], sorted(offers[origin], key=lambda offer: offer[0]), report, stop,
                         progress_of(origin) if progress_of else silent, rebootstrap)
    return [reports[o] for o in sorted(reports)]


def _take_offered_checkpoints(ctx: Context, trusted: models.TrustedOrigin, offers: list, report: OriginReport) -> None:
    """Compare the checkpoints the peers offer of the origin and keep the freshest: it tells how far the
    origin really is, whichever peer is pulled from. One that does not verify is said in the report."""
    verifier = Verifier(ctx, trusted)
    for _rank, peer, _seq, signed in offers:
        if signed is None:
            continue
        try:
            claims = verifier.checkpoint(signed)
        except SyncFailure as exc:
            report.warning = f"{peer.name}: {exc}"
            continue
        with ctx.db.write() as session:
            checkpoints.remember(session, claims, signed)


def _pull_origin(ctx: Context, trusted: models.TrustedOrigin, offers: list, report: OriginReport,
                 stop: Callable[[], bool], progress: Progress = silent, rebootstrap: bool = False):
    _update_state(ctx, trusted.node_id, last_attempt_at=utcnow())
    for _rank, peer, offered_seq, _checkpoint in offers:
        report.source = peer.name
        try:
            OriginPull(ctx, peer, trusted, report, offered_seq, stop, progress, rebootstrap).run()
        except SyncFailure as exc:
            report.error = str(exc)
            report.counts["refused"] += exc.refused
            _failed(ctx, trusted.node_id, exc)
            continue
        except Exception as exc:  # a bug: logged with its traceback, and the other origins still pulled
            logger.exception("pulling %s from %s failed", trusted.node_id, peer.name)
            report.error = f"internal error: {exc!r}"
            _failed(ctx, trusted.node_id, SyncFailure(report.error))
            continue
        report.error = None
        _update_state(ctx, trusted.node_id, failures=0, retry_at=None, last_error=None, last_error_at=None)
        return


def watch(ctx: Context, *, on_round: Callable[[list[OriginReport]], None], stop: Callable[[], bool],
          sleep: Callable = time.sleep, progress_of: Callable[[str], Progress] | None = None,
          **announce: Callable[[], None]) -> None:
    """Rounds every REGISTRY_SYNC_INTERVAL seconds until `stop()`, one such loop per database; failing
    origins are put off."""
    watching.watch(ctx, "sync", work=lambda: sync_once(ctx, respect_put_off=True, sleep=sleep, stop=stop,
                                                       progress_of=progress_of),
                   on_round=on_round, stop=stop, sleep=sleep, **announce)


# -- locks and state ------------------------------------------------------------------------------

def origin_lock(ctx: Context, origin: str):
    """Hold the origin's sync lock if no other process does (yields False then)."""
    return ctx.db.exclusive(f"sync-{origin}")


def _state(session, origin: str) -> models.SyncState:
    state = session.get(models.SyncState, origin)
    if state is None:
        state = models.SyncState(origin=origin, applied=0, duplicate=0, stale=0, quarantined=0, refused=0, failures=0)
        session.add(state)
    return state


def _update_state(ctx: Context, origin: str, **values) -> None:
    with ctx.db.write() as session:
        state = _state(session, origin)
        for name, value in values.items():
            if value is not None or name in ("retry_at", "last_error", "last_error_at"):
                setattr(state, name, value)


def _count(session, origin: str, counts: dict, **values) -> None:
    """Add a page's outcomes to the origin's counters, in the page's own transaction."""
    state = _state(session, origin)
    for name, value in counts.items():
        setattr(state, name, (getattr(state, name) or 0) + value)
    for name, value in values.items():
        setattr(state, name, value)


def _failed(ctx: Context, origin: str, failure: SyncFailure) -> None:
    with ctx.db.write() as session:
        state = _state(session, origin)
        state.failures = (state.failures or 0) + 1
        state.refused = (state.refused or 0) + failure.refused
        state.last_error, state.last_error_at = str(failure), utcnow()
        put_off = random.uniform(0.5, 1.0) * min(PUT_OFF_BASE * 2 ** (state.failures - 1), PUT_OFF_MAX)
        state.retry_at = utcnow() + timedelta(seconds=max(put_off, failure.retry_after or 0))


def _put_off(ctx: Context, origin: str) -> bool:
    with ctx.db.read() as session:
        state = session.get(models.SyncState, origin)
        return state is not None and state.retry_at is not None and state.retry_at > utcnow()


def _origins_from(ctx: Context, peer_name: str) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(models.SyncState.origin).where(models.SyncState.source == peer_name)))
