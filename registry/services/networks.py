"""Networks: listing, reading, and resolving a network from what a user types."""

from __future__ import annotations

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.contracts import common_pattern
from registry.errors import UnknownValue
from registry.permissions import Caller
from registry.services.records import read_record, represent
from registry.taxonomy import NameResolver
from registry.visibility import Tier


def list_networks(ctx: Context, tier: Tier) -> list[dict]:
    with ctx.db.read() as session:
        rows = session.scalars(select(models.Network).where(models.Network.deleted.is_(False))
                               .order_by(models.Network.code))
        return [represent("network", row, tier) for row in rows]


def network_id(session, code: str) -> str:
    """The record id of a network given by code (or by record id)."""
    if common_pattern("network_code").fullmatch(code.lower()):
        found = session.scalar(select(models.Network.id).where(models.Network.code == code.lower()))
        if found is not None:
            return found
    return code


def get_network(ctx: Context, code: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "network", network_id(session, code), caller)


def resolve_network(ctx: Context, value: str, parameter: str = "network") -> str:
    """A network code from its code, acronym or any of its names ("GlobE", "European Judicial Network")."""
    resolver = NameResolver("network")
    names = {}
    with ctx.db.read() as session:
        for row in session.scalars(select(models.Network).where(models.Network.deleted.is_(False))):
            code = row.code
            names[code] = row.body["names"].get("en") or code
            for name in [code, row.body.get("acronym", ""), *row.body["names"].values()]:
                resolver.add(name, code)
    code = resolver.find(value)
    if code is None:
        suggestions = [{"code": c, "name": names[c]} for c in resolver.close_matches(value)]
        if not suggestions:
            suggestions = [{"code": c, "name": n} for c, n in sorted(names.items())]
        raise UnknownValue(parameter, value, "network", suggestions)
    return code
