"""vCard 4.0 (RFC 6350): a contact point, an authority with its contact points, and a country's or
a network's authorities with theirs, each record one card, so that an address book imports them all.

Written here rather than with `vobject`, which serializes vCard 3.0: lines are folded at 75 octets
without splitting a UTF-8 sequence, end in CRLF, and text values escape backslash, comma, semicolon
and newlines (§3.2, §3.4). Every card has a UID derived from the record id (the same on every node),
REV (`updated_at`), SOURCE (where to fetch the card again) and X-REGISTRY-ORIGIN / X-REGISTRY-ID /
X-REGISTRY-OWNER-NETWORK (the network whose secretariat publishes the record).

How the cards refer to one another: RFC 6350 allows MEMBER only on a KIND:group card (§6.6.5), so an
authority (KIND:org) names its contact points with RELATED;TYPE=contact, a contact point names its
authority with ORG and RELATED, and a network export ends with the network as a KIND:group card
whose MEMBERs are the authorities in the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime

from registry.context import Context
from registry.exports import (
    CHANNEL_LABELS,
    VCARD,
    AuthorityEntry,
    Export,
    authority_entry,
    contact_point_with_authority,
    country_name,
    file_name,
    hours_text,
    localized,
    record_uid,
    record_url,
    role_text,
    walk_authorities,
)
from registry.permissions import Caller
from registry.services import countries, networks
from registry.services.authorities import AuthorityFilters

MEDIA_TYPE = f"{VCARD}; charset=utf-8"
CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//contact-point-registry//vCard export//EN"
PHONE = re.compile(r"\+[1-9][0-9 ()-]{5,24}")
AUTHORITY_KINDS = {"fiu": "financial intelligence unit", "anti_corruption_body": "anti-corruption body"}


# --- Serialization -----------------------------------------------------------------------------------

def escape(text: str) -> str:
    """A TEXT value (§3.4): backslash, comma, semicolon and newlines escaped; other control characters,
    which no vCard value may hold, dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\t\n" or unicodedata.category(c) != "Cc")
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def uri(value: str) -> str:
    """A URI value: not escaped (§3.4 is for text), but a control character would end the line and
    start a property of the sender's choosing, so it is percent-encoded."""
    return "".join(f"%{ord(c):02X}" if unicodedata.category(c) == "Cc" else c for c in value)


def fold(line: str) -> str:
    """The content line cut into lines of at most 75 octets, each continuation starting with a space
    (§3.2); a cut never falls inside a UTF-8 sequence."""
    data = line.encode()
    parts, start, room = [], 0, LINE_OCTETS
    while len(data) - start > room:
        end = start + room
        while data[end] & 0xC0 == 0x80:  # a continuation byte: cut before its sequence starts
            end -= 1
        parts.append(data[start:end].decode())
        start, room = end, LINE_OCTETS - 1
    parts.append(data[start:].decode())
    return (CRLF + " ").join(parts) + CRLF


