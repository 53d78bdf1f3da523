"""CSV of the authority and contact-point lists: every row the list route matches with the same
filters, not one page, streamed from one transaction a page of rows at a time (memory does not grow
with the list).

The columns are the same at every tier: a field above the caller's tier (a partner channel for an
anonymous caller, a contact person's name below the restricted tier) is an empty cell. Several values
share a cell separated by " | "; texts in several languages are written "en: ... | ru: ...".

For spreadsheets: UTF-8 with a byte-order mark, which Excel needs to read UTF-8 (without it, Cyrillic
names come out garbled); RFC 4180 quoting and CRLF. A cell that begins with =, +, -, @, a tab or a
carriage return is prefixed with an apostrophe (OWASP, CSV injection), so that a spreadsheet shows it
as text instead of evaluating it: a published name such as `=HYPERLINK(...)` stays a name, and a phone
number `+996 555 0100` reads `'+996 555 0100`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.exports import (
    CSV,
    Export,
    country_name,
    hours_text,
    joined,
    localized,
    record_url,
    role_text,
    walk,
)
from registry.permissions import Caller
from registry.services import authorities, contact_points
from registry.services.queries import network_codes_of
from registry.services.records import represent
from registry.visibility import Tier

MEDIA_TYPE = f"{CSV}; charset=utf-8; header=present"
BOM = "\ufeff"
# What a spreadsheet may read as the start of a formula (OWASP CSV injection), also in the full-width and
# small forms some spreadsheets normalize, and after the blanks they skip.
FORMULA_CHARACTERS = frozenset("=+-@" "\uff1d\uff0b\uff0d\uff20" "\ufe66\ufe62\ufe63\ufe6b")
LEADING_BLANKS = " \t\r\n\u00a0\u3000"
# Rows written before the text is handed to the server.
BUFFER_CHARS = 64 * 1024

Column = tuple[str, Callable[[dict, dict], object]]


def cell(value) -> str:
    """A cell's text, with a leading ' when a spreadsheet could take it for a formula: it starts with a
    tab or a line break, or its first character after leading blanks is one that starts a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("\t", "\r", "\n") or text.lstrip(LEADING_BLANKS)[:1] in FORMULA_CHARACTERS:
        return "'" + text
    return text


def texts(localized_text: dict[str, str] | None) -> str:
    return joined(f"{language}: {text}" for language, text in (localized_text or {}).items())


def _channels(kind: str) -> Callable[[dict, dict], str]:
    return lambda record, _: joined(c["value"] for c in record.get("channels", []) if c["kind"] == kind)


AUTHORITY_COLUMNS: list[Column] = [
    ("id", lambda r, _: r["id"]),
    ("name", lambda r, _: localized(r["names"])),
    ("names", lambda r, _: texts(r["names"])),
    ("acronym", lambda r, _: r.get("acronym")),
    ("kind", lambda r, _: r.get("kind")),
    ("country", lambda r, _: r.get("country")),
    ("country_name", lambda r, x: x["country_name"]),
    ("street", lambda r, _: (r.get("address") or {}).get("street")),
    ("locality", lambda r, _: (r.get("address") or {}).get("locality")),
    ("region", lambda r, _: (r.get("address") or {}).get("region")),
    ("postal_code", lambda r, _: (r.get("address") or {}).get("postal_code")),
    ("website", lambda r, _: r.get("website")),
    ("email", _channels("email")),
    ("phone", _channels("phone")),
    ("fax", _channels("fax")),
    ("secure_platform", _channels("secure_platform")),
    ("diplomatic", _channels("diplomatic")),
    ("interpol", _channels("interpol")),
    ("postal", _channels("postal")),
    ("channel_notes", lambda r, _: joined(f"{c['value']}: {c['note']}" for c in r.get("channels", [])
                                          if c.get("note"))),
    ("languages", lambda r, _: joined(r.get("languages", []))),
    ("competences", lambda r, _: joined(r.get("competences", []))),
    ("request_types", lambda r, _: joined(r.get("request_types", []))),
    ("networks", lambda r, x: joined(x["networks"])),
    ("status", lambda r, _: r.get("status")),
    ("verified_at", lambda r, _: r.get("verified_at")),
    ("origin", lambda r, _: r["origin"]),
    ("owner_network", lambda r, _: r["owner_network"]),
    ("version", lambda r, _: r["version"]),
    ("updated_at", lambda r, _: r["updated_at"]),
    ("url", lambda r, x: x["url"]),
]


