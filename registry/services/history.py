"""A record's history: every version, who wrote it, when, and which fields changed.

Read from the change log. Field changes are computed on the versions as the caller may see
them, so a change to a field above the caller's tier is not even named.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.db import iso
from registry.errors import Gone
from registry.permissions import Caller
from registry.services import Page, PageResult
from registry.services.networks import network_id
from registry.services.queries import paginate
from registry.services.records import find_row, read_record
from registry.visibility import redact


def record_history(ctx: Context, record_type: str, record_id: str, caller: Caller, page: Page) -> PageResult:
    with ctx.db.read() as session:
        if record_type == "network":
            record_id = network_id(session, record_id)  # networks are addressed by code
        row = find_row(session, record_type, record_id)
        # NotFound unless the caller may see the record; the history of a deleted record stays readable.
        with contextlib.suppress(Gone):
            read_record(session, record_type, record_id, caller)
        tier = caller.tier_for(row.owner_network)
        log = models.ChangeLogEntry
        query = (select(log).where(log.origin == row.origin, log.record_id == record_id).order_by(log.seq))
        previous: dict[int, dict] = {}

        def visible(entry) -> dict:
            return {} if entry.deleted else (redact(record_type, entry.body, tier) or {})

        # Each entry is compared with the version before it, which may sit on the previous page.
        before = session.scalar(query.offset(page.offset - 1).limit(1)) if page.offset else None
        if before is not None:
            previous.update(body=visible(before), owner=before.owner_network)

        def describe(entry) -> dict:
            body = visible(entry)
            old = previous.get("body", {})
            changed = sorted(k for k in set(body) | set(old) if body.get(k) != old.get(k))
            if "owner" in previous and previous["owner"] != entry.owner_network:
                changed = sorted([*changed, "owner_network"])
            previous.update(body=body, owner=entry.owner_network)
            return {"version": entry.version, "recorded_at": iso(entry.recorded_at),
                    "actor": entry.actor, "deleted": entry.deleted, "owner_network": entry.owner_network,
                    "changed": changed}

        return paginate(session, query, page, describe)
