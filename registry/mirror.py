"""The reference partner client: keep a verified local copy of a node's directory (`registry mirror`).

It bootstraps from the node's full feed (`/api/v1/feeds/directory.ndjson`), then follows the
incremental feed (`/api/v1/feeds/changes`) from the cursor the full feed ended with, and checks
every record it keeps against its origin's signature: the envelope must verify with a key that
the origin itself publishes (the node's own keys from its `/.well-known/registry-node`, other
origins' from the JWKS URLs given with `--trust`), and the record served must be the body signed.
A record that fails is not kept and the run stops with an error, before its cursor moves; a record
served without an envelope (a caller below the restricted tier) is kept marked unverified.

The copy is one SQLite file in the output folder: `records` (one row per record, its JSON as
served, its envelope) and `state` (the cursor). This module does not use the registry's own
database or Flask: a partner runs it anywhere the package is installed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import orjson
from joserfc.jwk import KeySet

from registry.crypto import envelope
from registry.outbound import Outbound, OutboundError

META = ("id", "type", "origin", "owner_network", "version", "updated_at", "deleted")
MAX_PAGE_BYTES = 64 << 20
MAX_DIRECTORY_BYTES = 8 << 30


class MirrorError(Exception):
    """The mirror cannot go on: the node is unreachable, refused us, or served something unverifiable."""


@dataclass
class MirrorReport:
    bootstrapped: bool = False
    applied: int = 0
    verified: int = 0
    unverified: int = 0
    cursor: str | None = None
    records: int = 0
    origins: set[str] = field(default_factory=set)


class Mirror:
    def __init__(self, url: str, client_id: str, client_secret: str, out: Path, *, trust: dict[str, str],
                 outbound: Outbound, scope: str | None = None):
        self.url = url.rstrip("/")
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope
        self.outbound = outbound
        self.trust = dict(trust)
        self.keys: dict[str, KeySet] = {}
        out.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(out / "mirror.sqlite3", isolation_level=None)
        self.db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, type TEXT, origin TEXT, version INTEGER,
                deleted INTEGER, record TEXT, envelope TEXT, verified INTEGER);
            CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
        """)
        self._token: str | None = None

    # -- one run --------------------------------------------------------------------------------

    def run_once(self) -> MirrorReport:
        report = MirrorReport()
        self._learn_node()
        cursor = self._state("cursor")
        if cursor is None:
            cursor = self._bootstrap(report)
        while True:
            page = self._get_json("/api/v1/feeds/changes", {"after": cursor, "limit": 500})
            if page is None:  # 410: the node no longer knows our cursor
                cursor = self._bootstrap(report)
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for item in page["items"]:
                    self._keep(item, report)
                cursor = page["next_cursor"]
                self._set_state("cursor", cursor)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            if not page["has_more"]:
                break
        report.cursor = cursor
        report.records = self.db.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        report.origins = {row[0] for row in self.db.execute("SELECT DISTINCT origin FROM records")}
        return report

    def _bootstrap(self, report: MirrorReport) -> str:
        """Replace the copy with the node's full feed, in one transaction; the cursor it ended with."""
        end = None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM records")
            with self.outbound.stream_lines(f"{self.url}/api/v1/feeds/directory.ndjson", headers=self._headers(),
                                            max_bytes=MAX_DIRECTORY_BYTES) as (response, lines):
                if response.status != 200:
                    raise MirrorError(f"{self.url} answered {response.status} to the directory feed")
                for raw in lines:
                    line = orjson.loads(raw)
                    if "cursor" in line:
                        end = line
                        continue
                    self._keep({**line, "id": line["record"]["id"], "version": line["record"]["version"],
                                "deleted": False}, report)
            if end is None:
                raise MirrorError("the directory feed ended without its cursor (cut short); nothing kept")
            self._set_state("cursor", end["cursor"])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        report.bootstrapped = True
        return end["cursor"]

    def _keep(self, item: dict, report: MirrorReport) -> None:
        record, signed = item.get("record"), item.get("envelope")
        verified = False
        if signed is not None:
            claims = self._verify(signed)
            body = {k: v for k, v in (record or {}).items() if k not in META}
            if (claims["id"], claims["version"]) != (item["id"], item["version"]) or (
                    not claims["deleted"] and body != claims["body"]):
                raise MirrorError(f"{item['id']} v{item['version']}: the record served is not the one its "
                                  f"origin {claims['origin']} signed")
            verified = True
        held = self.db.execute("SELECT version FROM records WHERE id = ?", (item["id"],)).fetchone()
        if held and held[0] > item["version"]:
            return
        origin = record["origin"] if record else item.get("origin")
        self.db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (item["id"], (record or {}).get("type", item.get("type")), origin, item["version"],
                         int(item["deleted"]), orjson.dumps(record).decode() if record else None, signed,
                         int(verified)))
        report.applied += 1
        if verified:
            report.verified += 1
        else:
            report.unverified += 1

    def _verify(self, signed: str) -> dict:
        """Claims of an envelope checked with its origin's own keys (fetched once per run, again on
        an unknown kid)."""
        claims = envelope.claims_unverified(signed)
        origin = claims.get("origin")
        if origin not in self.trust:
            raise MirrorError(f"a record of origin {origin!r}, whose keys are unknown here: give its JWKS URL "
                              f"with --trust {origin}=URL")
        for attempt in range(2):
            if origin not in self.keys or attempt:
                self.keys[origin] = KeySet.import_key_set(self._fetch_json(self.trust[origin]))
            try:
                return envelope.verify(signed, self.keys[origin])
            except envelope.InvalidEnvelope as exc:
                if attempt or "unknown kid" not in str(exc):
                    raise MirrorError(f"a record of {origin} does not verify: {exc}") from None
        raise AssertionError("unreachable")

    # -- HTTP -----------------------------------------------------------------------------------

    def _learn_node(self) -> None:
        metadata = self._fetch_json(f"{self.url}/.well-known/registry-node")
        self.trust.setdefault(metadata["node_id"], metadata["jwks_uri"])

    def _get_json(self, path: str, params: dict):
        response = self._request("GET", f"{self.url}{path}?{urlencode(params)}", headers=self._headers())
        if response.status == 410:
            return None
        if response.status != 200:
            raise MirrorError(f"{self.url}{path} answered {response.status}: {response.body[:300]!r}")
        return orjson.loads(response.body)

    def _fetch_json(self, url: str):
        response = self._request("GET", url, headers={"Accept": "application/json"})
        if response.status != 200:
            raise MirrorError(f"{url} answered {response.status}")
        return orjson.loads(response.body)

    def _headers(self) -> dict:
        if self._token is None:
            form = {"grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": self.client_secret} | ({"scope": self.scope} if self.scope else {})
            response = self._request("POST", f"{self.url}/oauth/token", body=urlencode(form).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
            if response.status != 200:
                raise MirrorError(f"{self.url}/oauth/token refused the client: {response.body[:300]!r}")
            self._token = orjson.loads(response.body)["access_token"]
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def _request(self, method: str, url: str, **kwargs):
        try:
            return self.outbound.request(method, url, max_bytes=MAX_PAGE_BYTES, **kwargs)
        except OutboundError as exc:
            raise MirrorError(str(exc)) from None

    # -- state ----------------------------------------------------------------------------------

    def _state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))


def watch(mirror: Mirror, interval: float, on_run: Callable[[MirrorReport], None], stop: Callable[[], bool]) -> None:
    while not stop():
        on_run(mirror.run_once())
        deadline = time.monotonic() + interval
        while not stop() and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
