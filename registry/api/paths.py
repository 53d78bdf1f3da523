"""Path parameters: each kind has a converter that matches only what such a value can be, so a path
that cannot name anything (a NUL byte, a control character, an over-long or ill-formed id) is a 404
from routing, before any query runs. The OpenAPI document states the same patterns."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

from registry.contracts import common_pattern


def _bare(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix("$")


class RecordIdConverter(BaseConverter):
    """A record id (`local:kg-gpo`), as schemas/common.json defines it."""

    regex = _bare(common_pattern("record_id").pattern)
    schema = {"type": "string", "pattern": f"^{regex}$", "maxLength": 192}


class NodeNameConverter(BaseConverter):
    """A node id or a peer's name: lowercase letters, digits and '-', starting with a letter."""

    regex = r"[a-z][a-z0-9-]{0,62}"
    schema = {"type": "string", "pattern": f"^{regex}$"}


class SubscriptionIdConverter(BaseConverter):
    regex = r"sub_[0-9a-f]{24}"
    schema = {"type": "string", "pattern": f"^{regex}$"}


class SpellingConverter(BaseConverter):
    """What a person types for a country, a network or a client: any printable text up to 200 characters
    but a slash (a code, an acronym, a name in any script)."""

    regex = r"[^/\x00-\x1f\x7f-\x9f]{1,200}"
    schema = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/\\u0000-\\u001F\\u007F-\\u009F]+$"}


CONVERTERS = {"record_id": RecordIdConverter, "node": NodeNameConverter, "subscription_id": SubscriptionIdConverter,
              "spelling": SpellingConverter}


def register_converters(app, api) -> None:
    for name, converter in CONVERTERS.items():
        app.url_map.converters[name] = converter
        api.register_converter(converter, lambda c: dict(type(c).schema))
