"""Every operation of the OpenAPI document shows an example of its request and of its answer, and
every example still matches the schema it illustrates (so an example cannot drift from the API)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from registry import create_app
from registry.config import Settings

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    app = create_app(Settings.from_env({}, instance_path=str(tmp_path_factory.mktemp("examples"))))
    return app.extensions["registry_api"].spec.to_dict()


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def pointer(*parts) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def test_every_operation_has_examples_of_its_request_and_its_answer(spec):
    missing = []
    for path, method, operation in operations(spec):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if "example" not in content:
                missing.append(f"{method.upper()} {path} request {media_type}")
        success = [(status, r) for status, r in operation["responses"].items() if str(status).startswith("2")]
        for status, response in success:
            for media_type, content in response.get("content", {}).items():
                if media_type.endswith("json") and "example" not in content:
                    missing.append(f"{method.upper()} {path} {status} {media_type}")
    assert missing == []


def test_every_example_matches_its_schema(spec):
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(spec, default_specification=DRAFT202012))
    wrong = []
    for path, method, operation in operations(spec):
        request = operation.get("requestBody", {}).get("content", {})
        places = [(("requestBody", "content", m), c) for m, c in request.items()]
        places += [(("responses", s, "content", m), c) for s, r in operation["responses"].items()
                   for m, c in r.get("content", {}).items() if isinstance(r, dict)]
        for where, content in places:
            if "example" not in content or "schema" not in content:
                continue
            schema = {"$ref": "urn:openapi#" + pointer("paths", path, method, *where, "schema")}
            validator = Draft202012Validator(schema, registry=registry)
            wrong += [f"{method.upper()} {path} {'/'.join(map(str, where))}: {e.json_path}: {e.message[:200]}"
                      for e in validator.iter_errors(content["example"])]
    assert wrong == []
