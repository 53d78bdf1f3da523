"""Query-argument schemas shared by the blueprints. Every schema refuses unknown parameters."""

from __future__ import annotations

import difflib
import functools
import re

import marshmallow as ma
import orjson
from flask import current_app, request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from registry.errors import (
    InvalidParameter,
    MalformedBody,
    NestedTooDeep,
    RepeatedParameter,
    UnknownParameter,
    UnsupportedMediaType,
)
from registry.search.text import MAX_QUERY_CHARS
from registry.services import Page


@functools.cache
def _schema_instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class _StrictParser(FlaskParser):
    # webargs ignores unknown query parameters by default; the registry refuses them.
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, ma.RAISE)

    def _get_schema(self, argmap, req) -> ma.Schema:
        # Routes name their schema by class, which webargs would instantiate (deep-copying every field) on
        # each request; a schema holds no state between loads, so one instance per class serves them all.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_instance(argmap)
        return super()._get_schema(argmap, req)

    def load_querystring(self, req, schema: ma.Schema):
        """The query string, refused first when it names a parameter the route does not take (with the
        closest one it does) or repeats one that takes a single value (webargs would keep the first)."""
        fields = {field.data_key or name: field for name, field in schema.fields.items()}
        unknown = {name: next(iter(difflib.get_close_matches(name, fields, n=1, cutoff=0.6)), None)
                   for name in req.args if name not in fields}
        if unknown:
            raise UnknownParameter(unknown)
        for name, field in fields.items():
            count = len(req.args.getlist(name))
            if count > 1 and not isinstance(field, ma.fields.List):
                raise RepeatedParameter(name, count)
        return super().load_querystring(req, schema)

    def _raw_load_json(self, req):
        # The same decoding as record bodies: orjson, and the depth limit.
        if not is_json_request(req):
            return core.missing
        return decode_json(req.get_data(cache=True))


class RegistryBlueprint(Blueprint):
    ARGUMENTS_PARSER = _StrictParser()


class QueryArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class PageArgs(QueryArgs):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000),
                             metadata={"description": "Page number, from 1."})
    page_size = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1),
                                  metadata={"description": "Items per page (default and maximum are settings)."})


def page_of(args: dict, default_size: int | None = None) -> Page:
    settings = current_app.extensions["registry"].settings
    size = args.pop("page_size", None) or default_size or settings.default_page_size
    if size > settings.max_page_size:
        raise InvalidParameter("page_size", f"at most {settings.max_page_size}")
    return Page(number=args.pop("page", 1), size=size)


ETAG_VERSION = re.compile(r"(\d{1,18})-[0-9a-z]+")


def if_match_version() -> int | None:
    """The record version named by If-Match (None when the header is absent).

    A tag that is not one of ours, or a weak or `*` tag, names version 0, which never matches:
    a write must name the exact version it was based on."""
    if "If-Match" not in request.headers:
        return None
    for tag in request.if_match.as_set():
        # An empty quoted tag ("") comes out of the parser as None.
        if tag and (match := ETAG_VERSION.fullmatch(tag)):
            return int(match.group(1))
    return 0


# No record or administration body nests half as deep; code that walks a body recursively (merge
# patches, validation errors) stays far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def decode_json(raw: bytes):
    """A request body as JSON: 400 when it is not JSON, 413 when it nests deeper than MAX_JSON_DEPTH."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise _too_deep() from None
        raise MalformedBody(f"The body is not valid JSON: {exc}.") from None
    # Depth first with an explicit stack: no recursion, whatever the body.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def _too_deep() -> NestedTooDeep:
    return NestedTooDeep(f"The body nests objects and arrays more than {MAX_JSON_DEPTH} levels deep; no body "
                         "the registry takes needs that many.")


def request_json():
    """The request body as JSON: 415 for another media type, 400 for malformed JSON, 413 for too deep."""
    mimetype = request.mimetype
    if mimetype not in ("application/json", "application/merge-patch+json"):
        raise UnsupportedMediaType("Send the body as application/json (or application/merge-patch+json "
                                   f"for PATCH), not {mimetype or 'without a Content-Type'}.")
    return decode_json(request.get_data(cache=True))


# Control characters (NUL included, which PostgreSQL cannot store) are refused in every text a request
# carries; stated as a pattern so that the OpenAPI document says so too.
NO_CONTROL_CHARACTERS = ma.validate.Regexp(r"^[^\x00-\x1f\x7f-\x9f]*$", error="must not contain control characters")


class PlainString(ma.fields.String):
    """A string of a request body: no control characters, at most `max_length` characters."""

    def __init__(self, *, max_length: int, min_length: int = 1, **kwargs):
        super().__init__(validate=[ma.validate.Length(min=min_length, max=max_length), NO_CONTROL_CHARACTERS],
                         **kwargs)


def _printable(value: str) -> None:
    if not value.isprintable():
        raise ma.ValidationError("must not contain control characters")


class TextFilter(ma.fields.String):
    """A user-typed filter value: trimmed, at most `max_length` characters, never empty."""

    def __init__(self, description: str, max_length: int = 200, **kwargs):
        super().__init__(validate=[ma.validate.Length(min=1, max=max_length), NO_CONTROL_CHARACTERS, _printable],
                         metadata={"description": description}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class WordsFilter(TextFilter):
    """`q`: free text for the search backend (longer than a filter value)."""

    def __init__(self, description: str = "Words to match (names in any script, places, positions), searched "
                 "with the same backend as /search; the list keeps the best 1,000 matches, best first.", **kwargs):
        super().__init__(description, max_length=MAX_QUERY_CHARS, **kwargs)


class NoArgs(QueryArgs):
    """For routes that take no query parameters: any parameter is refused."""
