"""Procedures: how to send a request of given types to a country (legal bases, languages, form and
channel, what must accompany it, the urgent procedure, time frames, templates), as its network
publishes them, with their sources."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry import models
from registry.context import Context
from registry.permissions import Caller
from registry.services import Page, PageResult, filters
from registry.services.queries import has_term, paginate
from registry.services.records import read_record, represent
from registry.visibility import Tier, visible_tiers


@dataclass(frozen=True)
class ProcedureFilters:
    country: str | None = None
    request_type: str | None = None


def _matching(country: str | None, request_codes: set[str] | None, tier: Tier):
    p = models.Procedure
    query = select(p).where(p.deleted.is_(False), p.visibility.in_(visible_tiers(tier)))
    if country is not None:
        query = query.where(p.country == country)
    if request_codes:
        query = query.where(has_term(p, "request_type", request_codes))
    return query.order_by(p.country, p.id)


def list_procedures(ctx: Context, wanted: ProcedureFilters, page: Page, tier: Tier) -> PageResult:
    country = filters.country(ctx, wanted.country)
    request = filters.request_types(ctx, wanted.request_type)
    with ctx.db.read() as session:
        return paginate(session, _matching(country, request[1] if request else None, tier), page,
                        lambda row: represent("procedure", row, tier))


def for_lookup(connection: Session | Connection, country: str, request_codes: set[str] | None,
               tier: Tier) -> list[dict]:
    """The procedures of a country for the asked request type (a broader or narrower one counts), or
    all of the country's when no request type is asked."""
    statement = _FOR_LOOKUP_BY_REQUEST if request_codes else _FOR_LOOKUP
    rows = connection.execute(statement, {"country": country, "requests": sorted(request_codes or ()),
                                       "visibilities": visible_tiers(tier)})
    return [record for record in (represent("procedure", row, tier) for row in rows) if record is not None]


_P = models.Procedure.__table__
_T = models.RecordTerm.__table__
# Built once: a lookup asks for them every time.
_FOR_LOOKUP = select(_P).where(_P.c.deleted.is_(False), _P.c.visibility.in_(bindparam("visibilities", expanding=True)),
                               _P.c.country == bindparam("country")).order_by(_P.c.country, _P.c.id)
_FOR_LOOKUP_BY_REQUEST = _FOR_LOOKUP.where(exists().where(
    _T.c.record_id == _P.c.id, _T.c.facet == "request_type", _T.c.value.in_(bindparam("requests", expanding=True))))


def get_procedure(ctx: Context, procedure_id: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "procedure", procedure_id, caller)
