"""HTML forms built from a record type's JSON Schema (`$defs/body`), and the record body read back from them.

A schema becomes a tree of fields: a text, date, choice or yes/no input per scalar; a fieldset per object;
a repeated fieldset per array of objects (the items there plus one blank one, so that adding another
needs no script); language and text rows for localised texts; one comma-separated input per list of codes.
Field names are the dotted path in the body (`channels.0.value`), so an error the write path reports at
`$.channels[0].value` is shown next to its input. Anything the tree does not know how to show is edited as
JSON in a text area, so that no schema change can make a record uneditable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from registry import contracts
from registry.record_types import RECORD_TYPES

# Fields the registry or the seeding sets; an editor does not.
NOT_EDITED = {"demonstration"}


@dataclass
class Field:
    name: str                # the dotted path, "" for the root
    key: str                 # the property name (or item index)
    kind: str                # text, textarea, date, select, checkbox, codes, localized, object, objects, json
    required: bool = False
    choices: list[str] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    item: Field | None = None  # for objects: the schema of one item
    description: str | None = None
    value: object = None
    errors: list[str] = field(default_factory=list)  # the write path's messages about this field
    items: list[Field] = field(default_factory=list)  # for objects: one filled field per item, plus a blank one

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) or None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _resolve(schema: dict, resolver) -> tuple[dict, object]:
    """Follow $ref and merge allOf, keeping the resolver of the document the schema came from."""
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema, resolver = {**resolved.contents, **rest}, resolved.resolver
    return schema, resolver


def build(record_type: str) -> Field:
    document = contracts.RECORD_SCHEMAS[record_type]
    schema, resolver = _resolve({"$ref": contracts.BASE_URI + document + "#/$defs/body"}, contracts.resolver())
    return _field("", "", schema, resolver, True)


def _field(name: str, key: str, schema: dict, resolver, required: bool) -> Field:
    schema, resolver = _resolve(schema, resolver)
    description = schema.get("description")
    kind_of = schema.get("type")
    if "properties" in schema and kind_of in (None, "object"):
        needed = set(schema.get("required", []))
        children = [_field(f"{name}.{k}" if name else k, k, sub, resolver, k in needed)
                    for k, sub in schema["properties"].items() if k not in NOT_EDITED]
        return Field(name, key, "object", required, children=children, description=description)
    if kind_of == "object" and "additionalProperties" in schema and "propertyNames" in schema:
        return Field(name, key, "localized", required, description=description)
    if kind_of == "array":
        items, item_resolver = _resolve(schema.get("items", {}), resolver)
        if "properties" in items:
            return Field(name, key, "objects", required, item=_field(f"{name}.#", "#", items, item_resolver, True),
                         description=description)
        if "enum" in items:
            return Field(name, key, "codes", required, choices=list(items["enum"]), description=description)
        if items.get("type") == "string":
            return Field(name, key, "codes", required, description=description)
    if schema.get("const") is True:
        return Field(name, key, "checkbox", required, description=description)
    if "enum" in schema:
        return Field(name, key, "select", required, choices=list(schema["enum"]), description=description)
    if kind_of == "boolean":
        return Field(name, key, "checkbox", required, description=description)
    if kind_of == "string":
        if schema.get("format") == "date":
            return Field(name, key, "date", required, description=description)
        long = schema.get("maxLength", 0) > 2000
        return Field(name, key, "textarea" if long else "text", required, description=description)
    return Field(name, key, "json", required, description=description)


def _renamed(template: Field, name: str) -> Field:
    """A copy of an item's field tree under the name of one item (`channels.0`)."""
    copy = Field(name, template.key, template.kind, template.required, template.choices,
                 item=template.item, description=template.description)
    copy.children = [_renamed(c, f"{name}.{c.key}") for c in template.children]
    if template.item is not None:
        copy.item = template.item
    return copy


def fill(form: Field, body: dict | None, errors: list[dict] | None = None) -> Field:
    """Put `body`'s values (and the write path's errors) into the field tree; returns the tree."""
    by_field = _errors_by_field(errors or [])
    _fill(form, body or {}, by_field)
    form.errors = by_field.get("", [])
    return form


def _fill(f: Field, value, errors: dict[str, list[str]]) -> None:
    f.errors = errors.get(f.name, []) if f.name else []
    if f.kind == "object":
        for child in f.children:
            _fill(child, value.get(child.key) if isinstance(value, dict) else None, errors)
    elif f.kind == "objects":
        values = value if isinstance(value, list) else []
        f.items = []
        for i, item in enumerate([*values, {}]):
            one = _renamed(f.item, f"{f.name}.{i}")
            _fill(one, item, errors)
            f.items.append(one)
    elif f.kind == "localized":
        f.value = list(value.items()) if isinstance(value, dict) else []
    elif f.kind == "codes":
        f.value = list(value) if isinstance(value, list) else []
    elif f.kind == "json":
        f.value = "" if value is None else json.dumps(value, ensure_ascii=False, indent=1)
    else:
        f.value = value


_INDEX = re.compile(r"\[(\d+)\]")
_REQUIRED = re.compile(r"^'([^']+)' is a required property$")


def _errors_by_field(errors: list[dict]) -> dict[str, list[str]]:
    """`$.channels[0].value` -> `channels.0.value`; a missing required property is the property's own error."""
    found: dict[str, list[str]] = {}
    for error in errors:
        path = _INDEX.sub(r".\1", error["path"]).removeprefix("$").lstrip(".")
        missing = _REQUIRED.match(error["message"])
        if missing:
            path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        found.setdefault(path, []).append(error["message"])
    return found


def read(form: Field, data) -> dict:
    """The body the submitted form describes (empty inputs leave their property out)."""
    return _read(form, data) or {}


def _read(f: Field, data):
    if f.kind == "object":
        out = {}
        for child in f.children:
            value = _read(child, data)
            if value is not None:
                out[child.key] = value
        return out or None
    if f.kind == "objects":
        indexes = sorted({int(m.group(1)) for k in data
                          if (m := re.match(re.escape(f.name) + r"\.(\d+)\.", k))})
        items = [_read(_renamed(f.item, f"{f.name}.{i}"), data) for i in indexes]
        return [i for i in items if i] or None
    if f.kind == "localized":
        rows = sorted({int(m.group(1)) for k in data if (m := re.match(re.escape(f.name) + r"\.(\d+)\.lang$", k))})
        out = {}
        for i in rows:
            lang, text = data.get(f"{f.name}.{i}.lang", "").strip(), data.get(f"{f.name}.{i}.text", "").strip()
            if lang or text:
                out[lang] = text
        return out or None
    if f.kind == "codes":
        if f.choices:
            values = data.getlist(f.name) if hasattr(data, "getlist") else data.get(f.name, [])
        else:
            values = re.split(r"[,\n]", data.get(f.name, ""))
        values = [v.strip() for v in values if v.strip()]
        return values or None
    if f.kind == "checkbox":
        return True if data.get(f.name) else None
    raw = data.get(f.name, "")
    if f.kind == "json":
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw  # the write path says what is wrong with it, next to the field
    raw = raw.strip() if f.kind != "textarea" else raw.strip("\r\n ")
    return raw or None


def record_types() -> list[str]:
    return [t for t in RECORD_TYPES if t in contracts.RECORD_SCHEMAS]
