"""No caller receives a field above its tier, on any GET route under /api/v1, checked against the schemas.

The schemas mark what a tier may see: `x-visibility` on a record or field names the lowest tier that
may see it, and `x-visibility-values` marks a `visibility` enum (authority channels, emergency notes):
an item is served only to callers of its tier and above. For a tier T every schema document is
narrowed to what T may see (a subschema above T becomes `false`, a visibility enum keeps the values
up to T), and the answers of every GET route, as the OpenAPI document lists them, are validated
against the narrowed schema of their 200 response. Record schemas refuse unevaluated properties, so a
field served above the tier fails. Tests run with the anonymous caller (public tier) and a
`directory:read` token (partner tier), on both backends.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlencode

import pytest
from conftest import client_with
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from registry import contracts
from registry.visibility import Tier

RESTRICTED_SCOPE = "directory:read directory:restricted"
CALLERS = {Tier.PUBLIC: None, Tier.PARTNER: "directory:read"}

PERSON_CONTACT_POINT = "local:kg-gpo-ibraimov"  # kind person: a restricted person block
RESTRICTED_NOTE = "local:note-kz-gpo-asset-freeze"  # scoped to the authority local:kz-gpo
AUTHORITY_WITH_PARTNER_CHANNEL = "local:kg-gpo"

# Path parameters, by the collection the parameter follows: real records of the seeded directory.
# Routes that answer only a scope (admin, federation:read), whatever the directory tier.
SCOPE_GATED = re.compile(r"^/api/v1/(admin/|federation/|subscriptions(/|$)|networks/[^/]+/(gaps|freshness)$)")
PATH_VALUES = {
    "countries": ["KG", "KZ"],
    "networks": ["casc"],
    "authorities": [AUTHORITY_WITH_PARTNER_CHANNEL, "local:kz-gpo"],
    "contact-points": [PERSON_CONTACT_POINT, "local:kg-gpo-duty"],
    "emergency-notes": [RESTRICTED_NOTE, "local:note-kg-gpo-new-mailbox", "local:note-kg-tip-urgent"],
    "procedures": ["local:proc-at-eio", "local:proc-gb-mla"],
}
# Query strings per path (the route's plain answer when the path is not listed).
QUERIES = {
    "/api/v1/lookup": ["country=KG", "country=KG&urgent=true", "country=KZ",
                       "country=KZ&crime_type=corruption&request_type=asset recovery&urgent=true"],
    "/api/v1/contact-points": ["", "authority=local:kg-gpo", "country=KG", "country=KZ&status=all",
                               "network=casc&role=24_7", "available_24_7=true"],
    "/api/v1/emergency-notes": ["", "country=KZ", "authority=local:kz-gpo", "country=KG", "in_force=false"],
    "/api/v1/authorities": ["", "country=KG", "country=KZ&network=casc"],
    "/api/v1/countries": ["", "with_authorities=true"],
}
# The anonymous caller's requests count apart from those of other tests (per-address rate limit).
ANONYMOUS_ADDRESS = "192.0.2.44"


# --- The schemas as a tier sees them ---------------------------------------------------------------

# What a subschema above the tier becomes: `false`, spelt {"not": {}} because jsonschema reports the
# errors of a boolean `false` subschema without the path of the offending property.
ABOVE_TIER = {"$comment": "above the tier", "not": {}}


def narrowed(node, tier: Tier):
    """`node` with every subschema above `tier` replaced by false and visibility enums cut to `tier`."""
    if isinstance(node, dict):
        if "x-visibility" in node and Tier.named(node["x-visibility"]) > tier:
            return ABOVE_TIER
        out = {key: narrowed(value, tier) for key, value in node.items()}
        if node.get("x-visibility-values"):
            out["enum"] = [value for value in node["enum"] if Tier.named(value) <= tier]
        return out
    if isinstance(node, list):
        return [narrowed(value, tier) for value in node]
    return node


def narrowed_document(document: dict, tier: Tier) -> dict:
    out = narrowed(document, tier)
    if out is ABOVE_TIER:  # the whole record is above the tier: nothing validates; its $defs stay addressable
        out = {"$schema": document["$schema"], "$id": document["$id"], **ABOVE_TIER,
               "$defs": narrowed(document.get("$defs", {}), tier)}
    return out


@cache
def tier_documents(tier: Tier) -> dict[str, dict]:
    return {name: narrowed_document(document, tier) for name, document in contracts.documents().items()}


@cache
def tier_registry(tier: Tier) -> Registry:
    return Registry().with_resources(
        (contracts.BASE_URI + name, Resource.from_contents(document, default_specification=DRAFT202012))
        for name, document in tier_documents(tier).items()
    )


# OpenAPI component name -> schema file ("ContactPoint" -> "contact-point.json").
COMPONENT_FILES = dict(zip(contracts.openapi_components(), contracts.documents(), strict=True))
COMPONENT_REF = re.compile(r"#/components/schemas/([A-Za-z0-9]+)(.*)")


def to_schema_uris(node):
    """An OpenAPI response schema with its component references pointing at the schema files."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and (match := COMPONENT_REF.fullmatch(value)):
                value = f"{contracts.BASE_URI}{COMPONENT_FILES[match.group(1)]}#{match.group(2)}"
            out[key] = to_schema_uris(value)
        return out
    if isinstance(node, list):
        return [to_schema_uris(value) for value in node]
    return node


