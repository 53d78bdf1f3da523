"""The practitioner's question: whom do I contact in country X about crime Y and request Z?

Answer: how to send the request there (the country's procedures for the request type), and the
country's active authorities, ranked (see `_rank_clauses`), each with why it stands
where it does, its current contact points and every emergency note in force today that applies to
it, its country or one of its networks; channels a note in force says are not read are left out
and named, and what the caller's tier withholds is counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select

from registry import models
from registry.context import Context
from registry.errors import InvalidParameter
from registry.services import Page, filters, procedures, search, today
from registry.services.contact_points import current_on
from registry.services.emergency_notes import concerns, in_force_on, retirements, without_retired
from registry.services.queries import has_term, in_rank_order, member_of, network_codes_of
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

    a = models.Authority
    clauses = _rank_clauses(ctx, a, crime, request[0] if request else None)
    score = sum(case((clause, weight), else_=0) for _, clause, weight in clauses) if clauses else None
    stmt = select(a, *(clause for _, clause, _ in clauses)).where(
        a.deleted.is_(False), a.country == country, a.status == "active")
    if network:
        stmt = stmt.where(member_of(a.id, network))
    order = [score.desc()] if score is not None else []
    if query.q is not None:
        ranked = _authorities_matching(ctx, query.q, country, tier)
        stmt = stmt.where(a.id.in_(ranked))
        order.append(in_rank_order(a.id, ranked))
    stmt = stmt.order_by(*order, a.sort_name, a.id)

    with ctx.db.read() as session:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        rows = session.execute(stmt.limit(page.size).offset(page.offset)).all()
        ids = [row[0].id for row in rows]
        networks = network_codes_of(session, ids)
        contact_points, points_withheld = _contact_points(session, ids, on, tier, query.urgent)
        in_force = _notes(session, country, ids, networks, on)
        notes = [n for n in in_force if concerns(n, crime, request[1] if request else None)]
        retired = retirements(in_force, {i: (country, networks[i]) for i in ids})
        how = procedures.for_lookup(session, country, request[1] if request else None, tier)

    results = []
    for row in rows:
        authority = row[0]
        reasons = {name for (name, _, _), flag in zip(clauses, row[1:], strict=True) if flag}
        applicable = [n for n in notes if _applies(n, authority.id, country, networks[authority.id])]
        applicable.sort(key=lambda n: (URGENCY_ORDER[n.urgency] if query.urgent else 0, n.effective_from))
        shown = [note for note in (represent("emergency_note", n, tier) for n in applicable) if note is not None]
        visible = represent("authority", authority, tier)
        record, points, left_out = without_retired(visible, contact_points.get(authority.id, []),
                                                   retired[authority.id])
        results.append({
            "authority": record,
            "matched": _matched(ctx, authority.body, reasons, crime, request[0] if request else None),
            "networks": networks[authority.id],
            "contact_points": points,
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


def _rank_clauses(ctx: Context, a, crime: str | None, request: str | None) -> list[tuple[str, object, int]]:
    """(reason, SQL condition, weight) of each reason to rank an authority higher, strongest first.

    The central authority designated for the request type (or for a broader one: "mla" covers
    "mla.search_and_seizure") comes first, as requests go through it; then an authority designated
    competent for the measure; then competence for the crime; then handling the whole request type,
    and last handling only some forms of it (one MLA measure is not "MLA"). The weights are powers of
    two, so a stronger reason outranks every combination of weaker ones."""
    clauses = []
    if request:
        vocabulary = ctx.taxonomy.request_types
        covering = [request, *vocabulary.ancestors(request)]
        clauses += [("central_authority", has_term(a, "central_authority", covering), 16),
                    ("competent_authority", has_term(a, "competent_authority", covering), 8)]
    if crime:
        clauses.append(("crime_type", has_term(a, "crime_type", [crime]), 4))
    if request:
        clauses.append(("request_type", has_term(a, "request_type", covering), 2))
        if narrower := vocabulary.descendants(request):
            clauses.append(("part_of_request_type", has_term(a, "request_type", narrower), 1))
    return clauses


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


def _contact_points(session, authority_ids, on, tier: Tier, urgent: bool) -> tuple[dict, dict]:
    """The current contact points of each authority as `tier` sees them, and how many the tier
    withholds: whole contact points, and the names and direct lines of persons."""
    cp = models.ContactPoint
    if not authority_ids:
        return {}, {}
    current = (cp.deleted.is_(False), cp.authority_id.in_(authority_ids), current_on(on))
    if not can_see("contact_point", {}, tier):
        counts = session.execute(select(cp.authority_id, func.count()).where(*current).group_by(cp.authority_id))
        return {}, {authority_id: {"contact_points": n, "contact_persons": 0} for authority_id, n in counts}
    order = [cp.authority_id]
    if urgent:
        order.append(cp.available_24_7.desc())
    order += [cp.kind != "person", cp.id]
    rows = session.scalars(select(cp).where(*current).order_by(*order))
    shown = defaultdict(list)
    withheld = defaultdict(lambda: {"contact_points": 0, "contact_persons": 0})
    for row in rows:
        record = represent("contact_point", row, tier)
        if "person" in row.body and "person" not in record:
            withheld[row.authority_id]["contact_persons"] += 1
        shown[row.authority_id].append(record)
    return shown, withheld


def _notes(session, country, authority_ids, networks, on) -> list:
    """Every note in force for the authorities, their country or their networks, at every tier: the
    asked crime and request type choose those shown (the caller's tier decides which, and counts the
    rest), and any of them may retire a channel."""
    n = models.EmergencyNote
    network_codes = sorted({code for codes in networks.values() for code in codes})
    scope = or_(n.scope_country == country, n.scope_authority_id.in_(authority_ids),
                n.scope_network.in_(network_codes))
    return list(session.scalars(select(n).where(n.deleted.is_(False), scope, in_force_on(on)).order_by(n.id)))


def _applies(note: models.EmergencyNote, authority_id: str, country: str, networks: list[str]) -> bool:
    return (note.scope_country == country or note.scope_authority_id == authority_id
            or note.scope_network in networks)
