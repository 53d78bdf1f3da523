"""Where this node stands with each foreign origin, and what it quarantined (for operators)."""

from __future__ import annotations

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import InvalidParameter

COUNTS = ("applied", "duplicate", "stale", "quarantined", "refused")


def sync_status(ctx: Context) -> list[dict]:
    """Per origin (trusted, or seen offered): source, cursor, the freshest checkpoint seen (its seq, age,
    whether it is older than REGISTRY_CHECKPOINT_MAX_AGE, whether the copies matched it), last success, lag
    in records (from the freshest checkpoint) and seconds, the counts of outcomes, the last error and when
    the watch loop retries it."""
    now = utcnow()
    with ctx.db.read() as session:
        states = {s.origin: s for s in session.scalars(select(models.SyncState))}
        trusted = {t.node_id for t in session.scalars(select(models.TrustedOrigin))}
        cursors = dict(session.execute(select(models.OriginSequence.origin, models.OriginSequence.last_seq)).all())
        signed = {c.origin: c for c in session.scalars(select(models.Checkpoint))}
    max_age = ctx.settings.checkpoint_max_age
    answer = []
    for origin in sorted((set(states) | trusted) - {ctx.settings.node_id}):
        state = states.get(origin)
        cursor = cursors.get(origin)
        source_seq = state.source_last_seq if state else None
        held = signed.get(origin)
        # How far the origin is: its freshest signed checkpoint, else what the source says. An origin
        # not trusted is not pulled: it has no lag to show.
        known = max(s for s in (source_seq, held and held.as_of_seq) if s is not None) \
            if (source_seq is not None or held) else None
        lag = None if known is None or origin not in trusted else max(0, known - (cursor or 0))
        behind_since = state.caught_up_at or state.bootstrapped_at if state else None
        age = round((now - held.issued_at).total_seconds()) if held else None
        answer.append({
            "origin": origin,
            "trusted": origin in trusted,
            "source": state.source if state else None,
            "cursor": cursor,
            "source_last_seq": source_seq,
            "checkpoint_seq": held.as_of_seq if held else None,
            "checkpoint_issued_at": _iso(held and held.issued_at),
            "checkpoint_age_seconds": age,
            "checkpoint_stale": age is not None and age > max_age,
            "checkpoint_matched": bool(held and held.matched and held.as_of_seq == cursor),
            "lag_records": lag,
            "lag_seconds": 0 if lag == 0 else (round((now - behind_since).total_seconds()) if behind_since else None),
            "bootstrapped_at": _iso(state and state.bootstrapped_at),
            "last_attempt_at": _iso(state and state.last_attempt_at),
            "last_success_at": _iso(state and state.last_success_at),
            "counts": {name: (getattr(state, name) or 0) if state else 0 for name in COUNTS},
            "last_error": state.last_error if state else None,
            "last_error_at": _iso(state and state.last_error_at),
            "retry_at": _iso(state and state.retry_at),
        })
    return answer


def quarantine(ctx: Context, origin: str | None = None, limit: int = 100) -> list[dict]:
    """The versions held back, newest first, with the reason and the envelope as evidence."""
    if not 1 <= limit <= 1000:
        raise InvalidParameter("limit", "between 1 and 1000")
    item = models.QuarantinedItem
    query = select(item).order_by(item.id.desc()).limit(limit)
    if origin:
        query = query.where(item.origin == origin)
    with ctx.db.read() as session:
        return [{"id": q.id, "origin": q.origin, "seq": q.seq, "record_id": q.record_id, "version": q.version,
                 "reason": q.reason, "source": q.source, "received_at": iso(q.received_at), "envelope": q.envelope}
                for q in session.scalars(query)]


def _iso(moment) -> str | None:
    return iso(moment) if moment else None
