"""Contact points: filtered listing and reading, and which of them are current on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select

from registry import models
from registry.context import Context
from registry.permissions import Caller
from registry.services import Page, PageResult, filters, search, today
from registry.services.queries import has_term, in_force, in_rank_order, paginate
from registry.services.records import read_record, represent
from registry.visibility import Tier, can_see

ROLES = ["contact_point", "alternate", "24_7", "secretariat_focal_point"]
STATUSES = ["current", "upcoming", "past", "all"]


@dataclass(frozen=True)
class ContactPointFilters:
    authority: str | None = None
    country: str | None = None
    network: str | None = None
    role: str | None = None
    available_24_7: bool | None = None
    status: str = "current"
    q: str | None = None


def current_on(on: date):
    return in_force(models.ContactPoint, "valid_from", "valid_until", on)


def _status_clause(status: str, on: date):
    cp = models.ContactPoint
    return {
        "current": current_on(on),
        "upcoming": cp.valid_from > on,
        "past": and_(cp.valid_until.is_not(None), cp.valid_until < on),
        "all": None,
    }[status]


def list_contact_points(ctx: Context, wanted: ContactPointFilters, page: Page, tier: Tier) -> PageResult:
    cp = models.ContactPoint
    # Every filter value is checked first: a bad one is a 422 at every tier, not an empty list.
    country = filters.country(ctx, wanted.country)
    network = filters.network(ctx, wanted.network)
    role = filters.choice(wanted.role, ROLES, "role", "contact-point role")
    status = filters.choice(wanted.status, STATUSES, "status", "contact-point status")
    if not can_see("contact_point", {}, tier):
        return PageResult([], 0, page)
    query = select(cp).where(cp.deleted.is_(False))
    if wanted.authority is not None:
        query = query.where(cp.authority_id == wanted.authority)
    if country is not None:
        a = models.Authority
        query = query.where(cp.authority_id.in_(select(a.id).where(a.country == country)))
    if network and role:
        query = query.where(has_term(cp, "network_role", [f"{network}:{role}"]))
    elif network:
        query = query.where(has_term(cp, "network", [network]))
    elif role:
        query = query.where(has_term(cp, "role", [role]))
    if wanted.available_24_7 is not None:
        query = query.where(cp.available_24_7.is_(wanted.available_24_7))
    if (clause := _status_clause(status, today())) is not None:
        query = query.where(clause)
    if wanted.q is not None:
        ranked = search.ranked_ids(ctx, wanted.q, ("contact_point",), tier)
        query = query.where(cp.id.in_(ranked)).order_by(in_rank_order(cp.id, ranked))
    query = query.order_by(cp.authority_id, cp.kind != "person", cp.id)
    with ctx.db.read() as session:
        return paginate(session, query, page, lambda row: represent("contact_point", row, tier))


def get_contact_point(ctx: Context, contact_point_id: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "contact_point", contact_point_id, caller)
