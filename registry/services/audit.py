"""The audit log: every write and every refused write attempt, through the API or the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.services import Page, PageResult
from registry.services.queries import paginate


@dataclass(frozen=True)
class AuditFilters:
    client: str | None = None
    person: str | None = None
    record: str | None = None
    outcome: str | None = None


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Refusals of unidentified callers from one address join the entry of the same kind opened within this window.
REPEAT_WINDOW = timedelta(minutes=1)


def record(ctx: Context, *, client_id: str | None, address: str | None, method: str, route: str,
           status: int, record_id: str | None = None, detail: str | None = None, identified: bool = True,
           request_id: str | None = None, person: str | None = None) -> None:
    """One entry, in its own transaction: it stays when the request's own changes were refused.

    A refusal of a caller that is not `identified` (no valid token: a bad token, a failed client
    authentication, anonymous traffic over its rate limit) is counted in the entry opened in the last
    minute for the same address, claimed client, method and status, if there is one: a flood makes
    one entry a minute, with the first route and detail and how many times it was repeated."""
    entry = models.AuditEntry
    now = utcnow()
    client_id, route, record_id, detail = (_loggable(client_id, 64), _loggable(route, 500) or "",
                                           _loggable(record_id, 192), _loggable(detail, 500))
    person = _loggable(person, 254)
    with ctx.db.write() as session:
        if status >= 400 and not identified:
            same = session.scalars(
                select(entry).where(entry.address.is_not_distinct_from(address),
                                    entry.client_id.is_not_distinct_from(client_id),
                                    entry.person.is_not_distinct_from(person), entry.method == method,
                                    entry.status == status, entry.at >= now - REPEAT_WINDOW)
                .order_by(entry.id.desc()).limit(1)).first()
            if same is not None:
                same.repeated += 1
                same.last_at = now
                return
        session.add(entry(
            at=now, last_at=now, repeated=1, client_id=client_id, person=person, address=address, method=method,
            route=route, record_id=record_id, status=status, outcome="accepted" if status < 400 else "refused",
            detail=detail, request_id=request_id,
        ))


def _loggable(text: str | None, length: int) -> str | None:
    """What a refused request claimed, fit to store and print: control characters (a NUL byte, which
    PostgreSQL cannot store; terminal escapes) replaced, cut to the column's length."""
    if not text:
        return None
    return CONTROL_CHARACTERS.sub("\ufffd", text)[:length]


def prune(ctx: Context, older_than: timedelta) -> int:
    """Drop the entries last seen more than `older_than` ago; how many were dropped."""
    with ctx.db.write() as session:
        return session.execute(delete(models.AuditEntry).where(models.AuditEntry.last_at < utcnow() - older_than)
                               ).rowcount


def list_entries(ctx: Context, wanted: AuditFilters, page: Page) -> PageResult:
    """Newest first."""
    entry = models.AuditEntry
    query = select(entry)
    if wanted.client:
        query = query.where(entry.client_id == wanted.client)
    if wanted.person:
        query = query.where(entry.person == wanted.person.lower())
    if wanted.record:
        query = query.where(entry.record_id == wanted.record)
    if wanted.outcome:
        query = query.where(entry.outcome == wanted.outcome)
    with ctx.db.read() as session:
        return paginate(session, query.order_by(entry.id.desc()), page, as_dict)


def as_dict(entry: models.AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "client_id": entry.client_id, "person": entry.person,
            "address": entry.address, "method": entry.method, "route": entry.route, "record_id": entry.record_id,
            "status": entry.status, "outcome": entry.outcome, "detail": entry.detail, "repeated": entry.repeated,
            "last_at": iso(entry.last_at), "request_id": entry.request_id}
