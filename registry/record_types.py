"""The five federated record types: their tables, and the columns and terms projected from a body.

Projections are derived data, rebuilt on every write by the single write path; they let filters
use indexes instead of reading JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import langcodes

from registry import models
from registry.models.records import RecordColumns
from registry.taxonomy import fold


def _none(body: dict) -> list:
    return []


@dataclass(frozen=True)
class RecordType:
    name: str
    model: type
    # columns projected from a live body, and (facet, value) terms for multi-valued filters
    project: Callable[[dict], dict]
    terms: Callable[[dict], set[tuple[str, str]]]
    # (JSON path, network code) of every network the body speaks for besides its owner: a role held in
    # it, a note scoped to it. Claiming one needs that network's publish scope.
    network_claims: Callable[[dict], list[tuple[str, str]]] = _none
    # (JSON path, authority id) of the authorities the body attaches itself to: they must belong to the
    # owner network (its own, or members by the network's record).
    attachments: Callable[[dict], list[tuple[str, str]]] = _none


def parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def primary_language(tag: str) -> str | None:
    """The primary language subtag of a valid BCP 47 tag ("pt" of "pt-BR"); None for tags that name
    none ("und", "root", private use)."""
    language = langcodes.Language.get(tag).language
    return language.lower() if language else None


def _language_terms(tags: list[str]) -> set[tuple[str, str]]:
    """Each tag and its primary language: a filter on "pt" finds "pt-BR"."""
    terms = set()
    for tag in tags:
        terms.add(("language", tag.lower()))
        if primary := primary_language(tag):
            terms.add(("language", primary))
    return terms


def _network(body: dict) -> dict:
    return {"code": body["code"]}


def _authority(body: dict) -> dict:
    names = body["names"]
    return {
        "country": body["country"],
        "kind": body["kind"],
        "status": body["status"],
        "sort_name": fold(names.get("en") or next(iter(names.values())))[:400],
    }


def _authority_terms(body: dict) -> set[tuple[str, str]]:
    # A designation is a term under its role ("central_authority": "mla") so that a lookup ranks by it.
    return ({("crime_type", c) for c in body["competences"]}
            | {("request_type", r) for r in body["request_types"]}
            | {(d["role"], r) for d in body.get("designations", []) for r in d["request_types"]}
            | _language_terms(body["languages"]))


def _contact_point(body: dict) -> dict:
    return {
        "authority_id": body["authority_id"],
        "kind": body["kind"],
        "available_24_7": bool(body["hours"].get("always")),
        "valid_from": parse_date(body["valid_from"]),
        "valid_until": parse_date(body.get("valid_until")),
    }


def _contact_point_terms(body: dict) -> set[tuple[str, str]]:
    terms = _language_terms(body["languages"])
    for role in body["roles"]:
        terms |= {("network", role["network"]), ("role", role["role"]),
                  ("network_role", f"{role['network']}:{role['role']}")}
    return terms


def _emergency_note(body: dict) -> dict:
    scope = body["scope"]
    return {
        "scope_country": scope.get("country"),
        "scope_authority_id": scope.get("authority_id"),
        "scope_network": scope.get("network"),
        "kind": body["kind"],
        "urgency": body["urgency"],
        "visibility": body["visibility"],
        "effective_from": parse_date(body["effective_from"]),
        "effective_until": parse_date(body.get("effective_until")),
    }


def _emergency_note_terms(body: dict) -> set[tuple[str, str]]:
    return ({("crime_type", c) for c in body.get("crime_types", [])}
            | {("request_type", r) for r in body.get("request_types", [])}
            | {("retires_channel", c["kind"]) for c in body.get("retires_channels", [])}
            | ({("refers_to_role", body["refers_to_role"])} if "refers_to_role" in body else set()))


def _procedure(body: dict) -> dict:
    return {"country": body["country"], "visibility": body["visibility"]}


def _procedure_terms(body: dict) -> set[tuple[str, str]]:
    return {("request_type", r) for r in body["request_types"]} | _language_terms(body.get("languages", []))


def _contact_point_claims(body: dict) -> list[tuple[str, str]]:
    return [(f"$.roles[{i}].network", role["network"]) for i, role in enumerate(body["roles"])]


def _contact_point_attachments(body: dict) -> list[tuple[str, str]]:
    return [("$.authority_id", body["authority_id"])]


def _emergency_note_claims(body: dict) -> list[tuple[str, str]]:
    return [("$.scope.network", body["scope"]["network"])] if "network" in body["scope"] else []


def _emergency_note_attachments(body: dict) -> list[tuple[str, str]]:
    scope = body["scope"]
    return [("$.scope.authority_id", scope["authority_id"])] if "authority_id" in scope else []


RECORD_TYPES: dict[str, RecordType] = {
    "network": RecordType("network", models.Network, _network, lambda body: set()),
    "authority": RecordType("authority", models.Authority, _authority, _authority_terms),
    "contact_point": RecordType("contact_point", models.ContactPoint, _contact_point, _contact_point_terms,
                                _contact_point_claims, _contact_point_attachments),
    "emergency_note": RecordType("emergency_note", models.EmergencyNote, _emergency_note, _emergency_note_terms,
                                 _emergency_note_claims, _emergency_note_attachments),
    "procedure": RecordType("procedure", models.Procedure, _procedure, _procedure_terms),
}


def record_terms(record_type: RecordType, body: dict) -> set[tuple[str, str]]:
    """The (facet, value) terms of a live body: its type's, and ("demonstration", "true") on
    demonstration data, so that a node can tell cheaply whether it holds any."""
    terms = record_type.terms(body)
    if body.get("demonstration"):
        terms.add(("demonstration", "true"))
    return terms


def projected_columns(record_type: RecordType) -> list[str]:
    """Names of the projection columns of a type (all nullable, cleared on a tombstone)."""
    common = set(RecordColumns.__annotations__)
    return [c.key for c in record_type.model.__table__.columns if c.key not in common]
