"""Emergency-procedure notes: which are in force on a day, for a country, authority or network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import not_, or_, select

from registry import models
from registry.context import Context
from registry.permissions import Caller
from registry.services import Page, PageResult, filters, search, today
from registry.services.queries import has_facet, has_term, in_force, in_rank_order, paginate
from registry.services.records import read_record, represent
from registry.visibility import Tier, visible_tiers


@dataclass(frozen=True)
class NoteFilters:
    country: str | None = None
    authority: str | None = None
    network: str | None = None
    in_force: bool | None = None
    on: date | None = None
    q: str | None = None


def in_force_on(on: date):
    return in_force(models.EmergencyNote, "effective_from", "effective_until", on)


def visible_to(tier: Tier):
    return models.EmergencyNote.visibility.in_(visible_tiers(tier))


def applies_to(crime_type: str | None, request_types: set[str] | None):
    """Notes without crime types (request types) apply to every crime (request) type."""
    n = models.EmergencyNote
    clauses = []
    if crime_type:
        clauses.append(or_(not_(has_facet(n, "crime_type")), has_term(n, "crime_type", [crime_type])))
    if request_types:
        clauses.append(or_(not_(has_facet(n, "request_type")), has_term(n, "request_type", request_types)))
    return clauses


def list_notes(ctx: Context, wanted: NoteFilters, page: Page, tier: Tier) -> PageResult:
    n = models.EmergencyNote
    query = select(n).where(n.deleted.is_(False), visible_to(tier))
    if (country := filters.country(ctx, wanted.country)) is not None:
        authorities = select(models.Authority.id).where(models.Authority.country == country)
        query = query.where(or_(n.scope_country == country, n.scope_authority_id.in_(authorities)))
    if wanted.authority is not None:
        query = query.where(n.scope_authority_id == wanted.authority)
    if (network := filters.network(ctx, wanted.network)) is not None:
        query = query.where(n.scope_network == network)
    # A date alone asks "what was (or will be) in force then".
    wanted_in_force = True if wanted.in_force is None and wanted.on is not None else wanted.in_force
    if wanted_in_force is not None:
        clause = in_force_on(wanted.on or today())
        query = query.where(clause if wanted_in_force else not_(clause))
    if wanted.q is not None:
        ranked = search.ranked_ids(ctx, wanted.q, ("emergency_note",), tier)
        query = query.where(n.id.in_(ranked)).order_by(in_rank_order(n.id, ranked))
    query = query.order_by(n.effective_from.desc(), n.id)
    with ctx.db.read() as session:
        return paginate(session, query, page, lambda row: represent("emergency_note", row, tier))


def get_note(ctx: Context, note_id: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "emergency_note", note_id, caller)