class Card:
    """One vCard, built property by property."""

    def __init__(self, kind: str):
        self.lines = ["BEGIN:VCARD", "VERSION:4.0", f"PRODID:{PRODID}", f"KIND:{kind}"]

    def text(self, name: str, content: str, **params) -> None:
        if content:
            self._add(name, escape(content), params)

    def compound(self, name: str, components: list[str], **params) -> None:
        """A structured value (ORG, ADR): components separated by semicolons, each escaped."""
        if any(components):
            self._add(name, ";".join(escape(c or "") for c in components), params)

    def uri(self, name: str, content: str, **params) -> None:
        if content:
            self._add(name, uri(content), params)

    def localized(self, name: str, texts: dict[str, str], altid: str) -> None:
        """One property in several languages: alternatives of one another (ALTID), English first."""
        languages = sorted(texts, key=lambda language: language != "en")
        for language in languages:
            params = {"altid": altid, "language": language} if len(languages) > 1 else {"language": language}
            self.text(name, texts[language], **params)

    def telephone(self, number: str, kinds: list[str]) -> None:
        """TEL as a tel: URI (RFC 3966: spaces become dashes) when it is an international number, else as text."""
        if PHONE.fullmatch(number):
            self.uri("TEL", "tel:" + number.replace(" ", "-"), value="uri", type=kinds)
        else:
            self.text("TEL", number, type=kinds)

    def identify(self, record: dict, source: str) -> None:
        """What every card carries: UID, REV, SOURCE (where to fetch the card again), the record's id, origin
        and the network whose secretariat publishes it."""
        self.uri("UID", record_uid(record["id"]))
        self._add("REV", datetime.fromisoformat(record["updated_at"]).strftime("%Y%m%dT%H%M%SZ"), {})
        self.uri("SOURCE", source)
        self.text("X-REGISTRY-ID", record["id"])
        self.text("X-REGISTRY-ORIGIN", record["origin"])
        self.text("X-REGISTRY-OWNER-NETWORK", record["owner_network"])

    def _add(self, name: str, value: str, params: dict) -> None:
        head = name + "".join(f";{key.upper()}={_parameter(v)}" for key, v in params.items())
        self.lines.append(f"{head}:{value}")

    def serialize(self) -> str:
        return "".join(fold(line) for line in [*self.lines, "END:VCARD"])


def _parameter(value) -> str:
    """A parameter's value, or its values separated by commas (TYPE=work,voice)."""
    if isinstance(value, list):
        return ",".join(_parameter(v) for v in value)
    # The values here are language tags, numbers and fixed words; one holding a separator is quoted (§5).
    value = str(value)
    return f'"{value}"' if any(c in value for c in ':;,') else value


# --- Records as cards --------------------------------------------------------------------------------

def authority_card(ctx: Context, entry: AuthorityEntry) -> str:
    authority = entry.authority
    card = Card("org")
    card.localized("FN", authority["names"], altid="1")
    card.compound("ORG", [localized(authority["names"])])
    card.text("NICKNAME", authority.get("acronym", ""))
    kind = authority.get("kind", "")
    card.text("CATEGORIES", AUTHORITY_KINDS.get(kind, kind.replace("_", " ")))
    address = authority.get("address") or {}
    card.compound("ADR", ["", "", address.get("street", ""), address.get("locality", ""), address.get("region", ""),
                          address.get("postal_code", ""), country_name(ctx, authority.get("country"))])
    notes = []
    for channel in authority.get("channels", []):
        if channel["kind"] == "email":
            card.text("EMAIL", channel["value"], type="work")
        elif channel["kind"] in ("phone", "fax"):
            card.telephone(channel["value"], ["work", "voice" if channel["kind"] == "phone" else "fax"])
        else:
            notes.append(f"{CHANNEL_LABELS[channel['kind']]}: {channel['value']}")
        if channel.get("note"):
            notes.append(f"{channel['value']}: {channel['note']}")
    card.uri("URL", authority.get("website", ""))
    for pref, language in enumerate(authority.get("languages", []), start=1):
        card.text("LANG", language, pref=pref)
    for network in entry.networks:
        notes.append(f"Member of {localized(network['names'])} ({network['code']})")
    card.text("NOTE", "\n".join(notes))
    for contact_point in entry.contact_points:
        card.uri("RELATED", record_uid(contact_point["id"]), type="contact")
    card.identify(authority, record_url(ctx, "authorities", authority["id"], ".vcf"))
    return card.serialize()


