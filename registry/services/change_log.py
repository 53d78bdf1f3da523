"""Maintenance of the change log, beside the write path that appends to it (registry.services.records):
retention (`registry log prune`) and the restart of an origin's relayed log when a snapshot replaces
what this node held of it. Nothing else deletes change-log entries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry import models
from registry.context import Context
from registry.db import utcnow


def prune(ctx: Context, older_than: timedelta) -> dict[str, int]:
    """Drop change-log entries recorded before `older_than` ago, per origin; how many per origin.

    Only a prefix of each origin's log goes (up to the newest entry old enough), so what remains is
    still gap-free. Records keep their current envelope, so snapshots are unaffected; a consumer whose
    cursor falls before the remaining log gets 410 and bootstraps from the snapshot.
    """
    log = models.ChangeLogEntry
    cutoff = utcnow() - older_than
    pruned = {}
    with ctx.db.write() as session:
        last_old = session.execute(select(log.origin, func.max(log.seq)).where(log.recorded_at < cutoff)
                                   .group_by(log.origin)).all()
        for origin, seq in last_old:
            pruned[origin] = session.execute(delete(log).where(log.origin == origin, log.seq <= seq)).rowcount
            _trimmed(session, origin)
    return pruned


def _trimmed(session: Session, origin: str) -> None:
    counter = session.get(models.OriginSequence, origin)
    if counter is not None:
        counter.trims = (counter.trims or 0) + 1


def restart_relayed_log(session: Session, origin: str) -> None:
    """Forget the entries relayed for `origin`, in the transaction that applies its snapshot: the log
    this node relays restarts after the snapshot, and a consumer's older cursor gets 410."""
    session.execute(delete(models.ChangeLogEntry).where(models.ChangeLogEntry.origin == origin))
    _trimmed(session, origin)
