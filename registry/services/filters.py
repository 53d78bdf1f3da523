"""Turning user-typed filter values into codes, with 422s that suggest what was meant."""

from __future__ import annotations

import difflib

import langcodes
from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.errors import UnknownValue
from registry.record_types import primary_language
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


def language(ctx: Context, value: str | None, parameter: str = "language") -> str | None:
    """A BCP 47 tag, or a language name in English ("Russian"), that some record on this node is in:
    a language nobody here works in is a 422 naming the ones they do, not an empty list."""
    if value is None:
        return None
    if langcodes.tag_is_valid(value):
        tag = langcodes.standardize_tag(value).lower()
    else:
        try:
            tag = langcodes.find(value).language
        except (LookupError, ModuleNotFoundError):
            tag = None
    in_use = languages_in_use(ctx)
    if tag is None or primary_language(tag) not in in_use:
        named = {code: langcodes.Language.get(code).display_name("en") for code in in_use}
        close = difflib.get_close_matches(value.lower(), [n.lower() for n in named.values()], n=3, cutoff=0.5)
        suggestions = [{"code": c, "name": n} for c, n in sorted(named.items(), key=lambda item: item[1])
                       if n.lower() in close] or [{"code": c, "name": n} for c, n in sorted(named.items())]
        raise UnknownValue(parameter, value, "language of the directory (BCP 47 tag such as \"ru\" or \"pt-BR\", "
                                             "or its English name)", suggestions)
    return tag


def languages_in_use(ctx: Context) -> set[str]:
    """The primary language subtags the records on this node are in."""
    term = models.RecordTerm
    with ctx.db.read() as session:
        values = session.scalars(select(term.value).where(term.facet == "language").distinct())
        return {v for v in values if "-" not in v}


def choice(value: str | None, choices: list[str], parameter: str, kind: str) -> str | None:
    if value is None:
        return None
    folded = value.strip().lower().replace(" ", "_").replace("-", "_")
    if folded in choices:
        return folded
    close = difflib.get_close_matches(folded, choices, n=3, cutoff=0.5) or choices
    raise UnknownValue(parameter, value, kind, [{"code": c, "name": c.replace("_", " ")} for c in close])
