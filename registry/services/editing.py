"""What a network's editors work with in the console: the records their network owns, a record's versions,
and the differences between two versions.

Reading follows the same rules as the API (a caller sees what its scopes allow; an editor sees their own
network's records in full). Changes go through registry.services.publishing like the API's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy import Text, cast, func, or_, select

from registry import models
from registry.context import Context
from registry.errors import Gone
from registry.permissions import Caller, require
from registry.record_types import RECORD_TYPES
from registry.services import Page, PageResult
from registry.services.records import find_row, read_record
from registry.visibility import Tier, redact

EDITED_TYPES = ("authority", "contact_point", "emergency_note", "procedure", "network")


@dataclass(frozen=True)
class OwnedRecord:
    id: str
    type: str
    origin: str
    version: int
    deleted: bool
    body: dict
    updated_at: object


def owned_records(ctx: Context, caller: Caller, network: str, record_type: str | None, q: str | None,
                  page: Page) -> PageResult:
    """The records `network` owns (its publishers only), newest change first; `q` looks in the stored body."""
    require(caller, "record:write", owner_network=network)
    types = [record_type] if record_type else list(EDITED_TYPES)
    items, total = [], 0
    with ctx.db.read() as session:
        for kind in types:
            model = RECORD_TYPES[kind].model
            query = select(model).where(model.owner_network == network)
            if q:
                words = [w for w in q.lower().split() if w]
                body_text = func.lower(cast(model.body, Text))
                query = query.where(*[or_(body_text.contains(w, autoescape=True),
                                             func.lower(model.id).contains(w, autoescape=True)) for w in words])
            total += session.scalar(select(func.count()).select_from(query.subquery()))
            items += [OwnedRecord(r.id, kind, r.origin, r.version, r.deleted, r.body, r.updated_at)
                      for r in session.scalars(query.order_by(model.updated_at.desc()).limit(page.offset + page.size))]
    items.sort(key=lambda r: r.updated_at, reverse=True)
    return PageResult(items[page.offset:page.offset + page.size], total, page)


def editable_record(ctx: Context, caller: Caller, record_type: str, record_id: str) -> dict:
    """The record with what the console needs: its body as the caller may see it (in full for its network's
    publishers), whether this node is its origin (a copy is edited at its origin), whether the caller may edit
    it, and for a publisher of a tombstone the last live body (to restore it)."""
    with ctx.db.read() as session:
        row = find_row(session, record_type, record_id)
        with contextlib.suppress(Gone):
            read_record(session, record_type, record_id, caller)  # NotFound for a record the caller may not see
        last_live = None
        if row.deleted:
            log = models.ChangeLogEntry
            entry = session.scalar(select(log).where(log.origin == row.origin, log.record_id == record_id,
                                                     log.deleted.is_(False)).order_by(log.seq.desc()).limit(1))
            last_live = entry.body if entry else None
        publisher = f"publish:{row.owner_network}" in caller.scopes
        tier = caller.tier_for(row.owner_network)
        return {"id": row.id, "type": record_type, "origin": row.origin, "owner_network": row.owner_network,
                "version": row.version, "deleted": row.deleted, "updated_at": row.updated_at,
                "body": None if row.deleted else redact(record_type, row.body, tier),
                "last_live_body": last_live if publisher else None,
                "local": row.origin == ctx.settings.node_id, "publisher": publisher,
                "editable": row.origin == ctx.settings.node_id and publisher}


def version_bodies(ctx: Context, caller: Caller, record_type: str, record_id: str) -> dict[int, dict]:
    """Every version's body as the caller may see it (a tombstone is {}), by version number."""
    with ctx.db.read() as session:
        row = find_row(session, record_type, record_id)
        with contextlib.suppress(Gone):
            read_record(session, record_type, record_id, caller)
        tier = caller.tier_for(row.owner_network)
        log = models.ChangeLogEntry
        entries = session.scalars(select(log).where(log.origin == row.origin, log.record_id == record_id)
                                  .order_by(log.seq))
        return {e.version: ({} if e.deleted else redact(record_type, e.body, tier) or {}) for e in entries}


def preview(record_type: str, body: dict) -> dict[str, dict | None]:
    """The body as each tier receives it (None: the tier does not see the record at all)."""
    return {tier.name.lower(): redact(record_type, body, tier) for tier in (Tier.PUBLIC, Tier.PARTNER, Tier.RESTRICTED)}


def flatten(value, path: str = "") -> dict[str, object]:
    """{"position.en": "Head", "roles[0].network": "casc", ...}: the leaves of a body by their path."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out |= flatten(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list) and any(isinstance(i, dict | list) for i in value):
        out = {}
        for index, item in enumerate(value):
            out |= flatten(item, f"{path}[{index}]")
        return out
    return {path: value}


def differences(before: dict | None, after: dict | None) -> list[dict]:
    """Field by field: each path whose value differs, with both values (None where absent)."""
    old, new = flatten(before or {}), flatten(after or {})
    return [{"path": path, "before": old.get(path), "after": new.get(path)}
            for path in sorted(set(old) | set(new)) if old.get(path) != new.get(path)]



def merge(base: dict | None, theirs: dict, mine: dict) -> tuple[dict, list[str]]:
    """An editor's changes (from `base`, the version the form was opened at, to `mine`) on top of the version
    someone else saved meanwhile (`theirs`), field by field: a field only the editor changed takes the editor's
    value, any other field keeps theirs. Returns the merged body and the fields both changed differently
    (where the editor's value is kept, for them to check)."""
    base = base or {}
    merged, clashes = {}, []
    for name in {*base, *theirs, *mine}:
        mine_changed, theirs_changed = mine.get(name) != base.get(name), theirs.get(name) != base.get(name)
        value = mine.get(name) if mine_changed else theirs.get(name)
        if mine_changed and theirs_changed and mine.get(name) != theirs.get(name):
            clashes.append(name)
        if value is not None:
            merged[name] = value
    return merged, sorted(clashes)
