"""Query pieces shared by the read services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry import models
from registry.services import Page, PageResult


def has_term(model, facet: str, values: Iterable[str]):
    """The record has at least one of `values` under `facet` (crime types, languages...)."""
    values = list(values)
    term = models.RecordTerm
    return exists().where(term.record_id == model.id, term.facet == facet, term.value.in_(values))


def has_facet(model, facet: str):
    """The record has any value under `facet`."""
    term = models.RecordTerm
    return exists().where(term.record_id == model.id, term.facet == facet)


def member_of(authority_id_column, network_code: str):
    member = models.NetworkMember
    return exists().where(member.authority_id == authority_id_column, member.network_code == network_code)


def in_force(model, start: str, end: str, on: date):
    """`start <= on <= end`, an absent end meaning "until further notice"."""
    start_col, end_col = getattr(model, start), getattr(model, end)
    return and_(start_col <= on, or_(end_col.is_(None), end_col >= on))


def in_rank_order(id_column, ranked_ids: list[str]):
    """An ORDER BY term that keeps the order of `ranked_ids` (search results, best first)."""
    if not ranked_ids:
        return literal(0)
    return case({record_id: rank for rank, record_id in enumerate(ranked_ids)}, value=id_column,
                else_=len(ranked_ids))


def paginate(session: Session, query, page: Page, represent) -> PageResult:
    """Run `query` (a select of ORM rows) for one page; `represent` maps a row to its dict."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(page.size).offset(page.offset))
    return PageResult([item for item in map(represent, rows) if item is not None], total, page)


def network_codes_of(connection: Session | Connection, authority_ids: list[str]) -> dict[str, list[str]]:
    """authority id -> codes of the networks that list it as a member."""
    out: dict[str, list[str]] = {a: [] for a in authority_ids}
    if authority_ids:
        for authority_id, code in connection.execute(_NETWORK_CODES, {"ids": authority_ids}):
            out[authority_id].append(code)
    return out


_MEMBER = models.NetworkMember.__table__
_NETWORK_CODES = (select(_MEMBER.c.authority_id, _MEMBER.c.network_code)
                  .where(_MEMBER.c.authority_id.in_(bindparam("ids", expanding=True)))
                  .order_by(_MEMBER.c.network_code))
