"""What a record body must satisfy beyond its JSON Schema: taxonomy codes, real time zones and
language tags, coherent dates, and references to records this node holds."""

from __future__ import annotations

import zoneinfo
from functools import cache

import langcodes
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import contracts, models
from registry.db import held_row
from registry.record_types import RECORD_TYPES
from registry.taxonomy import Taxonomy


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def body_errors(session: Session, taxonomy: Taxonomy, record_type: str, body: dict) -> list[dict]:
    errors = contracts.body_errors(record_type, body)
    if errors:
        return errors
    check = _CHECKS[record_type]
    return check(session, taxonomy, body)


def _codes(errors, path, values, vocabulary):
    for i, code in enumerate(values or []):
        if code not in vocabulary:
            errors.append({"path": f"{path}[{i}]", "message": f"{code!r} is not a known {vocabulary.kind} code"})


def _languages(errors, path, tags):
    for i, tag in enumerate(tags or []):
        if not langcodes.tag_is_valid(tag):
            errors.append({"path": f"{path}[{i}]", "message": f"{tag!r} is not a valid BCP 47 language tag"})


def _country(errors, path, code, taxonomy):
    if code is not None and taxonomy.countries.get(code) is None:
        errors.append({"path": path, "message": f"{code!r} is not an ISO 3166-1 alpha-2 country code"})


def _period(errors, body, start, end):
    if body.get(end) and body[end] < body[start]:
        errors.append({"path": f"$.{end}", "message": f"{end} is before {start}"})


def _live_authorities(session: Session, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    if len(ids) == 1:  # from the session's objects when it holds it (a write transaction's own)
        authority = held_row(session, models.Authority, ids[0])
        return {ids[0]} if authority is not None and not authority.deleted else set()
    query = select(models.Authority.id).where(models.Authority.id.in_(ids), models.Authority.deleted.is_(False))
    return set(session.scalars(query))


def _missing_authority(errors, path, authority_id):
    errors.append({"path": path, "message": f"no authority {authority_id!r} on this node"})


def _network(session, taxonomy, body):
    errors = []
    _codes(errors, "$.focus_crime_types", body.get("focus_crime_types"), taxonomy.crime_types)
    ids = [m["authority_id"] for m in body["members"]]
    live = _live_authorities(session, ids)
    seen = set()
    for i, authority_id in enumerate(ids):
        if authority_id not in live:
            _missing_authority(errors, f"$.members[{i}].authority_id", authority_id)
        if authority_id in seen:
            errors.append({"path": f"$.members[{i}]", "message": f"{authority_id!r} is listed twice"})
        seen.add(authority_id)
    return errors


def _authority(session, taxonomy, body):
    errors = []
    _country(errors, "$.country", body["country"], taxonomy)
    _codes(errors, "$.competences", body["competences"], taxonomy.crime_types)
    _codes(errors, "$.request_types", body["request_types"], taxonomy.request_types)
    for i, designation in enumerate(body.get("designations", [])):
        _codes(errors, f"$.designations[{i}].request_types", designation["request_types"], taxonomy.request_types)
    _languages(errors, "$.languages", body["languages"])
    for tag in body["names"]:
        if not langcodes.tag_is_valid(tag):
            errors.append({"path": f"$.names.{tag}", "message": f"{tag!r} is not a valid BCP 47 language tag"})
    return errors


def _contact_point(session, taxonomy, body):
    errors = []
    if not _live_authorities(session, [body["authority_id"]]):
        _missing_authority(errors, "$.authority_id", body["authority_id"])
    _languages(errors, "$.languages", body["languages"])
    time_zone = body["hours"]["time_zone"]
    if time_zone not in _time_zones():
        errors.append({"path": "$.hours.time_zone", "message": f"{time_zone!r} is not an IANA time zone"})
    for i, role in enumerate(body["roles"]):
        if role["role"] == "24_7" and not body["hours"].get("always"):
            errors.append({"path": f"$.roles[{i}]", "message": "a 24_7 role needs hours.always: true"})
    for i, slot in enumerate(body["hours"].get("weekly", [])):
        if slot["closes"] <= slot["opens"]:
            errors.append({"path": f"$.hours.weekly[{i}]", "message": "closes must be after opens"})
    _period(errors, body, "valid_from", "valid_until")
    return errors


def _emergency_note(session, taxonomy, body):
    errors = []
    scope = body["scope"]
    _country(errors, "$.scope.country", scope.get("country"), taxonomy)
    if "authority_id" in scope and not _live_authorities(session, [scope["authority_id"]]):
        _missing_authority(errors, "$.scope.authority_id", scope["authority_id"])
    if "network" in scope:
        known = session.scalar(select(models.Network.id).where(models.Network.code == scope["network"],
                                                               models.Network.deleted.is_(False)))
        if known is None:
            errors.append({"path": "$.scope.network", "message": f"no network {scope['network']!r} on this node"})
    _codes(errors, "$.crime_types", body.get("crime_types"), taxonomy.crime_types)
    _codes(errors, "$.request_types", body.get("request_types"), taxonomy.request_types)
    _period(errors, body, "effective_from", "effective_until")
    return errors


def _procedure(session, taxonomy, body):
    errors = []
    _country(errors, "$.country", body["country"], taxonomy)
    _codes(errors, "$.request_types", body["request_types"], taxonomy.request_types)
    _languages(errors, "$.languages", body.get("languages"))
    for i, name in enumerate(body.get("unknown", [])):
        if name in body:
            errors.append({"path": f"$.unknown[{i}]", "message": f"{name} is given and said to be unknown: "
                                                                 "leave it out, or take it out of unknown"})
    return errors


def attachment_errors(session: Session, record_type: str, body: dict, owner_network: str) -> list[dict]:
    """A record may attach itself (a contact point, a note's scope) only to an authority of its owner
    network: one the network owns, or one its network record lists as a member (a network's
    membership is asserted by the network, not by the authority or a third network)."""
    errors = []
    for path, authority_id in RECORD_TYPES[record_type].attachments(body):
        authority = held_row(session, models.Authority, authority_id)
        owner = None if authority is None else authority.owner_network
        if owner is None or owner == owner_network:
            continue
        member = session.scalar(select(models.NetworkMember.authority_id).where(
            models.NetworkMember.network_code == owner_network, models.NetworkMember.authority_id == authority_id))
        if member is None:
            errors.append({"path": path, "message": f"{authority_id} belongs to {owner} and is not a member of "
                                                    f"{owner_network}: a {owner_network} record cannot be attached "
                                                    "to it"})
    return errors


_CHECKS = {
    "network": _network,
    "authority": _authority,
    "contact_point": _contact_point,
    "emergency_note": _emergency_note,
    "procedure": _procedure,
}
