"""The practitioner's question: whom do I contact in country X about crime Y and request Z?

Answer: how to send the request there (the country's procedures for the request type), and the
country's active authorities, ranked (see `_rank_clauses`), each with why it stands
where it does, its current contact points and every emergency note in force today that applies to
it, its country or one of its networks; channels a note in force says are not read are left out
and named, and what the caller's tier withholds is counted.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, case, exists, func, or_, select

from registry import models, services
from registry.context import Context
from registry.errors import InvalidParameter
from registry.services import Page, filters, procedures, search, today
from registry.services.emergency_notes import concerns, retirements, without_retired
from registry.services.queries import in_rank_order, member_of, network_codes_of
from registry.services.reachability import summarise
from registry.services.records import represent
from registry.visibility import Tier, can_see

URGENCY_ORDER = {"emergency": 0, "urgent": 1, "routine": 2}


@dataclass(frozen=True)
class LookupQuery:
    country: str | None
    crime_type: str | None = None
    request_type: str | None = None
    network: str | None = None
    urgent: bool = False
    q: str | None = None


def lookup(ctx: Context, query: LookupQuery, page: Page, tier: Tier) -> dict:
    if not query.country:
        raise InvalidParameter("country", "required: an ISO code or a name, e.g. country=KG or country=Kyrgyzstan")
    country = filters.country(ctx, query.country)
    crime = filters.crime_type(ctx, query.crime_type)
    request = filters.request_types(ctx, query.request_type)
    network = filters.network(ctx, query.network)
    on = today()
    at = services.now()

    request_code = request[0] if request else None
    shape = Shape(crime is not None, request_code is not None,
                  bool(request_code and ctx.taxonomy.request_types.descendants(request_code)), network is not None)
    params = {"country": country, "crime": crime, "network": network, "limit": page.size, "offset": page.offset}
    if request_code:
        params["covering"] = [request_code, *ctx.taxonomy.request_types.ancestors(request_code)]
        params["narrower"] = list(ctx.taxonomy.request_types.descendants(request_code))
    if query.q is None:
        count, listed, reasons = _authority_statements(shape)
    else:
        count, listed, reasons = _authority_statements(shape, _authorities_matching(ctx, query.q, country, tier))

    with ctx.db.read() as session:
        # Every statement here is Core, on tables: run on the session's connection, without the ORM's
        # execution layer around each.
        connection = session.connection()
        total = connection.scalar(count, params)
        rows = connection.execute(listed, params).all()
        ids = [row.id for row in rows]
        networks = network_codes_of(connection, ids)
        contact_points, points_withheld = _contact_points(connection, ids, on, tier, query.urgent)
        in_force = connection.execute(_NOTES_IN_FORCE, {"country": country, "ids": ids, "on": on, "networks": sorted(
            {code for codes in networks.values() for code in codes})}).all()
        notes = [n for n in in_force if concerns(n, crime, request[1] if request else None)]
        retired = retirements(in_force, {i: (country, networks[i]) for i in ids})
        how = procedures.for_lookup(connection, country, request[1] if request else None, tier)

    # A note for a country or a network applies to every authority on the page: represented once.
    represented = {n.id: represent("emergency_note", n, tier) for n in notes}
    results = []
    for authority in rows:
        held = {name for name in reasons if authority._mapping[name]}
        applicable = [n for n in notes if _applies(n, authority.id, country, networks[authority.id])]
        applicable.sort(key=lambda n: (URGENCY_ORDER[n.urgency] if query.urgent else 0, n.effective_from))
        shown = [note for note in (represented[n.id] for n in applicable) if note is not None]
        visible = represent("authority", authority, tier)
        record, points, left_out = without_retired(visible, contact_points.get(authority.id, []),
                                                   retired[authority.id])
        points, reachable = _reachability(points, country, at, query.urgent)
        results.append({
            "authority": record,
            "matched": _matched(ctx, authority.body, held, crime, request_code),
            "networks": networks[authority.id],
            "contact_points": points,
            **({"reachability": reachable} if reachable else {}),
            "retired_channels": left_out,
            "emergency_notes": shown,
            # What the caller's tier leaves out, so that an empty list is not read as "none exist".
            "withheld": {
                **points_withheld.get(authority.id, {"contact_points": 0, "contact_persons": 0}),
                "channels": len([c for c in authority.body.get("channels", []) if c not in visible.get("channels", [])
                                 and (c["kind"], c["value"]) not in retired[authority.id]]),
                "emergency_notes": len(applicable) - len(shown),
            },
        })
    return {
        "query": {
            "country": ctx.taxonomy.countries.get(country).summary(),
            "crime_type": crime,
            "request_type": request[0] if request else None,
            "network": network,
            "urgent": query.urgent,
            "q": query.q,
            "date": on.isoformat(),
        },
        "total": total,
        **_access(tier, [r["withheld"] for r in results]),
        "demonstration": any(r["authority"].get("demonstration") for r in results),
        "procedures": how,
        "results": results,
    }


def _reachability(points: list[dict], country: str, at, urgent: bool) -> tuple[list[dict], dict | None]:
    """The authority's contact points in the order to show them, and who of them answers at `at` (their
    states in the same order), and whether only a 24/7 line does; None when the caller sees none. With
    `urgent`, those open now come first (24/7 lines among them)."""
    if not points:
        return points, None
    summary = summarise(points, country, at).as_json()
    pairs = list(zip(points, summary["contact_points"], strict=True))
    if urgent:
        pairs.sort(key=lambda pair: pair[1]["open"] is not True)
    return [point for point, _ in pairs], summary | {"contact_points": [state for _, state in pairs]}


ACCESS_HOW = ("Contact points and the channels and notes meant for partners are shown to the members of the "
              "networks and their partners; the names and direct lines of contact persons to vetted practitioners. "
              "Ask your network's secretariat for access.")


def _access(tier: Tier, withheld: list[dict]) -> dict:
    """`access` when the caller's tier withholds something in the answer: which tier would show it."""
    needed = None
    if tier < Tier.PARTNER and any(w["contact_points"] or w["channels"] or w["emergency_notes"] for w in withheld):
        needed = Tier.PARTNER
    elif tier < Tier.RESTRICTED and any(w["contact_persons"] or w["emergency_notes"] for w in withheld):
        needed = Tier.RESTRICTED
    if needed is None:
        return {}
    return {"access": {"tier": tier.name.lower(), "needed": needed.name.lower(), "how": ACCESS_HOW,
                       "href": "/access"}}


