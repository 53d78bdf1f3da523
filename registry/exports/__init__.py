"""Exports practitioners use: the lists as CSV, address cards as vCard 4.0 and
schema.org JSON-LD for linked-data consumers.

Every export is made of records as `registry.services.records.represent` serves them, read through
the same services as the JSON routes: the same filters and 422s, the same 404 for a record above the
caller's tier and 410 for a deleted one, the same tier per field (docs/api.md, Visibility). A field the JSON
leaves out is absent from every export too. An item is read at the caller's tier for its record
(a secretariat sees its own network's record in full, as in the JSON); the records an export adds to
it (an authority's contact points, a country's authorities) are read at the caller's list tier, as
`/contact-points?authority=` would list them.

Nothing here imports Flask: each export is an `Export` that the API turns into a response.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.errors import RegistryError
from registry.permissions import Caller
from registry.services import Page, PageResult, authorities, networks, today
from registry.services.contact_points import current_on
from registry.services.emergency_notes import retired_channels, without_retired
from registry.services.queries import has_term, network_codes_of
from registry.services.records import read_record, represent
from registry.visibility import Tier, can_see

JSON = "application/json"
CSV = "text/csv"
VCARD = "text/vcard"
JSON_LD = "application/ld+json"

# Records read per query when an export walks a whole list: what bounds its memory.
CHUNK = 500

T = TypeVar("T")

# A vCard UID must be the same for a record on every node that holds a copy (an address book that
# imports a card from two nodes should see one contact), so it derives from the record id alone,
# never from a node's URL.
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://contact-point-registry.example.org/records/")


class NotAcceptable(RegistryError):
    """An Accept header that excludes every representation a route has."""

    status = 406
    title = "Not acceptable"

    def __init__(self, supported: list[str]):
        super().__init__("This route answers " + ", ".join(supported) + ": send one of them in Accept (or */*), "
                         "or leave Accept out for JSON.", supported=supported)


@dataclass(frozen=True)
class Export:
    """What the API sends: `body` whole (a str) or produced while it is sent (an iterator of str)."""

    media_type: str
    body: str | Iterator[str]
    # Served as a download (Content-Disposition: attachment) under this name when set.
    filename: str | None = None
    # How many records a list export holds (X-Total-Count), when known before the first byte.
    total: int | None = None

    @property
    def streamed(self) -> bool:
        return not isinstance(self.body, str)


@dataclass
class AuthorityEntry:
    """An authority with what exports show beside it: its current contact points and its networks."""

    authority: dict
    contact_points: list[dict] = field(default_factory=list)
    # {"code", "names"} of the networks that list the authority as a member.
    networks: list[dict] = field(default_factory=list)


def record_uid(record_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(UID_NAMESPACE, record_id)}"


def record_url(ctx: Context, collection: str, record_id: str, suffix: str = "") -> str:
    return f"{ctx.settings.public_url}/api/v1/{collection}/{record_id}{suffix}"


def localized(texts: dict[str, str] | None, language: str = "en") -> str:
    """The text in `language`, else the first one given."""
    if not texts:
        return ""
    return texts.get(language) or next(iter(texts.values()))


def file_name(*parts: str) -> str:
    """A download name from record ids and codes, safe on every file system (no ':' on Windows)."""
    return "-".join(parts).replace(":", "_").replace("/", "_")


class _OneSession:
    """Stands in for `Database` where only read sessions are needed, handing out one session."""

    def __init__(self, session):
        self._session = session
        self.dialect = session.bind.dialect.name

    @contextmanager
    def read(self):
        yield self._session


@contextmanager
def one_transaction(ctx: Context) -> Iterator[Context]:
    """`ctx` whose read sessions are all one transaction, and on PostgreSQL one snapshot (REPEATABLE
    READ; SQLite's read transactions are snapshots already). An export that walks a list page by page
    through the list services then sees one state of the directory: a write meanwhile cannot shift a
    row from one page to the next, so no row is lost or repeated."""
    with ctx.db.read() as session:
        if session.bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield dataclasses.replace(ctx, db=_OneSession(session))


def walk(ctx: Context, fetch: Callable[[Context, Page], PageResult],
         each: Callable[[Context, list[dict]], Iterable[T]]) -> tuple[int, Iterator[T]]:
    """Every page of a list service, read in one transaction: the total, and what `each` makes of
    each page's items (in the same transaction, e.g. to add what the items refer to).

    The first page is read now, so that a bad filter value is an error before anything is sent; the
    others when the iterator gets there. Closing the iterator ends the transaction."""

    def items() -> Iterator:
        with one_transaction(ctx) as snapshot:
            result = fetch(snapshot, Page(1, CHUNK))
            yield result.total
            number = 1
            while True:
                yield from each(snapshot, result.items)
                if number * CHUNK >= result.total:
                    return
                number += 1
                result = fetch(snapshot, Page(number, CHUNK))

    walker = items()
    return next(walker), walker


def with_contact_points(ctx: Context, found: list[dict], tier: Tier,
                        network: str | None = None) -> list[AuthorityEntry]:
    """`found` authorities with their current contact points (only those holding a role in `network`
    when given) and their networks, in three queries."""
    ids = [a["id"] for a in found]
    cp = models.ContactPoint
    by_authority: dict[str, list[dict]] = {i: [] for i in ids}
    with ctx.db.read() as session:
        if ids and can_see("contact_point", {}, tier):
            query = (select(cp).where(cp.deleted.is_(False), cp.authority_id.in_(ids), current_on(today()))
                     .order_by(cp.authority_id, cp.kind != "person", cp.id))
            if network is not None:
                query = query.where(has_term(cp, "network", [network]))
            for row in session.scalars(query):
                if (record := represent("contact_point", row, tier)) is not None:
                    by_authority[row.authority_id].append(record)
        codes = network_codes_of(session, ids)
        # An export is read as what works: a channel a note in force says is not read is left out.
        retired = retired_channels(session, {a["id"]: (a["country"], codes[a["id"]]) for a in found}, today())
    names = _network_names(ctx, tier)
    entries = []
    for a in found:
        authority, points, _ = without_retired(a, by_authority[a["id"]], retired[a["id"]])
        entries.append(AuthorityEntry(authority, points,
                                      [{"code": c, "names": names.get(c, {"en": c})} for c in codes[a["id"]]]))
    return entries


def _network_names(ctx: Context, tier: Tier) -> dict[str, dict]:
    return {n["code"]: n["names"] for n in networks.list_networks(ctx, tier)}


def authority_entry(ctx: Context, authority_id: str, caller: Caller) -> AuthorityEntry:
    """One authority as its JSON item (404, 410), with its contact points."""
    with one_transaction(ctx) as snapshot:
        authority = authorities.get_authority(snapshot, authority_id, caller)
        return with_contact_points(snapshot, [authority], caller.tier)[0]


def contact_point_with_authority(ctx: Context, contact_point_id: str, caller: Caller) -> tuple[dict, dict | None]:
    """One contact point as its JSON item (404, 410), and the authority it sits in when this node
    holds it (a federated copy may arrive before its authority)."""
    with ctx.db.read() as session:
        contact_point = read_record(session, "contact_point", contact_point_id, caller)
        row = session.get(models.Authority, contact_point["authority_id"])
        authority = None if row is None or row.deleted else represent("authority", row, caller.tier)
    return contact_point, authority


def country_name(ctx: Context, code: str | None) -> str:
    country = ctx.taxonomy.countries.get(code) if code else None
    return country.name if country else (code or "")


def walk_authorities(ctx: Context, wanted: authorities.AuthorityFilters, tier: Tier,
                     network: str | None = None) -> Iterator[AuthorityEntry]:
    """Every authority `/authorities` lists for `wanted`, with its contact points, in one transaction."""
    _, entries = walk(ctx, lambda snapshot, page: authorities.list_authorities(snapshot, wanted, page, tier),
                      lambda snapshot, found: with_contact_points(snapshot, found, tier, network))
    return entries


def joined(values: Iterable[str]) -> str:
    """Several values in one cell or line."""
    return " | ".join(v for v in values if v)


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Channel kinds with no vCard property or schema.org property of their own, as a reader names them.
CHANNEL_LABELS = {"secure_platform": "Secure platform", "diplomatic": "Diplomatic channel", "interpol": "INTERPOL",
                  "postal": "Post"}
ROLE_LABELS = {"contact_point": "contact point", "alternate": "alternate contact point", "24_7": "24/7 contact point",
               "secretariat_focal_point": "secretariat focal point"}


def role_text(role: dict) -> str:
    """A contact point's role in a network, as a reader says it: "24/7 contact point (casc)"."""
    return f"{ROLE_LABELS.get(role['role'], role['role'])} ({role['network']})"


def hours_text(hours: dict | None) -> str:
    """When a contact point answers: "24/7 (Asia/Bishkek)", "Mon–Fri 09:00–18:00 (Asia/Bishkek)"."""
    if not hours:
        return ""
    zone = hours.get("time_zone", "")
    if hours.get("always"):
        return f"24/7 ({zone})"
    spans = [f"{_day_ranges(slot['days'])} {slot['opens']}–{slot['closes']}" for slot in hours.get("weekly", [])]
    return f"{'; '.join(spans)} ({zone})"


def _day_ranges(days: list[str]) -> str:
    """["mon", "tue", "wed", "fri"] -> "Mon–Wed, Fri": runs of three days or more as a range."""
    numbers = sorted(WEEKDAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    out = []
    for run in runs:
        names = [WEEKDAYS[n].capitalize() for n in run]
        out.append(f"{names[0]}–{names[-1]}" if len(run) >= 3 else ", ".join(names))
    return ", ".join(out)
