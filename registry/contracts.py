"""The JSON Schemas in schemas/: loading, validating, and publishing them in the OpenAPI document.

They are the interchange contract: partner systems validate against the same files, so the API's
output schemas are these documents, not a second description in marshmallow.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from registry.config import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"
BASE_URI = "https://schemas.contact-point-registry.example.org/v1/"

RECORD_SCHEMAS = {
    "network": "network.json",
    "authority": "authority.json",
    "contact_point": "contact-point.json",
    "emergency_note": "emergency-note.json",
    "procedure": "procedure.json",
}


@cache
def documents() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(SCHEMA_DIR).glob("*.json"))}


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (BASE_URI + name, Resource.from_contents(doc)) for name, doc in documents().items()
    )


@cache
def resolver():
    """A `referencing` resolver over every schema document (to walk a schema, e.g. to build a form from it)."""
    return _registry().resolver()


def validator(reference: str) -> Draft202012Validator:
    """A validator for `reference`, e.g. "authority.json" or "authority.json#/$defs/body"."""
    return Draft202012Validator({"$ref": BASE_URI + reference}, registry=_registry(),
                                format_checker=FormatChecker())


@cache
def common_pattern(name: str) -> re.Pattern:
    """A string pattern of schemas/common.json (record_id, network_code...), for checks outside validation."""
    return re.compile(documents()["common.json"]["$defs"][name]["pattern"])


def kinds(record_type: str) -> list[str]:
    """The `kind` values a record type's schema allows."""
    return documents()[RECORD_SCHEMAS[record_type]]["$defs"]["fields"]["properties"]["kind"]["enum"]


@cache
def fast_validator(reference: str) -> jsonschema_rs.Draft202012Validator:
    """jsonschema-rs's validator for `reference`, formats checked like FormatChecker's: a valid body is
    told valid a hundred times faster than by `jsonschema`, which only then says what is wrong (its messages
    are the ones the API has always given). tests/test_contracts.py holds the two to the same verdicts."""
    registry = jsonschema_rs.Registry([(BASE_URI + name, doc) for name, doc in documents().items()])
    return jsonschema_rs.Draft202012Validator({"$ref": BASE_URI + reference}, registry=registry,
                                              validate_formats=True)


def body_errors(record_type: str, body: dict) -> list[dict]:
    """Schema violations of a record body, as `{path, message}` sorted by path."""
    reference = RECORD_SCHEMAS[record_type] + "#/$defs/body"
    if fast_validator(reference).is_valid(body):
        return []
    found = validator(reference).iter_errors(body)
    return sorted(({"path": e.json_path, "message": e.message} for e in found), key=lambda e: e["path"])


def openapi_components() -> dict[str, dict]:
    """Every schema document as an OpenAPI 3.1 component, cross-document references rewritten.

    Component names are the file names in CamelCase ("contact-point.json" -> "ContactPoint").
    """
    names = {name: _component_name(name) for name in documents()}

    def rewrite(node, current):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ("$id", "$schema"):
                    continue
                if key == "$ref" and isinstance(value, str):
                    target, _, pointer = value.partition("#")
                    target = target.removeprefix(BASE_URI) or current
                    value = f"#/components/schemas/{names[target]}" + pointer
                out[key] = rewrite(value, current)
            return out
        if isinstance(node, list):
            return [rewrite(v, current) for v in node]
        return node

    return {names[name]: rewrite(doc, name) for name, doc in documents().items()}


def _component_name(file_name: str) -> str:
    return "".join(part.capitalize() for part in file_name.removesuffix(".json").split("-"))