def errors(schema: dict, tier: Tier, instance) -> list[str]:
    validator = Draft202012Validator(schema, registry=tier_registry(tier), format_checker=FormatChecker())
    return sorted(f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance))


def error_paths(schema: dict, tier: Tier, instance) -> set[str]:
    """Where the errors are. A failing field also fails the record's unevaluatedProperties, at "$"."""
    return {error.partition(": ")[0] for error in errors(schema, tier, instance)}


def record_schema(file_name: str) -> dict:
    return {"$ref": contracts.BASE_URI + file_name}


def schema_ref(schema: dict) -> str:
    """The schema file a route's 200 response is made of (the item's, for an array)."""
    ref = schema.get("$ref") or schema["items"]["$ref"]
    return ref.removeprefix(contracts.BASE_URI).partition("#")[0]


def forbidden_names(file_name: str, tier: Tier) -> set[str]:
    """Names of the properties the narrowed document refuses outright (the fields above the tier)."""
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    names.update(name for name, sub in value.items() if sub == ABOVE_TIER)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tier_documents(tier)[file_name])
    return names


# --- The routes ----------------------------------------------------------------------------------

def get_routes(app) -> dict[str, dict]:
    """Every GET path under /api/v1 whose 200 answer is JSON with a schema, but administration's and
    the peer feeds' (whole routes behind a scope, not tiered answers; test_federation_feeds.py):
    path -> {"schema", "query": names of the query parameters}."""
    spec = app.extensions["registry_api"].spec.to_dict()
    routes = {}
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if not path.startswith("/api/v1/") or SCOPE_GATED.search(path) or operation is None:
            continue
        schema = operation["responses"]["200"].get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        parameters = operation.get("parameters", []) + item.get("parameters", [])
        routes[path] = {"schema": to_schema_uris(schema),
                        "query": {p["name"] for p in parameters if p["in"] == "query"}}
    return routes


def urls_of(path: str, query_names: set[str], page_size: int) -> list[str]:
    """The path with its parameters filled in from PATH_VALUES, with each query of QUERIES."""
    paths = [""]
    segments = path.strip("/").split("/")
    for collection, segment in zip(["", *segments], segments, strict=False):
        if segment.startswith("{"):
            assert collection in PATH_VALUES, f"{path}: add values for {segment} to PATH_VALUES"
            paths = [f"{p}/{value}" for p in paths for value in PATH_VALUES[collection]]
        else:
            paths = [f"{p}/{segment}" for p in paths]
    urls = []
    for filled in paths:
        for query in QUERIES.get(path, [""]):
            args = dict(pair.split("=", 1) for pair in query.split("&") if pair)
            if "page_size" in query_names:
                args["page_size"] = page_size
            urls.append(filled + (f"?{urlencode(args)}" if args else ""))
    return urls


def caller_client(app, tokens, tier: Tier):
    if CALLERS[tier] is None:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = ANONYMOUS_ADDRESS
        return client
    return client_with(app, tokens(CALLERS[tier]))


@pytest.fixture
def restricted(app, tokens):
    return client_with(app, tokens(RESTRICTED_SCOPE))


