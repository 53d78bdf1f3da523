"""Emergency-procedure notes: which are in force on a day, for a country, authority or network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import not_, or_, select

from registry import models
from registry.context import Context
from registry.permissions import Caller
from registry.services import Page, PageResult, filters, search, today
from registry.services.queries import has_facet, in_force, in_rank_order, paginate
from registry.services.records import read_record, represent
from registry.visibility import Tier, visible_tiers


@dataclass(frozen=True)
class NoteFilters:
    country: str | None = None
    authority: str | None = None
    network: str | None = None
    in_force: bool | None = None
    on: date | None = None
    q: str | None = None


def in_force_on(on: date):
    return in_force(models.EmergencyNote, "effective_from", "effective_until", on)


def visible_to(tier: Tier):
    return models.EmergencyNote.visibility.in_(visible_tiers(tier))


def retired_channels(session, authorities: dict[str, tuple[str, list[str]]], on: date) -> dict[str, dict]:
    """For each authority id (mapped to its country and network codes), the channels that a note in
    force for it, its country or one of its networks says are not read: {(kind, value): note id}.

    Whoever may read the authority must not be offered a dead channel, so every note counts here,
    whatever its visibility."""
    if not authorities:
        return {}
    n = models.EmergencyNote
    countries = {country for country, _ in authorities.values()}
    network_codes = {code for _, codes in authorities.values() for code in codes}
    scope = or_(n.scope_country.in_(countries), n.scope_authority_id.in_(list(authorities)),
                n.scope_network.in_(network_codes))
    notes = session.scalars(select(n).where(n.deleted.is_(False), scope, in_force_on(on),
                                            has_facet(n, "retires_channel")).order_by(n.id))
    return retirements(notes, authorities)


def retirements(notes, authorities: dict[str, tuple[str, list[str]]]) -> dict[str, dict]:
    """What `retired_channels` answers, from notes in force already read (others are ignored)."""
    out: dict[str, dict] = {authority_id: {} for authority_id in authorities}
    for note in notes:
        channels = note.body.get("retires_channels")
        if not channels:
            continue
        for authority_id, (country, codes) in authorities.items():
            if note.scope_authority_id == authority_id or note.scope_country == country or note.scope_network in codes:
                for channel in channels:
                    out[authority_id].setdefault((channel["kind"], channel["value"]), note.id)
    return out


def concerns(note: models.EmergencyNote, crime_type: str | None, request_types: set[str] | None) -> bool:
    """Whether a note speaks to the asked crime and request type: one without crime (request) types
    applies to every crime (request) type."""
    crimes, requests = note.body.get("crime_types"), note.body.get("request_types")
    return ((not crime_type or not crimes or crime_type in crimes)
            and (not request_types or not requests or bool(request_types.intersection(requests))))


def without_retired(authority: dict, contact_points: list[dict], retired: dict) -> tuple[dict, list[dict], list[dict]]:
    """The authority and its contact points without the retired channels, and what was left out
    ({kind, value, note_id}): an authority's channel, or a contact point's e-mail or phone."""
    if not retired:
        return authority, contact_points, []
    left_out = []

    def keep(kind: str, value: str) -> bool:
        note_id = retired.get((kind, value))
        if note_id is None:
            return True
        if not any(item["value"] == value and item["kind"] == kind for item in left_out):
            left_out.append({"kind": kind, "value": value, "note_id": note_id})
        return False

    authority = {**authority, "channels": [c for c in authority.get("channels", []) if keep(c["kind"], c["value"])]}
    points = []
    for point in contact_points:
        point = {k: v for k, v in point.items() if k not in ("email", "phone") or keep(k, v)}
        if "person" in point:
            point["person"] = {k: v for k, v in point["person"].items()
                               if k not in ("email", "phone") or keep(k, v)}
        points.append(point)
    return authority, points, left_out


def list_notes(ctx: Context, wanted: NoteFilters, page: Page, tier: Tier) -> PageResult:
    n = models.EmergencyNote
    query = select(n).where(n.deleted.is_(False), visible_to(tier))
    if (country := filters.country(ctx, wanted.country)) is not None:
        authorities = select(models.Authority.id).where(models.Authority.country == country)
        query = query.where(or_(n.scope_country == country, n.scope_authority_id.in_(authorities)))
    if wanted.authority is not None:
        query = query.where(n.scope_authority_id == wanted.authority)
    if (network := filters.network(ctx, wanted.network)) is not None:
        query = query.where(n.scope_network == network)
    # A date alone asks "what was (or will be) in force then".
    wanted_in_force = True if wanted.in_force is None and wanted.on is not None else wanted.in_force
    if wanted_in_force is not None:
        clause = in_force_on(wanted.on or today())
        query = query.where(clause if wanted_in_force else not_(clause))
    if wanted.q is not None:
        ranked = search.ranked_ids(ctx, wanted.q, ("emergency_note",), tier)
        query = query.where(n.id.in_(ranked)).order_by(in_rank_order(n.id, ranked))
    query = query.order_by(n.effective_from.desc(), n.id)
    with ctx.db.read() as session:
        return paginate(session, query, page, lambda row: represent("emergency_note", row, tier))


def get_note(ctx: Context, note_id: str, caller: Caller) -> dict:
    with ctx.db.read() as session:
        return read_record(session, "emergency_note", note_id, caller)
