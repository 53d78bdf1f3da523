"""Checkpoints of origins (registry.crypto.checkpoint): this node's own, signed on request, and the
freshest verified checkpoint of each foreign origin, kept to relay unchanged and to tell how far the
origin really is.

A node's own checkpoint is signed at its current last seq and kept for a while in the process, so a
peer polling an idle node does not make it hash its records each time; it is signed again as soon as
the origin writes, or when half of REGISTRY_CHECKPOINT_MAX_AGE has passed (a relay's consumers judge
freshness by `issued_at`)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import models
from registry.context import Context
from registry.crypto import checkpoint
from registry.db import iso, utcnow
from registry.record_types import RECORD_TYPES

_own: dict[str, tuple[int, datetime, str]] = {}
_own_lock = threading.Lock()


def held_entries(session: Session, origin: str) -> list[tuple[str, int, int]]:
    """(id, version, seq) of every record of `origin` this node holds, live or tombstone. Read as plain
    tuples on the session's connection (the ORM's rows cost more than the query for a whole directory),
    from each table's origin index alone."""
    connection = session.connection()
    entries: list[tuple[str, int, int]] = []
    for record_type in RECORD_TYPES.values():
        table = record_type.model.__table__
        entries += map(tuple, connection.execute(select(table.c.id, table.c.version, table.c.seq)
                                                 .where(table.c.origin == origin)))
    return entries


def own(ctx: Context, session: Session | None = None) -> str | None:
    """This node's checkpoint now (None before it has published anything)."""
    origin = ctx.settings.node_id
    max_age = timedelta(seconds=ctx.settings.checkpoint_max_age / 2)

    def make(session: Session) -> str | None:
        counter = session.get(models.OriginSequence, origin)
        if counter is None:
            return None
        with _own_lock:
            cached = _own.get(ctx.settings.database_url)
            if cached and cached[0] == counter.last_seq and utcnow() - cached[1] < max_age:
                return cached[2]
        count, digest = checkpoint.state_digest(held_entries(session, origin))
        now = utcnow()
        signed = checkpoint.sign(ctx.record_keys.signing_keys(), origin=origin, as_of_seq=counter.last_seq,
                                 issued_at=iso(now), count=count, digest=digest)
        with _own_lock:
            _own[ctx.settings.database_url] = (counter.last_seq, now, signed)
        return signed

    if session is not None:
        return make(session)
    with ctx.db.read() as session:
        return make(session)


def for_origin(ctx: Context, origin: str, session: Session | None = None) -> str | None:
    """The freshest checkpoint of `origin` this node can hand on: its own, or the one it verified."""
    if origin == ctx.settings.node_id:
        return own(ctx, session)
    if session is not None:
        row = session.get(models.Checkpoint, origin)
        return row.signed if row else None
    with ctx.db.read() as session:
        row = session.get(models.Checkpoint, origin)
        return row.signed if row else None


def freshest(session: Session, origin: str) -> models.Checkpoint | None:
    return session.get(models.Checkpoint, origin)


def remember(session: Session, claims: dict, signed: str, *, matched: bool = False) -> models.Checkpoint:
    """Keep a verified checkpoint if it is fresher than the one held (a higher seq, or the same seq
    signed later); the one held stays otherwise. Returns the one held afterwards."""
    issued = datetime.fromisoformat(claims["issued_at"])
    row = session.get(models.Checkpoint, claims["origin"])
    if row is None:
        row = models.Checkpoint(origin=claims["origin"], as_of_seq=claims["as_of_seq"], issued_at=issued,
                                signed=signed, matched=matched)
        session.add(row)
        return row
    if (claims["as_of_seq"], issued) > (row.as_of_seq, row.issued_at):
        row.matched = matched or (row.matched and row.as_of_seq == claims["as_of_seq"])
        row.as_of_seq, row.issued_at, row.signed = claims["as_of_seq"], issued, signed
    elif matched and claims["as_of_seq"] == row.as_of_seq:
        row.matched = True
    return row


def matches(session: Session, claims: dict) -> bool:
    """Whether the copies of the checkpoint's origin held here are exactly the checkpoint's records."""
    count, digest = checkpoint.state_digest(held_entries(session, claims["origin"]))
    return (count, digest) == (claims["count"], claims["digest"])