def test_the_openapi_document_lists_every_get_route(app):
    """So that checking the routes of the OpenAPI document checks every route the app serves (those
    answering other than JSON, exports and NDJSON feeds, are checked by their own tests)."""
    spec = app.extensions["registry_api"].spec.to_dict()
    documented = {path for path, item in spec["paths"].items()
                  if "get" in item and path.startswith("/api/v1/") and not SCOPE_GATED.search(path)}
    served = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and rule.rule.startswith("/api/v1/") and not SCOPE_GATED.search(rule.rule)}
    assert served - {"/api/v1/openapi.json"} == documented


def items(response) -> list:
    """A page's items: a list's array, or a lookup's or search's `results`."""
    body = response.get_json() or []
    return body.get("results", []) if isinstance(body, dict) else body


def pages(client, url: str, paginated: bool):
    """The answers to `url`, page after page while a list has more (X-Total-Count) than it has served."""
    response = client.get(url)
    yield response
    served, number = len(items(response)), 1
    while paginated and response.status_code == 200 and served < int(response.headers.get("X-Total-Count", 0)):
        number += 1
        response = client.get(f"{url}&page={number}")
        if response.status_code == 200 and not items(response):
            return  # fewer items than the total said: the caller of `pages` compares
        served += len(items(response))
        yield response


@pytest.mark.parametrize("tier", list(CALLERS), ids=lambda tier: tier.name.lower())
def test_no_get_route_serves_a_field_above_the_callers_tier(app, tokens, restricted, tier):
    client = caller_client(app, tokens, tier)
    page_size = app.extensions["registry"].settings.max_page_size
    routes = get_routes(app)
    assert len(routes) >= 14
    answered: dict[str, set[int]] = {}  # route -> statuses
    statuses: dict[str, set[int]] = {}  # path with its parameters -> statuses
    for path, route in routes.items():
        paginated = "page" in route["query"]
        for url in urls_of(path, route["query"], page_size):
            for response in pages(client, url, paginated):
                page_url = response.request.full_path.rstrip("?")
                answered.setdefault(path, set()).add(response.status_code)
                statuses.setdefault(url.partition("?")[0], set()).add(response.status_code)
                if response.status_code in (401, 403):
                    continue
                full = restricted.get(page_url)
                assert full.status_code == 200, f"{page_url}: {full.status_code} at the restricted tier"
                assert errors(route["schema"], Tier.RESTRICTED, full.get_json()) == [], f"{page_url} as RESTRICTED"
                if response.status_code == 404:
                    # The item exists but is above the tier: what the restricted tier gets is refused by the
                    # schema of the caller's tier; a history is hidden exactly when its record is.
                    if path.endswith("/history"):
                        assert client.get(url.partition("?")[0].removesuffix("/history")).status_code == 404, url
                    else:
                        assert errors(route["schema"], tier, full.get_json()), f"{url}: 404, yet the tier may see it"
                    continue
                assert response.status_code == 200, f"{page_url}: {response.status_code} {response.get_data(True)}"
                answer = response.get_json()
                assert errors(route["schema"], tier, answer) == [], f"{page_url} as {tier.name}"
                if path.endswith("/history"):
                    record_file = schema_ref(routes[path.removesuffix("/history")]["schema"])
                    hidden = forbidden_names(record_file, tier)
                    named = {name for entry in answer for name in entry["changed"]}
                    assert not named & hidden, f"{page_url} names fields above {tier.name}: {named & hidden}"
            if "X-Total-Count" in response.headers:  # lists count only what the caller may see
                assert int(response.headers["X-Total-Count"]) == sum(
                    len(items(page)) for page in pages(client, url, paginated)), f"{url}: X-Total-Count"

    # Every route was checked: it answered, or (an item above the tier) refused every item with 404.
    assert set(answered) == set(routes)
    for path, codes in answered.items():
        assert codes <= {200, 404}, f"{path}: {codes}"
        if 200 not in codes:
            record_file = schema_ref(routes[path.removesuffix("/history")]["schema"])
            assert tier_documents(tier)[record_file].get("not") == {}, f"{path}: never answered {tier.name}"
    assert statuses[f"/api/v1/emergency-notes/{RESTRICTED_NOTE}"] == {404}
    assert statuses[f"/api/v1/emergency-notes/{RESTRICTED_NOTE}/history"] == {404}
    if tier is Tier.PARTNER:
        assert all(200 in codes for codes in answered.values())
        assert statuses[f"/api/v1/contact-points/{PERSON_CONTACT_POINT}"] == {200}
    else:
        assert statuses[f"/api/v1/contact-points/{PERSON_CONTACT_POINT}"] == {404}
        assert statuses[f"/api/v1/contact-points/{PERSON_CONTACT_POINT}/history"] == {404}
        assert statuses[f"/api/v1/authorities/{AUTHORITY_WITH_PARTNER_CHANNEL}"] == {200}


