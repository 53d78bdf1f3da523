"""Coverage gaps a network's editors must see: a note in force that sends people to a kind of
contact point ("any CASC 24/7 contact point") while a country it covers has none.

A note says which kind it refers to in `refers_to_role`. A network-wide note covers the countries of
the network's member authorities and needs a contact point holding that role in the network; a
country or authority note needs one of that role in any network, in the country or at the authority.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from registry import models
from registry.context import Context
from registry.permissions import Caller, require
from registry.services import today
from registry.services.contact_points import current_on
from registry.services.emergency_notes import in_force_on
from registry.services.networks import get_network
from registry.services.queries import has_facet, has_term


def gaps(ctx: Context, network: str, caller: Caller, on: date | None = None) -> dict:
    """Every note in force for the network, its member authorities or their countries that refers to a
    kind of contact point, with the countries (or the authority) that have none: a network's editors'
    view (publish:<network>)."""
    code = get_network(ctx, network, caller)["code"]  # 404 for a network this node does not hold
    require(caller, "network:review", network=code)
    on = on or today()
    a, n, cp = models.Authority, models.EmergencyNote, models.ContactPoint
    with ctx.db.read() as session:
        members = dict(session.execute(
            select(a.id, a.country).join(models.NetworkMember, models.NetworkMember.authority_id == a.id)
            .where(models.NetworkMember.network_code == code, a.deleted.is_(False))).all())
        countries = set(members.values())
        notes = session.scalars(select(n).where(
            n.deleted.is_(False), in_force_on(on), has_facet(n, "refers_to_role"),
            or_(n.scope_network == code, n.scope_country.in_(countries), n.scope_authority_id.in_(list(members))),
        ).order_by(n.id)).all()

        def covered(role: str, in_network: str | None, authority_ids) -> set[str]:
            """Countries (of `authority_ids`) with a current contact point holding `role`."""
            term = (has_term(cp, "network_role", [f"{in_network}:{role}"]) if in_network
                    else has_term(cp, "role", [role]))
            found = select(a.country).join(cp, cp.authority_id == a.id).where(
                cp.deleted.is_(False), current_on(on), term, a.id.in_(list(authority_ids)))
            return set(session.scalars(found))

        out = []
        for note in notes:
            role = note.body["refers_to_role"]
            if note.scope_network:
                scope_ids, needed, in_network = members, countries, note.scope_network
            elif note.scope_country:
                scope_ids = _authorities_of(session, note.scope_country)
                needed, in_network = {note.scope_country}, None
            else:
                scope_ids, in_network = [note.scope_authority_id], None
                needed = {members.get(note.scope_authority_id) or _country_of(session, note.scope_authority_id)}
            missing = sorted(needed - covered(role, in_network, scope_ids))
            out.append({
                "note_id": note.id,
                "title": note.body["title"],
                "scope": note.body["scope"],
                "refers_to_role": role,
                "network": in_network,
                "missing": [{"country": c, "name": ctx.taxonomy.countries.get(c).name} for c in missing],
            })
    return {"network": code, "date": on.isoformat(), "notes": out}


def _authorities_of(session, country: str) -> list[str]:
    a = models.Authority
    return list(session.scalars(select(a.id).where(a.country == country, a.deleted.is_(False))))


def _country_of(session, authority_id: str) -> str | None:
    return session.scalar(select(models.Authority.country).where(models.Authority.id == authority_id))