def _person(field: str) -> Callable[[dict, dict], str | None]:
    return lambda record, _: (record.get("person") or {}).get(field)


CONTACT_POINT_COLUMNS: list[Column] = [
    ("id", lambda r, _: r["id"]),
    ("authority_id", lambda r, _: r.get("authority_id")),
    ("authority_name", lambda r, x: x["authority_name"]),
    ("country", lambda r, x: x["country"]),
    ("kind", lambda r, _: r.get("kind")),
    ("position", lambda r, _: localized(r.get("position"))),
    ("positions", lambda r, _: texts(r.get("position"))),
    ("person_name", _person("name")),
    ("person_email", _person("email")),
    ("person_phone", _person("phone")),
    ("email", lambda r, _: r.get("email")),
    ("phone", lambda r, _: r.get("phone")),
    ("secure_platform", lambda r, _: joined((r.get("secure_platform") or {}).values())),
    ("roles", lambda r, _: joined(role_text(role) for role in r.get("roles", []))),
    ("languages", lambda r, _: joined(r.get("languages", []))),
    ("available_24_7", lambda r, _: "yes" if (r.get("hours") or {}).get("always") else "no"),
    ("hours", lambda r, _: hours_text(r.get("hours"))),
    ("time_zone", lambda r, _: (r.get("hours") or {}).get("time_zone")),
    ("valid_from", lambda r, _: r.get("valid_from")),
    ("valid_until", lambda r, _: r.get("valid_until")),
    ("verified_at", lambda r, _: r.get("verified_at")),
    ("origin", lambda r, _: r["origin"]),
    ("owner_network", lambda r, _: r["owner_network"]),
    ("version", lambda r, _: r["version"]),
    ("updated_at", lambda r, _: r["updated_at"]),
    ("url", lambda r, x: x["url"]),
]


def _csv(columns: list[Column], rows: Iterable[tuple[dict, dict]]) -> Iterator[str]:
    """The header, then one line per (record, what it refers to), in pieces of about BUFFER_CHARS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([name for name, _ in columns])
    for record, extra in rows:
        writer.writerow([cell(value(record, extra)) for _, value in columns])
        if buffer.tell() >= BUFFER_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def authorities_csv(ctx: Context, wanted: authorities.AuthorityFilters, caller: Caller) -> Export:
    tier = caller.tier

    def rows(snapshot: Context, found: list[dict]) -> Iterator[tuple[dict, dict]]:
        with snapshot.db.read() as session:
            networks = network_codes_of(session, [a["id"] for a in found])
        for record in found:
            yield record, {"country_name": country_name(ctx, record.get("country")), "networks": networks[record["id"]],
                           "url": record_url(ctx, "authorities", record["id"])}

    total, found = walk(ctx, lambda snapshot, page: authorities.list_authorities(snapshot, wanted, page, tier), rows)
    return Export(MEDIA_TYPE, _csv(AUTHORITY_COLUMNS, found), filename="authorities.csv", total=total)


def contact_points_csv(ctx: Context, wanted: contact_points.ContactPointFilters, caller: Caller) -> Export:
    tier = caller.tier

    def rows(snapshot: Context, found: list[dict]) -> Iterator[tuple[dict, dict]]:
        parents = _authorities(snapshot, {cp["authority_id"] for cp in found}, tier)
        for record in found:
            parent = parents.get(record["authority_id"]) or {}
            yield record, {"authority_name": localized(parent.get("names")), "country": parent.get("country"),
                           "url": record_url(ctx, "contact-points", record["id"])}

    total, found = walk(ctx, lambda snapshot, page: contact_points.list_contact_points(snapshot, wanted, page, tier),
                        rows)
    return Export(MEDIA_TYPE, _csv(CONTACT_POINT_COLUMNS, found), filename="contact-points.csv", total=total)


def _authorities(ctx: Context, ids: set[str], tier: Tier) -> dict[str, dict]:
    """The live authorities among `ids`, as the tier sees them (a copy may arrive before its authority)."""
    a = models.Authority
    with ctx.db.read() as session:
        rows = session.scalars(select(a).where(a.id.in_(sorted(ids)), a.deleted.is_(False)))
        return {row.id: record for row in rows if (record := represent("authority", row, tier)) is not None}
