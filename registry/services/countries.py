"""Countries as reference data, with what this node holds about each."""

from __future__ import annotations

from sqlalchemy import func, select

from registry import models
from registry.context import Context
from registry.errors import NotFound, UnknownValue


def list_countries(ctx: Context, with_authorities: bool | None = None) -> list[dict]:
    counts = _authority_counts(ctx)
    out = []
    for country in sorted(ctx.taxonomy.countries.by_code.values(), key=lambda c: c.code):
        count = counts.get(country.code, 0)
        if with_authorities is None or with_authorities == (count > 0):
            out.append(country.as_dict() | {"authority_count": count})
    return out


def get_country(ctx: Context, value: str) -> dict:
    """A country by any spelling the resolver accepts; 404 when it resolves to nothing."""
    try:
        code = ctx.taxonomy.countries.resolve(value, "code")
    except UnknownValue as exc:
        raise NotFound(exc.detail, **exc.extensions) from None
    a, m = models.Authority, models.NetworkMember
    with ctx.db.read() as session:
        count = session.scalar(select(func.count()).where(a.country == code, a.deleted.is_(False)))
        networks = session.scalars(select(m.network_code).join(a, a.id == m.authority_id)
                                   .where(a.country == code, a.deleted.is_(False))
                                   .distinct().order_by(m.network_code))
        return ctx.taxonomy.countries.get(code).as_dict() | {"authority_count": count, "networks": list(networks)}


def _authority_counts(ctx: Context) -> dict[str, int]:
    a = models.Authority
    with ctx.db.read() as session:
        rows = session.execute(select(a.country, func.count()).where(a.deleted.is_(False)).group_by(a.country))
        return dict(rows.all())
