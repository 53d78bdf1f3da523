"""The search document of a record: what every backend indexes, built in one place.

Text is split by visibility tier using `visibility.redact`, the same policy every response goes
through, so a backend can match a caller's words only against what that caller may see: `names`
are the record's names at its lowest visible tier (`min_tier`), and `text[t]` is the other text
tier t shows beyond the tiers below it (a contact point, seen from the partner tier up, has an
empty `text[PUBLIC]`). A contact point carries its authority's country,
competences and request types, and an authority its networks; `dependents` names the documents a
write makes stale.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from registry import models
from registry.db import id_chunks
from registry.record_types import parse_date
from registry.search.text import indexable
from registry.taxonomy import fold
from registry.visibility import Tier, redact

# The record types search covers (networks are few and listed at /networks).
SEARCHED_TYPES = ("authority", "contact_point", "emergency_note")
# Multi-valued filters and facets, beside `type` and `country`.
FACETS = ("network", "crime_type", "request_type", "language")
# Facet counts returned beside the results (language is a filter only).
COUNTED_FACETS = ("network", "crime_type", "request_type")
# Facets where a document without any value applies to every value (a note for all crimes).
APPLIES_TO_ALL_WHEN_ABSENT = ("crime_type", "request_type")


@dataclass
class SearchDocument:
    id: str
    type: str
    origin: str
    min_tier: Tier
    country: str | None
    authority_id: str | None
    kind: str | None
    # the record applies from .. until (contact points' validity, notes' effective dates)
    valid_from: date | None
    valid_until: date | None
    names: str
    # tier -> the text that tier adds (transliterations included)
    text: dict[Tier, str]
    facets: set[tuple[str, str]] = field(default_factory=set)

    @property
    def sort_name(self) -> str:
        """Orders documents of equal score: the first name, folded."""
        return fold(self.names.partition("\n")[0])[:200]

    @property
    def facet_values(self) -> str:
        """The counted facets as one string of `facet=value` words, for counting them in one pass over the
        matches; a search concatenates the strings of every match, so the facets that are never counted
        (language) are left out."""
        return " ".join(f"{facet}={value}" for facet, value in sorted(self.facets) if facet in COUNTED_FACETS)


def _localized(value: dict | None) -> list[str]:
    return list((value or {}).values())


def _strings(record_type: str, body: dict) -> tuple[list[str], list[str]]:
    """(names, other text) of a body as one tier sees it."""
    if record_type == "authority":
        names = _localized(body.get("names")) + [body.get("acronym")]
        text = _localized(body.get("address"))
        for channel in body.get("channels", []):
            text += [channel.get("value"), channel.get("note")]
        return names, text
    if record_type == "contact_point":
        person = body.get("person") or {}
        text = [person.get("name"), person.get("email"), person.get("phone"), body.get("email"), body.get("phone")]
        return _localized(body.get("position")), text
    if record_type == "emergency_note":
        return _localized(body.get("title")), _localized(body.get("body"))
    raise ValueError(f"{record_type} is not searched")


def _split_by_tier(record_type: str, body: dict) -> tuple[Tier, list[str], dict[Tier, list[str]]]:
    """The record's lowest visible tier, its names there, and the text each tier adds."""
    seen_names: Counter = Counter()
    seen_text: Counter = Counter()
    min_tier = None
    names: list[str] = []
    added: dict[Tier, list[str]] = {t: [] for t in Tier}
    for tier in Tier:
        visible = redact(record_type, body, tier)
        if visible is None:
            continue
        tier_names, tier_text = (list(filter(None, strings)) for strings in _strings(record_type, visible))
        new_names = list((Counter(tier_names) - seen_names).elements())
        new_text = list((Counter(tier_text) - seen_text).elements())
        seen_names.update(new_names)
        seen_text.update(new_text)
        if min_tier is None:
            min_tier = tier
            names = new_names
        else:
            added[tier] += new_names
        added[tier] += new_text
    return min_tier, names, added


