"""schema.org JSON-LD: an authority as a GovernmentOrganization, a contact point as a ContactPoint,
a network as an Organization with its members.

Names and positions are language-tagged values ({"@value", "@language"}), so a consumer picks its
language. Node ids are the records' API URLs on this node; `identifier` is the record id, the same on
every node. Weekly hours become OpeningHoursSpecification in the contact point's local time (schema.org
has no time-zone property for them: the zone is in their description); 24/7 is every day 00:00–23:59.
"""

from __future__ import annotations

import orjson

from registry.context import Context
from registry.exports import (
    CHANNEL_LABELS,
    JSON_LD,
    WEEKDAYS,
    AuthorityEntry,
    Export,
    authority_entry,
    contact_point_with_authority,
    country_name,
    record_url,
    role_text,
    walk_authorities,
)
from registry.permissions import Caller
from registry.services import networks
from registry.services.authorities import AuthorityFilters

CONTEXT = "https://schema.org"
DAYS = {day: f"https://schema.org/{name}" for day, name in zip(
    WEEKDAYS, ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], strict=True)}


def language_values(texts: dict[str, str] | None) -> list[dict]:
    return [{"@value": text, "@language": language} for language, text in (texts or {}).items()]


def _compact(node: dict) -> dict:
    """The node without empty properties (a field the tier hides leaves no empty key behind)."""
    return {key: value for key, value in node.items() if value not in (None, "", [], {})}


def country_node(ctx: Context, code: str | None) -> dict | None:
    if not code:
        return None
    return {"@type": "Country", "identifier": code, "name": country_name(ctx, code)}


def network_reference(ctx: Context, code: str, names: dict[str, str]) -> dict:
    return {"@type": "Organization", "@id": record_url(ctx, "networks", code), "identifier": code,
            "name": language_values(names)}


def opening_hours(hours: dict | None) -> list[dict]:
    if not hours:
        return []
    where = f"Local time in {hours['time_zone']}"
    if hours.get("always"):
        return [{"@type": "OpeningHoursSpecification", "dayOfWeek": list(DAYS.values()), "opens": "00:00",
                 "closes": "23:59", "description": where}]
    return [{"@type": "OpeningHoursSpecification", "dayOfWeek": [DAYS[d] for d in slot["days"]],
             "opens": slot["opens"], "closes": slot["closes"], "description": where}
            for slot in hours.get("weekly", [])]


def publisher(ctx: Context, record: dict) -> dict:
    """The network whose secretariat publishes the record (schema.org's publisher of the data)."""
    return {"@type": "Organization", "@id": record_url(ctx, "networks", record["owner_network"]),
            "identifier": record["owner_network"]}


def contact_point_node(ctx: Context, contact_point: dict, authority: dict | None) -> dict:
    person = contact_point.get("person") or {}
    # The best name the tier shows: the person's (restricted), else the position held.
    name, description = ((person["name"], language_values(contact_point["position"])) if person.get("name")
                         else (language_values(contact_point["position"]), None))
    return _compact({
        "@type": "ContactPoint",
        "@id": record_url(ctx, "contact-points", contact_point["id"]),
        "identifier": contact_point["id"],
        "name": name,
        "description": description,
        "contactType": [role_text(role) for role in contact_point.get("roles", [])],
        "availableLanguage": contact_point.get("languages", []),
        "hoursAvailable": opening_hours(contact_point.get("hours")),
        "areaServed": country_node(ctx, authority.get("country")) if authority else None,
        "email": [e for e in (person.get("email"), contact_point.get("email")) if e],
        "telephone": [t for t in (person.get("phone"), contact_point.get("phone")) if t],
        "dateModified": contact_point["updated_at"],
        "sdPublisher": publisher(ctx, contact_point),
    })


def authority_node(ctx: Context, entry: AuthorityEntry) -> dict:
    authority = entry.authority
    channels = authority.get("channels", [])

    def values(kind: str) -> list[str]:
        return [c["value"] for c in channels if c["kind"] == kind]

    # Channels with no schema.org property of their own (a secure platform, the diplomatic route)
    # are contact points of their kind.
    other_channels = [_compact({"@type": "ContactPoint", "contactType": CHANNEL_LABELS[c["kind"]],
                                "description": c["value"], "disambiguatingDescription": c.get("note")})
                      for c in channels if c["kind"] in CHANNEL_LABELS]
    address = authority.get("address")
    return _compact({
        "@type": "GovernmentOrganization",
        "@id": record_url(ctx, "authorities", authority["id"]),
        "identifier": authority["id"],
        "name": language_values(authority["names"]),
        "alternateName": authority.get("acronym"),
        "url": authority.get("website"),
        "sameAs": authority.get("same_as", []),
        "address": _compact({
            "@type": "PostalAddress", "streetAddress": address.get("street"), "addressLocality": address["locality"],
            "addressRegion": address.get("region"), "postalCode": address.get("postal_code"),
            "addressCountry": authority.get("country"),
        }) if address else None,
        "areaServed": country_node(ctx, authority.get("country")),
        "knowsLanguage": authority.get("languages", []),
        "email": values("email"),
        "telephone": values("phone"),
        "faxNumber": values("fax"),
        "contactPoint": [contact_point_node(ctx, cp, authority) for cp in entry.contact_points] + other_channels,
        "memberOf": [network_reference(ctx, n["code"], n["names"]) for n in entry.networks],
        "dateModified": authority["updated_at"],
        "sdPublisher": publisher(ctx, authority),
    })


def network_node(ctx: Context, network: dict, members: list[dict]) -> dict:
    return _compact({
        **network_reference(ctx, network["code"], network["names"]),
        "alternateName": network.get("acronym"),
        "url": network.get("website"),
        "description": language_values(network.get("description")),
        "member": members,
        "dateModified": network["updated_at"],
    })


def _export(node: dict) -> Export:
    return Export(JSON_LD, orjson.dumps({"@context": CONTEXT, **node}).decode())


def authority(ctx: Context, authority_id: str, caller: Caller) -> Export:
    return _export(authority_node(ctx, authority_entry(ctx, authority_id, caller)))


def contact_point(ctx: Context, contact_point_id: str, caller: Caller) -> Export:
    record, parent = contact_point_with_authority(ctx, contact_point_id, caller)
    return _export(contact_point_node(ctx, record, parent))


def network(ctx: Context, code: str, caller: Caller) -> Export:
    """The network with every member authority `/authorities?network=` lists, each with its contact
    points that hold a role in the network. One document, so built whole: a network is the size of
    its member list."""
    record = networks.get_network(ctx, code, caller)
    entries = walk_authorities(ctx, AuthorityFilters(network=record["code"]), caller.tier, network=record["code"])
    return _export(network_node(ctx, record, [authority_node(ctx, entry) for entry in entries]))