@dataclass(frozen=True)
class Shape:
    """What a lookup asks, as far as its SQL differs: the values go in as bound parameters."""
    crime: bool
    request: bool
    narrower: bool
    network: bool


A = models.Authority.__table__
T = models.RecordTerm.__table__


def _has_term(facet: str, parameter: str, many: bool = True):
    values = T.c.value.in_(bindparam(parameter, expanding=True)) if many else T.c.value == bindparam(parameter)
    return exists().where(T.c.record_id == A.c.id, T.c.facet == facet, values)


def _rank_clauses(shape: Shape) -> list[tuple[str, object, int]]:
    """(reason, SQL condition, weight) of each reason to rank an authority higher, strongest first.

    The central authority designated for the request type (or for a broader one: "mla" covers
    "mla.search_and_seizure") comes first, as requests go through it; then an authority designated
    competent for the measure; then competence for the crime; then handling the whole request type,
    and last handling only some forms of it (one MLA measure is not "MLA"). The weights are powers of
    two, so a stronger reason outranks every combination of weaker ones."""
    clauses = []
    if shape.request:
        clauses += [("central_authority", _has_term("central_authority", "covering"), 16),
                    ("competent_authority", _has_term("competent_authority", "covering"), 8)]
    if shape.crime:
        clauses.append(("crime_type", _has_term("crime_type", "crime", many=False), 4))
    if shape.request:
        clauses.append(("request_type", _has_term("request_type", "covering"), 2))
        if shape.narrower:
            clauses.append(("part_of_request_type", _has_term("request_type", "narrower"), 1))
    return clauses


def _authority_statements(shape: Shape, ranked: list[str] | None = None):
    """The count and the page of a country's active authorities, ranked, and the names of the reasons each
    row says it holds. Without words to match (`ranked`: the ids they found, best first), the statements
    depend only on the shape of the question: they are built once."""
    return _statements_of_shape(shape) if ranked is None else _build_authority_statements(shape, ranked)


@functools.cache
def _statements_of_shape(shape: Shape):
    return _build_authority_statements(shape, None)


def _build_authority_statements(shape: Shape, ranked: list[str] | None):
    clauses = _rank_clauses(shape)
    score = sum(case((clause, weight), else_=0) for _, clause, weight in clauses) if clauses else None
    where = [A.c.deleted.is_(False), A.c.country == bindparam("country"), A.c.status == "active"]
    if shape.network:
        where.append(member_of(A.c.id, bindparam("network")))
    order = [score.desc()] if score is not None else []
    if ranked is not None:
        where.append(A.c.id.in_(ranked))
        order.append(in_rank_order(A.c.id, ranked))
    count = select(func.count()).select_from(A).where(*where)
    listed = (select(A, *(clause.label(name) for name, clause, _ in clauses)).where(*where)
              .order_by(*order, A.c.sort_name, A.c.id).limit(bindparam("limit")).offset(bindparam("offset")))
    return count, listed, tuple(name for name, _, _ in clauses)