def test_the_narrowed_schemas_refuse_what_the_restricted_tier_sees(restricted):
    """The check is not vacuous: restricted answers fail the schemas of the lower tiers, where expected."""
    contact_point = restricted.get(f"/api/v1/contact-points/{PERSON_CONTACT_POINT}").get_json()
    assert contact_point["person"]["name"]
    schema = record_schema("contact-point.json")
    assert errors(schema, Tier.RESTRICTED, contact_point) == []
    assert error_paths(schema, Tier.PARTNER, contact_point) - {"$"} == {"$.person"}
    assert "$" in error_paths(schema, Tier.PUBLIC, contact_point)
    without_person = {k: v for k, v in contact_point.items() if k != "person"}
    assert errors(schema, Tier.PARTNER, without_person) == []

    note = restricted.get(f"/api/v1/emergency-notes/{RESTRICTED_NOTE}").get_json()
    assert note["visibility"] == "restricted"
    schema = record_schema("emergency-note.json")
    assert errors(schema, Tier.RESTRICTED, note) == []
    for tier in (Tier.PARTNER, Tier.PUBLIC):
        assert error_paths(schema, tier, note) - {"$"} == {"$.visibility"}

    authority = restricted.get(f"/api/v1/authorities/{AUTHORITY_WITH_PARTNER_CHANNEL}").get_json()
    schema = record_schema("authority.json")
    partner_channels = [i for i, c in enumerate(authority["channels"]) if c["visibility"] == "partner"]
    assert partner_channels
    assert errors(schema, Tier.PARTNER, authority) == []
    assert error_paths(schema, Tier.PUBLIC, authority) - {"$"} == {f"$.channels[{i}].visibility"
                                                                    for i in partner_channels}

    lookup = restricted.get("/api/v1/lookup?country=KZ&urgent=true").get_json()
    schema = record_schema("lookup.json")
    assert errors(schema, Tier.RESTRICTED, lookup) == []
    assert errors(schema, Tier.PARTNER, lookup), "the restricted note and person blocks are served"
    assert RESTRICTED_NOTE in {n["id"] for r in lookup["results"] for n in r["emergency_notes"]}

    assert forbidden_names("contact-point.json", Tier.PARTNER) == {"person"}
    assert forbidden_names("contact-point.json", Tier.RESTRICTED) == set()


@pytest.mark.parametrize("tier", list(CALLERS), ids=lambda tier: tier.name.lower())
def test_filters_do_not_reveal_what_the_tier_may_not_see(app, tokens, tier):
    client = caller_client(app, tokens, tier)

    def answer(url):
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json(), response.headers["X-Total-Count"]

    # Filtering on what lies above the tier answers as if nothing matched.
    if tier is Tier.PUBLIC:
        assert answer("/api/v1/contact-points?authority=local:kg-gpo") == answer(
            "/api/v1/contact-points?authority=local:no-such-authority") == ([], "0")
    assert answer("/api/v1/emergency-notes?authority=local:kz-gpo") == answer(
        "/api/v1/emergency-notes?authority=local:no-such-authority") == ([], "0")
    # No filter on the person block exists to probe with.
    assert client.get("/api/v1/contact-points?person=Ибраимов").status_code == 400
    # The restricted note is named nowhere in what the country's notes and lookup answer.
    for url in ("/api/v1/emergency-notes?country=KZ", "/api/v1/emergency-notes?country=KZ&in_force=false",
                "/api/v1/lookup?country=KZ&urgent=true"):
        response = client.get(url)
        assert response.status_code == 200
        assert RESTRICTED_NOTE not in response.get_data(as_text=True)
        assert RESTRICTED_NOTE not in str(response.headers)