def build(session: Session, record_type: str, row) -> SearchDocument | None:
    """The document of a live record (None for a tombstone or a type search does not cover)."""
    if row.deleted or record_type not in SEARCHED_TYPES:
        return None
    body = row.body
    min_tier, names, added = _split_by_tier(record_type, body)
    if min_tier is None:
        return None
    facets: set[tuple[str, str]] = set()
    country = authority_id = None
    valid_from = valid_until = None
    if record_type == "authority":
        country = body["country"]
        facets |= {("crime_type", c) for c in body["competences"]}
        facets |= {("request_type", r) for r in body["request_types"]}
        facets |= {("language", tag.lower()) for tag in body["languages"]}
        facets |= {("network", code) for code in member_networks(session, row.id)}
    elif record_type == "contact_point":
        authority_id = body["authority_id"]
        valid_from, valid_until = parse_date(body["valid_from"]), parse_date(body.get("valid_until"))
        facets |= {("network", role["network"]) for role in body["roles"]}
        facets |= {("language", tag.lower()) for tag in body["languages"]}
        authority = session.get(models.Authority, authority_id)
        if authority is not None and not authority.deleted:
            country = authority.country
            facets |= {("crime_type", c) for c in authority.body["competences"]}
            facets |= {("request_type", r) for r in authority.body["request_types"]}
            # Context at the contact point's own tier: "Ibraimov GPO" finds him.
            added[min_tier] += [authority.body["names"].get("en"), authority.body.get("acronym")]
    else:
        scope = body["scope"]
        authority_id = scope.get("authority_id")
        country = scope.get("country")
        if country is None and authority_id:
            country = session.scalar(select(models.Authority.country).where(models.Authority.id == authority_id))
        if scope.get("network"):
            facets.add(("network", scope["network"]))
        facets |= {("crime_type", c) for c in body.get("crime_types", [])}
        facets |= {("request_type", r) for r in body.get("request_types", [])}
        valid_from, valid_until = parse_date(body["effective_from"]), parse_date(body.get("effective_until"))
    return SearchDocument(
        id=row.id, type=record_type, origin=row.origin, min_tier=min_tier, country=country,
        authority_id=authority_id, kind=body.get("kind"), valid_from=valid_from, valid_until=valid_until,
        names=indexable(names), text={t: indexable(filter(None, added[t])) for t in Tier}, facets=facets,
    )


MEMBER_NETWORKS = "registry_member_networks"


def member_networks(session: Session, authority_id: str) -> frozenset[str]:
    """The codes of the networks `authority_id` is a member of, read once per session until the single write
    path changes their networks' members (`move_member_networks`)."""
    known = session.info.setdefault(MEMBER_NETWORKS, {})
    if authority_id not in known:
        member = models.NetworkMember
        known[authority_id] = frozenset(session.scalars(select(member.network_code)
                                                        .where(member.authority_id == authority_id)))
    return known[authority_id]


def move_member_networks(session: Session, network_code: str, former: dict[str, str], current: set[str]) -> None:
    """Bring what was read of the authorities' networks up to date once a network's members are replaced:
    `former` maps each member before to the code it was listed under, `current` are the members now,
    listed under `network_code`. Authorities not read yet are read when asked, members included."""
    known = session.info.get(MEMBER_NETWORKS)
    if not known:
        return
    for authority_id in former.keys() | current:
        if authority_id in known:
            codes = known[authority_id] - {former.get(authority_id)}
            known[authority_id] = codes | {network_code} if authority_id in current else codes


# Built once: the write path asks them of every batch.
_MEMBER_NETWORKS_OF = select(models.NetworkMember.authority_id, models.NetworkMember.network_code).where(
    models.NetworkMember.authority_id.in_(bindparam("ids")))
_AUTHORITY_DEPENDENTS = union_all(
    select(literal("contact_point"), models.ContactPoint.id)
    .where(models.ContactPoint.authority_id.in_(bindparam("ids"))),
    select(literal("emergency_note"), models.EmergencyNote.id)
    .where(models.EmergencyNote.scope_authority_id.in_(bindparam("ids"))),
)


def know_member_networks(session: Session, authority_ids) -> None:
    """Read the networks of many authorities at once into what `member_networks` answers from."""
    known = session.info.setdefault(MEMBER_NETWORKS, {})
    missing = sorted({i for i in authority_ids if i not in known})
    for chunk in id_chunks(missing):
        found: dict[str, set[str]] = {i: set() for i in chunk}
        for authority_id, code in session.execute(_MEMBER_NETWORKS_OF, {"ids": chunk}):
            found[authority_id].add(code)
        known |= {i: frozenset(codes) for i, codes in found.items()}


def dependents(session: Session, written: list[tuple[str, object, set[str]]]) -> list[tuple[str, str]]:
    """(type, id) of the other documents built from the written records, given as (type, row, the ids of
    the authorities that were members before) for networks: an authority's contact points and the notes
    scoped to it; a network's members, past and present. Each once, in the order first named."""
    authorities = list(dict.fromkeys(row.id for record_type, row, _ in written if record_type == "authority"))
    networks = [(row.id, former) for record_type, row, former in written if record_type == "network"]
    found: dict[tuple[str, str], None] = {}
    for chunk in id_chunks(authorities):
        found |= dict.fromkeys(tuple(dependent) for dependent in session.execute(_AUTHORITY_DEPENDENTS, {"ids": chunk}))
    member = models.NetworkMember
    for network_id, former in networks:
        current = set(session.scalars(select(member.authority_id).where(member.network_id == network_id)))
        found |= dict.fromkeys(("authority", i) for i in sorted(current | set(former)))
    return list(found)