def contact_point_card(ctx: Context, contact_point: dict, authority: dict | None) -> str:
    person = contact_point.get("person") or {}
    position = contact_point["position"]
    card = Card("individual" if contact_point["kind"] == "person" else "org")
    if person.get("name"):
        card.text("FN", person["name"])
        card.localized("TITLE", position, altid="1")
    else:
        # Below the restricted tier a person's card is known by the position it holds.
        card.localized("FN", position, altid="1")
    if authority is not None:
        units = [localized(position)] if contact_point["kind"] == "function" else []
        card.compound("ORG", [localized(authority["names"]), *units])
        card.uri("RELATED", record_uid(authority["id"]))
    for role in contact_point.get("roles", []):
        card.text("ROLE", role_text(role))
    card.text("EMAIL", person.get("email", ""), type="work", pref=1)
    card.text("EMAIL", contact_point.get("email", ""), type="work")
    if person.get("phone"):
        card.telephone(person["phone"], ["work", "voice"])
    if contact_point.get("phone"):
        card.telephone(contact_point["phone"], ["work", "voice"])
    for pref, language in enumerate(contact_point.get("languages", []), start=1):
        card.text("LANG", language, pref=pref)
    hours = contact_point.get("hours") or {}
    card.text("TZ", hours.get("time_zone", ""))
    notes = [f"Hours: {hours_text(hours)}"] if hours else []
    if platform := contact_point.get("secure_platform"):
        notes.append(f"Secure platform: {platform['platform']}, handle {platform['handle']}")
    if contact_point.get("valid_until"):
        notes.append(f"In post until {contact_point['valid_until']}")
    card.text("NOTE", "\n".join(notes))
    card.identify(contact_point, record_url(ctx, "contact-points", contact_point["id"], ".vcf"))
    return card.serialize()


def network_card(ctx: Context, network: dict, member_uids: list[str]) -> str:
    card = Card("group")
    card.localized("FN", network["names"], altid="1")
    card.text("NICKNAME", network.get("acronym", ""))
    card.uri("URL", network.get("website", ""))
    card.text("NOTE", localized(network.get("description")))
    for member in member_uids:
        card.uri("MEMBER", member)
    # A network's cards are fetched at its code, not its record id.
    card.identify(network, record_url(ctx, "networks", network["code"], ".vcf"))
    return card.serialize()


def entry_cards(ctx: Context, entry: AuthorityEntry) -> Iterator[str]:
    yield authority_card(ctx, entry)
    for contact_point in entry.contact_points:
        yield contact_point_card(ctx, contact_point, entry.authority)


# --- Exports -----------------------------------------------------------------------------------------

def contact_point(ctx: Context, contact_point_id: str, caller: Caller) -> Export:
    record, authority = contact_point_with_authority(ctx, contact_point_id, caller)
    return Export(MEDIA_TYPE, contact_point_card(ctx, record, authority), filename=file_name(record["id"]) + ".vcf")


def authority(ctx: Context, authority_id: str, caller: Caller) -> Export:
    entry = authority_entry(ctx, authority_id, caller)
    return Export(MEDIA_TYPE, "".join(entry_cards(ctx, entry)), filename=file_name(entry.authority["id"]) + ".vcf")


def country(ctx: Context, value: str, caller: Caller) -> Export:
    """Every authority of the country (as `/authorities?country=` lists them), each followed by its
    current contact points, streamed."""
    code = countries.get_country(ctx, value)["code"]
    entries = walk_authorities(ctx, AuthorityFilters(country=code), caller.tier)
    cards = (card for entry in entries for card in entry_cards(ctx, entry))
    return Export(MEDIA_TYPE, cards, filename=file_name("country", code) + ".vcf")


def network(ctx: Context, code: str, caller: Caller) -> Export:
    """Every member authority (as `/authorities?network=` lists them) with its contact points that
    hold a role in the network, streamed, then the network as a group of its members."""
    record = networks.get_network(ctx, code, caller)
    entries = walk_authorities(ctx, AuthorityFilters(network=record["code"]), caller.tier, network=record["code"])

    def cards() -> Iterator[str]:
        members = []
        for entry in entries:
            members.append(record_uid(entry.authority["id"]))
            yield from entry_cards(ctx, entry)
        yield network_card(ctx, record, members)

    return Export(MEDIA_TYPE, cards(), filename=file_name("network", record["code"]) + ".vcf")