def _matched(ctx: Context, body: dict, reasons: set[str], crime: str | None, request: str | None) -> dict:
    """Why the authority stands where it does: which of the asked crime and request type it handles,
    how much of the request type, and the designation that puts it first."""
    matched: dict = {}
    if crime:
        matched["crime_type"] = "crime_type" in reasons
    if request:
        matched["request_type"] = "request_type" in reasons
        matched["request_coverage"] = ("full" if "request_type" in reasons
                                       else "partial" if "part_of_request_type" in reasons else "none")
        covering = {request, *ctx.taxonomy.request_types.ancestors(request)}
        for role in ("central_authority", "competent_authority"):
            found = next((d for d in body.get("designations", [])
                          if d["role"] == role and covering.intersection(d["request_types"])), None)
            if found:
                matched["designation"] = found
                break
    return matched


def _authorities_matching(ctx: Context, q: str, country: str, tier: Tier) -> list[str]:
    """Authorities whose record, or one of whose contact points, matches the words `q`, best first."""
    ranked = search.ranked_ids(ctx, q, ("authority", "contact_point"), tier, country=country)
    with ctx.db.read() as session:
        cp = models.ContactPoint
        parents = dict(session.execute(select(cp.id, cp.authority_id).where(cp.id.in_(ranked))).all())
    return list(dict.fromkeys(parents.get(record_id, record_id) for record_id in ranked))


CP = models.ContactPoint.__table__
N = models.EmergencyNote.__table__
_CURRENT_POINTS = (CP.c.deleted.is_(False), CP.c.authority_id.in_(bindparam("ids", expanding=True)),
                   CP.c.valid_from <= bindparam("on"),
                   or_(CP.c.valid_until.is_(None), CP.c.valid_until >= bindparam("on")))
_POINTS_COUNTED = select(CP.c.authority_id, func.count()).where(*_CURRENT_POINTS).group_by(CP.c.authority_id)
# Per authority: persons before functional posts; 24/7 points first when urgent.
_POINTS = select(CP).where(*_CURRENT_POINTS).order_by(CP.c.authority_id, CP.c.kind != "person", CP.c.id)
_POINTS_URGENT = select(CP).where(*_CURRENT_POINTS).order_by(CP.c.authority_id, CP.c.available_24_7.desc(),
                                                              CP.c.kind != "person", CP.c.id)
# Every note in force for the authorities, their country or their networks, at every tier: the asked crime and
# request type choose those shown (the caller's tier decides which, and counts the rest), and any of them may
# retire a channel.
_NOTES_IN_FORCE = (
    select(N).where(N.c.deleted.is_(False),
                    or_(N.c.scope_country == bindparam("country"),
                        N.c.scope_authority_id.in_(bindparam("ids", expanding=True)),
                        N.c.scope_network.in_(bindparam("networks", expanding=True))),
                    N.c.effective_from <= bindparam("on"),
                    or_(N.c.effective_until.is_(None), N.c.effective_until >= bindparam("on")))
    .order_by(N.c.id))


def _contact_points(connection, authority_ids, on, tier: Tier, urgent: bool) -> tuple[dict, dict]:
    """The current contact points of each authority as `tier` sees them, and how many the tier
    withholds: whole contact points, and the names and direct lines of persons."""
    if not authority_ids:
        return {}, {}
    params = {"ids": authority_ids, "on": on}
    if not can_see("contact_point", {}, tier):
        counts = connection.execute(_POINTS_COUNTED, params)
        return {}, {authority_id: {"contact_points": n, "contact_persons": 0} for authority_id, n in counts}
    shown = defaultdict(list)
    withheld = defaultdict(lambda: {"contact_points": 0, "contact_persons": 0})
    for row in connection.execute(_POINTS_URGENT if urgent else _POINTS, params):
        record = represent("contact_point", row, tier)
        if "person" in row.body and "person" not in record:
            withheld[row.authority_id]["contact_persons"] += 1
        shown[row.authority_id].append(record)
    return shown, withheld


def _applies(note, authority_id: str, country: str, networks: list[str]) -> bool:
    return (note.scope_country == country or note.scope_authority_id == authority_id
            or note.scope_network in networks)
