"""Free-text search across authorities, contact points and emergency notes, with facet counts.

The backend (`ctx.search`) finds and ranks; this service resolves the filters a practitioner typed,
reads country, crime-type and request-type names inside the text as filters (and searches the plain words again
when that reading finds nothing), and dresses each hit with its title, snippet and link, read from
the record as the caller's tier shows it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from sqlalchemy import select

from registry import contracts, models
from registry.context import Context
from registry.record_types import RECORD_TYPES
from registry.search import MARK_END, MARK_START, TYPE_ORDER, SearchPage, SearchRequest
from registry.search.text import ParsedQuery, parse
from registry.services import Page, filters, today
from registry.services.records import represent
from registry.visibility import Tier

COLLECTIONS = {"authority": "authorities", "contact_point": "contact-points", "emergency_note": "emergency-notes"}
# A list or lookup narrowed by `q` covers this many best matches.
RANKED_LIMIT = 1000


@dataclass(frozen=True)
class SearchFilters:
    q: str | None = None
    type: str | None = None
    country: str | None = None
    crime_type: str | None = None
    request_type: str | None = None
    network: str | None = None
    language: str | None = None
    kind: str | None = None


def search(ctx: Context, wanted: SearchFilters, page: Page, tier: Tier) -> dict:
    record_type = filters.choice(wanted.type, list(TYPE_ORDER), "type", "record type")
    country = filters.country(ctx, wanted.country)
    crime = filters.crime_type(ctx, wanted.crime_type)
    request_types = filters.request_types(ctx, wanted.request_type)
    network = filters.network(ctx, wanted.network)
    language = filters.language(ctx, wanted.language)
    types = (record_type,) if record_type else tuple(TYPE_ORDER)
    kind = filters.choice(wanted.kind, sorted({k for t in types for k in contracts.kinds(t)}), "kind",
                          "kind of record")

    def request_for(query: ParsedQuery) -> SearchRequest:
        facets = {}
        if crime or query.crime_type:
            facets["crime_type"] = frozenset({crime or query.crime_type})
        if request_types or query.request_type:
            facets["request_type"] = frozenset(
                request_types[1] if request_types else ctx.taxonomy.request_types.related(query.request_type))
        if network:
            facets["network"] = frozenset({network})
        if language:
            facets["language"] = frozenset({language})
        return SearchRequest(query=query, tier=tier, on=today(), types=types, country=country or query.country,
                             kind=kind, facets=facets, offset=page.offset, limit=page.size)

    query = parse(ctx.taxonomy, wanted.q, find_country=country is None, find_crime_type=crime is None,
                  find_request_type=request_types is None)
    result = ctx.search.search(request_for(query))
    if result.total == 0 and query.read_as:
        # "Michael Jordan" is more likely a person than a filter on Jordan.
        query = parse(ctx.taxonomy, wanted.q, find_country=False, find_crime_type=False, find_request_type=False)
        result = ctx.search.search(request_for(query))
    read_codes = {"country": query.country, "crime_type": query.crime_type, "request_type": query.request_type}
    return {
        "query": {
            "q": wanted.q,
            "read_as": {kind_: {"words": words, "code": read_codes[kind_]} for kind_, words in query.read_as.items()},
            "type": record_type, "country": country, "crime_type": crime,
            "request_type": request_types[0] if request_types else None, "network": network,
            "language": language, "kind": kind, "date": today().isoformat(),
        },
        "total": result.total,
        "results": _results(ctx, result, tier),
        "facets": _facets(ctx, result),
    }


def ranked_ids(ctx: Context, q: str, types: tuple[str, ...], tier: Tier, country: str | None = None) -> list[str]:
    """Ids of the best matches of the words `q` among `types`, best first, whatever their dates (the
    list or lookup that asks applies its own filters)."""
    request = SearchRequest(query=parse(ctx.taxonomy, q, find_country=False, find_crime_type=False,
                                        find_request_type=False), tier=tier,
                            on=None, types=types, country=country, limit=RANKED_LIMIT, with_facets=False,
                            with_snippets=False)
    hits = ctx.search.search(request).hits
    return [hit.id for hit in hits]


def _results(ctx: Context, result: SearchPage, tier: Tier) -> list[dict]:
    rows = {}
    with ctx.db.read() as session:
        # Core rows, on the session's connection: represented once, never changed.
        connection = session.connection()
        for record_type in {hit.type for hit in result.hits}:
            table = RECORD_TYPES[record_type].model.__table__
            ids = [hit.id for hit in result.hits if hit.type == record_type]
            rows.update({row.id: row for row in connection.execute(select(table).where(table.c.id.in_(ids)))})
        authorities = _authorities_of(connection, result.hits, rows)
    out = []
    for hit in result.hits:
        row = rows.get(hit.id)
        # An index that follows the change log may briefly hold a record deleted since.
        record = represent(hit.type, row, tier) if row is not None and not row.deleted else None
        if record is None:
            continue
        item = {
            "type": hit.type,
            "id": hit.id,
            "title": _title(hit.type, record),
            "snippet": _snippet_html(hit.snippet),
            "country": None,
            "origin": record["origin"],
            "score": hit.score,
            "href": f"/api/v1/{COLLECTIONS[hit.type]}/{hit.id}",
        }
        if hit.type == "authority":
            item["country"] = record["country"]
        elif hit.type == "contact_point":
            item["authority"] = authorities.get(record["authority_id"])
            item["country"] = (item["authority"] or {}).get("country")
        else:
            scope = record["scope"]
            item["country"] = scope.get("country") or (authorities.get(scope.get("authority_id")) or {}).get("country")
        out.append(item)
    return out


def _authorities_of(connection, hits, rows: dict) -> dict[str, dict]:
    """id, name and country of the authorities the contact points and notes among the hits belong to."""
    ids = set()
    for hit in hits:
        body = rows[hit.id].body if hit.id in rows else {}
        if hit.type == "contact_point":
            ids.add(body.get("authority_id"))
        elif hit.type == "emergency_note":
            ids.add(body.get("scope", {}).get("authority_id"))
    ids.discard(None)
    if not ids:
        return {}
    a = models.Authority.__table__
    found = connection.execute(select(a.c.id, a.c.country, a.c.body).where(a.c.id.in_(ids), a.c.deleted.is_(False)))
    return {i: {"id": i, "name": _localized(body["names"]), "country": country} for i, country, body in found}


def _localized(value: dict) -> str:
    return value.get("en") or next(iter(value.values()))


def _title(record_type: str, record: dict) -> str:
    if record_type == "authority":
        name = _localized(record["names"])
        return f"{name} ({record['acronym']})" if record.get("acronym") else name
    if record_type == "contact_point":
        position = _localized(record["position"])
        person = record.get("person")
        return f"{person['name']}, {position}" if person else position
    return _localized(record["title"])


def _snippet_html(snippet: str | None) -> str | None:
    """The snippet as HTML: the record's text escaped, the matched words in <mark>."""
    if snippet is None:
        return None
    return html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def _facets(ctx: Context, result: SearchPage) -> dict[str, list[dict]]:
    names = {
        "country": lambda code: (c := ctx.taxonomy.countries.get(code)) and c.name,
        "crime_type": lambda code: code in ctx.taxonomy.crime_types and ctx.taxonomy.crime_types.terms[code].name,
        "request_type": lambda code: (code in ctx.taxonomy.request_types
                                      and ctx.taxonomy.request_types.terms[code].name),
    }
    out = {}
    for facet, counts in result.facets.items():
        values = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        out[facet] = [{"value": value, "count": count, **({"name": names[facet](value) or value}
                                                           if facet in names else {})} for value, count in values]
    return out
