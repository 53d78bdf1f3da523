"""Turning user-typed filter values into codes, with 422s that suggest what was meant."""

from __future__ import annotations

import difflib

import langcodes

from registry.context import Context
from registry.errors import UnknownValue
from registry.services.networks import resolve_network


def country(ctx: Context, value: str | None, parameter: str = "country") -> str | None:
    return None if value is None else ctx.taxonomy.countries.resolve(value, parameter)


def crime_type(ctx: Context, value: str | None, parameter: str = "crime_type") -> str | None:
    return None if value is None else ctx.taxonomy.crime_types.resolve(value, parameter)


def request_types(ctx: Context, value: str | None, parameter: str = "request_type") -> tuple[str, set[str]] | None:
    """The resolved code and every code a filter on it matches (ancestors and descendants)."""
    if value is None:
        return None
    code = ctx.taxonomy.request_types.resolve(value, parameter)
    return code, ctx.taxonomy.request_types.related(code)


def network(ctx: Context, value: str | None, parameter: str = "network") -> str | None:
    return None if value is None else resolve_network(ctx, value, parameter)


def language(value: str | None, parameter: str = "language") -> str | None:
    """A BCP 47 tag, or a language name in English ("Russian")."""
    if value is None:
        return None
    if langcodes.tag_is_valid(value):
        return langcodes.standardize_tag(value).lower()
    try:
        return langcodes.find(value).language
    except (LookupError, ModuleNotFoundError):
        raise UnknownValue(parameter, value, "language (BCP 47 tag such as \"ru\" or \"pt-BR\")", []) from None


def choice(value: str | None, choices: list[str], parameter: str, kind: str) -> str | None:
    if value is None:
        return None
    folded = value.strip().lower().replace(" ", "_").replace("-", "_")
    if folded in choices:
        return folded
    close = difflib.get_close_matches(folded, choices, n=3, cutoff=0.5) or choices
    raise UnknownValue(parameter, value, kind, [{"code": c, "name": c.replace("_", " ")} for c in close])
