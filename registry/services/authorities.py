"""Authorities: filtered listing and reading."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry import contracts, models
from registry.context import Context
from registry.permissions import Caller
from registry.services import Page, PageResult, filters, search
from registry.services.queries import has_term, in_rank_order, member_of, paginate
from registry.services.records import read_record, represent
from registry.visibility import Tier

KINDS = contracts.kinds("authority")


@dataclass(frozen=True)
class AuthorityFilters:
    country: str | None = None
    crime_type: str | None = None
    request_type: str | None = None
    network: str | None = None
    language: str | None = None
    kind: str | None = None
    q: str | None = None


def list_authorities(ctx: Context, wanted: AuthorityFilters, page: Page, tier: Tier) -> PageResult:
    a = models.Authority
    query = select(a).where(a.deleted.is_(False))
    if (country := filters.country(ctx, wanted.country)) is not None:
        query = query.where(a.country == country)
    if (crime := filters.crime_type(ctx, wanted.crime_type)) is not None:
        query = query.where(has_term(a, "crime_type", [crime]))
    if (request := filters.request_types(ctx, wanted.request_type)) is not None:
        query = query.where(has_term(a, "request_type", request[1]))
    if (network := filters.network(ctx, wanted.network)) is not None:
        query = query.where(member_of(a.id, network))
    if (language := filters.language(ctx, wanted.language)) is not None:
        query = query.where(has_term(a, "language", [language]))
    if (kind := filters.choice(wanted.kind, KINDS, "kind", "authority kind")) is not None:
        query = query.where(a.kind == kind)
    if wanted.q is not None:
        ranked = search.ranked_ids(ctx, wanted.q, ("authority",), tier)
        query = query.where(a.id.in_(ranked)).order_by(in_rank_order(a.id, ranked))
    query = query.order_by(a.country, a.sort_name, a.id)
    with ctx.db.read() as session:
        return paginate(session, query, page, lambda row: represent("authority", row, tier))


def get_authority(ctx: Context, authority_id: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "authority", authority_id, caller)
