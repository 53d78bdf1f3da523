"""The audit log: every write and every refused write attempt, through the API or the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry import models
from registry.db import iso, utcnow
from registry.services import Context, Page, PageResult
from registry.services.queries import paginate


@dataclass(frozen=True)
class AuditFilters:
    client: str | None = None
    record: str | None = None
    outcome: str | None = None


def record(ctx: Context, *, client_id: str | None, address: str | None, method: str, route: str,
           status: int, record_id: str | None = None, detail: str | None = None) -> None:
    """One entry, in its own transaction: it stays when the request's own changes were refused."""
    with ctx.db.write() as session:
        session.add(models.AuditEntry(
            at=utcnow(), client_id=client_id, address=address, method=method, route=route[:500],
            record_id=record_id, status=status, outcome="accepted" if status < 400 else "refused",
            detail=(detail or "")[:500] or None,
        ))


def list_entries(ctx: Context, wanted: AuditFilters, page: Page) -> PageResult:
    """Newest first."""
    entry = models.AuditEntry
    query = select(entry)
    if wanted.client:
        query = query.where(entry.client_id == wanted.client)
    if wanted.record:
        query = query.where(entry.record_id == wanted.record)
    if wanted.outcome:
        query = query.where(entry.outcome == wanted.outcome)
    with ctx.db.read() as session:
        return paginate(session, query.order_by(entry.id.desc()), page, as_dict)


def as_dict(entry: models.AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "client_id": entry.client_id,
            "address": entry.address, "method": entry.method, "route": entry.route, "record_id": entry.record_id,
            "status": entry.status, "outcome": entry.outcome, "detail": entry.detail}
