"""What a node serves to its peers (docs/federation-protocol.md): the origins it holds, each origin's change feed
and snapshot, and its own metadata. Every item carries the origin's envelope as it was signed.

The change feed is read by `seq`, which is gap-free per origin: a page is the entries after the
cursor, and `has_more` says whether the origin's log goes further. A cursor older than the log this
node keeps answers 410 (the consumer bootstraps from the snapshot). A snapshot is every live record
and tombstone of the origin at one `as_of_seq`, read in one transaction and closed by a manifest
line with the count and a digest of the envelopes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import orjson
from sqlalchemy import func, select

from registry import models
from registry.context import Context
from registry.crypto import checkpoint
from registry.crypto.checkpoint import CHECKPOINT_TYPE
from registry.crypto.envelope import ALGORITHMS, ENVELOPE_TYPE
from registry.db import iso, utcnow
from registry.errors import CursorGone, InvalidParameter, NotFound
from registry.record_types import RECORD_TYPES
from registry.services import checkpoints

MAX_PAGE = 1000
SNAPSHOT_BATCH = 1000


def node_metadata(ctx: Context) -> dict:
    base = ctx.settings.public_url
    with ctx.db.read() as session:
        network = models.Network
        hosted = session.scalars(select(network.code).where(network.origin == ctx.settings.node_id,
                                                            network.deleted.is_(False)).order_by(network.code))
        networks = list(hosted)
    return {
        "node_id": ctx.settings.node_id,
        "namespace": ctx.settings.namespace,
        "networks": networks,
        "jwks_uri": f"{base}/.well-known/registry-keys.json",
        "token_endpoint": f"{base}/oauth/token",
        "origins_endpoint": f"{base}/api/v1/federation/origins",
        "changes_endpoint": f"{base}/api/v1/federation/origins/{{origin}}/changes",
        "snapshot_endpoint": f"{base}/api/v1/federation/origins/{{origin}}/snapshot",
        "scope": "federation:read",
        "schema_versions": ["v1"],
        "envelope": {"typ": ENVELOPE_TYPE, "algorithms": ALGORITHMS},
        "checkpoint": {"typ": CHECKPOINT_TYPE, "algorithms": ALGORITHMS},
    }


def origins(ctx: Context) -> list[dict]:
    """Every origin this node holds records of: its own, and those it keeps copies of."""
    log = models.ChangeLogEntry
    with ctx.db.read() as session:
        first = dict(session.execute(select(log.origin, func.min(log.seq)).group_by(log.origin)).all())
        counters = session.scalars(select(models.OriginSequence).order_by(models.OriginSequence.origin)).all()
        return [{"origin": c.origin, "own": c.origin == ctx.settings.node_id, "last_seq": c.last_seq,
                 "first_seq": first.get(c.origin), "checkpoint": checkpoints.for_origin(ctx, c.origin, session)}
                for c in counters]


def changes(ctx: Context, origin: str, after: int | None, limit: int) -> dict:
    """The origin's entries after `after` (None: from the first entry kept here, whatever was pruned)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameter("limit", f"between 1 and {MAX_PAGE}")
    log = models.ChangeLogEntry
    with ctx.db.read() as session:
        counter = session.get(models.OriginSequence, origin)
        if counter is None:
            raise NotFound(f"this node holds no records of origin {origin!r}")
        # With every entry pruned, the log here starts after the last seq.
        first = session.scalar(select(func.min(log.seq)).where(log.origin == origin)) or counter.last_seq + 1
        if after is None:
            after = first - 1
        if after > counter.last_seq:
            raise InvalidParameter("after", f"{origin}'s log ends at {counter.last_seq}; a cursor cannot be beyond it")
        if after < first - 1:
            raise CursorGone(f"{origin}'s log here starts at seq {first}; a cursor at {after} is older than that. "
                       "Bootstrap from the snapshot, then follow the changes from its as_of_seq.",
                       first_seq=first, snapshot=f"/api/v1/federation/origins/{origin}/snapshot")
        entries = session.execute(select(log.seq, log.envelope).where(log.origin == origin, log.seq > after)
                                  .order_by(log.seq).limit(limit)).all()
        signed = checkpoints.for_origin(ctx, origin, session)
    items = [{"seq": seq, "envelope": envelope} for seq, envelope in entries]
    next_after = items[-1]["seq"] if items else after
    return {"origin": origin, "after": after, "items": items, "next_after": next_after,
            "has_more": next_after < counter.last_seq, "last_seq": counter.last_seq, "checkpoint": signed}


def snapshot(ctx: Context, origin: str) -> Iterator[bytes]:
    """NDJSON lines: one per record of `origin` (live or tombstone) with its current envelope, then
    `{"manifest": {origin, as_of_seq, count, digest}}`; the digest is the SHA-256 of the envelopes
    in the order sent, each followed by a newline. An unknown origin is refused before streaming."""
    with ctx.db.read() as session:
        if session.get(models.OriginSequence, origin) is None:
            raise NotFound(f"this node holds no records of origin {origin!r}")
    return _snapshot_lines(ctx, origin)


def _snapshot_lines(ctx: Context, origin: str) -> Iterator[bytes]:
    with ctx.db.read() as session:
        if session.bind.dialect.name == "postgresql":
            # One consistent view for every statement below; SQLite's read transaction already is.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        counter = session.get(models.OriginSequence, origin)
        digest = hashlib.sha256()
        count = 0
        held: list[tuple[str, int, int]] = []
        for record_type in RECORD_TYPES.values():
            model = record_type.model
            rows = session.execute(
                select(model.id, model.version, model.deleted, model.seq, model.envelope)
                .where(model.origin == origin).order_by(model.id).execution_options(yield_per=SNAPSHOT_BATCH))
            for record_id, version, deleted, seq, envelope in rows:
                digest.update(envelope.encode() + b"\n")
                count += 1
                held.append((record_id, version, seq))
                yield orjson.dumps({"id": record_id, "type": record_type.name, "version": version, "deleted": deleted,
                                    "seq": seq, "envelope": envelope}) + b"\n"
        yield orjson.dumps({"manifest": {"origin": origin, "as_of_seq": counter.last_seq, "count": count,
                                         "digest": digest.hexdigest(),
                                         "checkpoint": _checkpoint_at(ctx, session, origin, counter.last_seq, held)}}
                           ) + b"\n"


def _checkpoint_at(ctx: Context, session, origin: str, as_of_seq: int, held: list) -> str | None:
    """The origin's checkpoint of exactly this snapshot: signed now for this node's own records; for a
    foreign origin, the one verified here if it is at the snapshot's seq (None otherwise: the snapshot
    cannot be checked, and consumers go to a peer that can give one)."""
    if origin == ctx.settings.node_id:
        count, digest = checkpoint.state_digest(held)
        return checkpoint.sign(ctx.record_keys.signing_keys(), origin=origin, as_of_seq=as_of_seq,
                               issued_at=iso(utcnow()), count=count, digest=digest)
    row = checkpoints.freshest(session, origin)
    return row.signed if row is not None and row.as_of_seq == as_of_seq else None


