"""What the repository promises in writing: openapi.yaml, the README, the migrations."""

import random
import re

import click
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from registry import contracts, create_app, migrations
from registry.api.openapi import openapi_yaml
from registry.cli import cli
from registry.config import PROJECT_ROOT, ConfigError, Settings
from registry.db import Base

# What people read: the README and the documents of docs/, where the reference tables live.
README = "\n".join(path.read_text(encoding="utf-8")
                   for path in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))])


def test_openapi_yaml_is_generated_from_the_code(tmp_path):
    app = create_app(Settings.from_env({}, instance_path=str(tmp_path)))
    committed = (PROJECT_ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert openapi_yaml(app) == committed, "openapi.yaml is stale: run `make openapi`"


def test_openapi_is_valid_and_documents_errors(tmp_path):
    from openapi_spec_validator import validate

    app = create_app(Settings.from_env({}, instance_path=str(tmp_path)))
    spec = app.extensions["registry_api"].spec.to_dict()
    validate(spec)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = set(operation["responses"])
            where = f"{method.upper()} {path}"
            assert any(code.startswith("2") for code in responses), where
            if not path.startswith("/api/v1/"):
                continue  # OAuth and discovery endpoints: RFC 6749 errors, documented per endpoint
            assert "default" in responses, where
            if method == "get":
                assert "400" in responses, where
            if "{" in path:
                assert "404" in responses, where
            if method != "get":
                assert {"401", "403"} <= responses, where
            if method in ("put", "patch", "delete") and "/admin/" not in path:
                assert {"412", "428", "409"} <= responses, where


def test_every_setting_is_in_the_readme():
    documented = set(re.findall(r"\| `(REGISTRY_[A-Z0-9_]+)` \|", README))
    assert {env for env, _ in Settings.documented()} == documented


def test_every_scope_is_in_the_readme():
    from registry.permissions import SCOPES

    documented = set(re.findall(r"\| `([a-z:<>]+)` \| ", README)) & ({*SCOPES} | {"publish:casc"})
    assert documented == set(SCOPES)


def _commands(group: click.Group, prefix: str):
    # list_commands also loads the commands extensions add (flask-limiter's `limiter` group).
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:  # a group that is a command too (`registry sync --once`)
                yield f"{prefix} {name}"
            yield from _commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_command_is_in_the_readme():
    commands = set(_commands(cli, "registry"))
    documented = set(re.findall(r"\| `(registry [a-z -]+)` \|", README))
    assert commands == documented


def test_migrations_match_the_models(backend, tmp_path):
    from conftest import fresh_database_url

    engine = create_engine(fresh_database_url(backend, tmp_path))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": migrations.include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: add one with alembic revision --autogenerate"


def test_every_schema_is_a_valid_2020_12_schema_and_published():
    from jsonschema import Draft202012Validator

    components = contracts.openapi_components()
    for name, document in contracts.documents().items():
        Draft202012Validator.check_schema(document)
        assert document["$id"] == contracts.BASE_URI + name
    assert {"Authority", "ContactPoint", "EmergencyNote", "Network", "Record", "Envelope", "Problem",
            "Lookup"} <= set(components)


@pytest.mark.parametrize("environ,message", [
    ({"REGISTRY_NODE_ID": "Bad Node"}, "REGISTRY_NODE_ID"),
    ({"REGISTRY_PORT": "eighty"}, "REGISTRY_PORT must be an integer"),
    ({"REGISTRY_DEFAULT_PAGE_SIZE": "500"}, "REGISTRY_DEFAULT_PAGE_SIZE"),
])
def test_bad_settings_are_refused_clearly(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_the_image_serves_through_registry_serve():
    """gunicorn started by hand would ignore REGISTRY_WORKER_TIMEOUT, the worker class, the logging
    and the shared metrics that `registry serve` sets up."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    command = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert "registry serve" in command and "gunicorn" not in command


def _pins(lock: str) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (PROJECT_ROOT / lock).read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize("lock, extras", [("requirements.lock", ()), ("requirements-test.lock", ("test",))])
def test_the_lock_files_pin_every_dependency_within_its_range(lock, extras):
    """`make install` and the image install the locks only: a dependency added to pyproject.toml and
    not locked (`make lock`) would be missing; one locked outside its range would not be what we declare."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + [r for extra in extras for r in project["optional-dependencies"][extra]]
    pins = _pins(lock)
    problems = []
    for requirement in map(Requirement, declared):
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in {lock}: run make lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} in {lock} is outside {requirement.specifier}")
    assert problems == []


def test_each_layer_imports_only_the_layers_below_it():
    """The layering written once in pyproject.toml ([tool.importlinter]), checked by import-linter on
    every import, those inside functions too."""
    import subprocess
    import sys
    from pathlib import Path

    lint = Path(sys.executable).parent / "lint-imports"
    checked = subprocess.run([str(lint), "--config", "pyproject.toml", "--no-cache"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]


def test_the_generated_tables_of_the_documentation_are_current():
    """The settings and commands tables come from the code (`make docs`): a setting or command added or
    reworded without regenerating them fails here."""
    import subprocess
    import sys
    from pathlib import Path

    cog = Path(sys.executable).parent / "cog"
    documents = ["README.md", *sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md"))]
    checked = subprocess.run([str(cog), "--check", *documents], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, "run make docs: " + checked.stdout + checked.stderr


def test_the_documentation_points_only_inside_the_repository():
    """Every relative link of every Markdown file leads to a file of the repository, and nothing names a
    place outside it."""
    problems = []
    files = [p for p in PROJECT_ROOT.rglob("*.md") if not {".venv", "out", "node_modules"} & set(p.parts)
             and ".pytest_cache" not in p.parts]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(PROJECT_ROOT) or not resolved.exists():
                problems.append(f"{path.relative_to(PROJECT_ROOT)}: {target}")
        if "../shared" in text or "DESIGN.md" in text:
            problems.append(f"{path.relative_to(PROJECT_ROOT)} names a document outside the repository")
    assert problems == []


def test_the_protocol_test_vectors_are_what_the_code_signs_and_verifies():
    """docs/federation-protocol.md gives another implementation a signed envelope, its canonical bytes
    and the public key: they must stay exactly what this code produces and accepts."""
    import json

    import rfc8785
    from joserfc.jwk import KeySet, OKPKey

    from registry.crypto import envelope

    text = (PROJECT_ROOT / "docs" / "federation-protocol.md").read_text(encoding="utf-8")
    block = text.split("<!-- test-vector -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    vector = json.loads(block)
    claims = vector["claims"]
    assert rfc8785.dumps(claims).decode() == vector["canonical_payload"]
    assert envelope.body_hash(claims["body"]) == claims["body_hash"] == vector["body_hash"]
    signed = envelope.sign(KeySet([OKPKey.import_key(vector["private_jwk"])]), origin=claims["origin"],
                           seq=claims["seq"], record_id=claims["id"], record_type=claims["type"],
                           version=claims["version"], deleted=claims["deleted"],
                           owner_network=claims["owner_network"], updated_at=claims["updated_at"],
                           body=claims["body"])
    assert signed == vector["envelope"]
    public = KeySet.import_key_set({"keys": [vector["public_jwk"]]})
    assert envelope.verify(vector["envelope"], public) == claims
    tampered = vector["envelope"][:-2] + ("A" if vector["envelope"][-2] != "A" else "B") + vector["envelope"][-1]
    with pytest.raises(envelope.InvalidEnvelope):
        envelope.verify(tampered, public)


def test_the_architecture_names_only_code_that_exists():
    """docs/architecture.md walks through modules and functions by name: each must still be there."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for name in sorted(set(re.findall(r"`([a-z_/]+\.py)(?:::([A-Za-z_.]+))?`", text))):
        path, symbol = name
        candidates = [PROJECT_ROOT / "registry" / path, PROJECT_ROOT / path]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            missing.append(path)
        elif symbol and f"def {symbol.split('.')[-1]}" not in found.read_text(encoding="utf-8") \
                and f"class {symbol.split('.')[-1]}" not in found.read_text(encoding="utf-8"):
            missing.append(f"{path}::{symbol}")
    for package in re.findall(r"`([a-z_]+/)`", text):
        if not (PROJECT_ROOT / "registry" / package).is_dir() and not (PROJECT_ROOT / package).is_dir():
            missing.append(package)
    assert missing == []


# Values that break a rule somewhere: control characters, wrong types, impossible dates and addresses,
# empty strings and lists, unknown enum members, an unexpected property.
BAD_VALUES = ["a\u0001b", "\u0085", 12345, 1.5, True, None, "", [], {}, "2021-02-30", "2021-2-3", "not an e-mail",
              "x@", "no-scheme.example.org/path", "+0 555", "bogus", "A" * 20001, ["a", "a"], {"unexpected": 1}]


def _mutations(body):
    """The body with, in turn, each property removed, each value replaced by each bad value, and an unknown
    property added, at every depth."""
    def walk(node, rebuild):
        if isinstance(node, dict):
            yield rebuild(node | {"unknown_property": 1})
            for key, value in node.items():
                yield rebuild({k: v for k, v in node.items() if k != key})
                yield from walk(value, lambda new, key=key: rebuild(node | {key: new}))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, lambda new, index=index: rebuild(node[:index] + [new] + node[index + 1:]))
        for bad in BAD_VALUES:
            yield rebuild(bad)

    yield from walk(body, lambda new: new)


def test_the_fast_validator_gives_the_same_verdict_as_jsonschema():
    """Record bodies are first checked with jsonschema-rs and only explained by jsonschema: both must find
    the same bodies valid, over seeded bodies of every type and thousands of broken ones (200 drawn from each
    body's mutations, the same ones every run)."""
    from registry.services.seed import read_seed

    checked = disagreements = 0
    bodies = [(r.record_type, r.body) for r in read_seed(PROJECT_ROOT / "seed_data", "local")]
    # Every record type, and every fifteenth body of the types with many.
    sample = {id(b): (t, b) for t in contracts.RECORD_SCHEMAS for t2, b in bodies if t2 == t}
    chosen = [pair for i, pair in enumerate(sample.values()) if i % 15 == 0 or pair[0] in ("network", "procedure")]
    for record_type, body in chosen:
        reference = contracts.RECORD_SCHEMAS[record_type] + "#/$defs/body"
        slow, fast = contracts.validator(reference), contracts.fast_validator(reference)
        mutations = list(_mutations(body))
        for candidate in [body, *random.Random(record_type).sample(mutations, min(200, len(mutations)))]:
            checked += 1
            if fast.is_valid(candidate) != slow.is_valid(candidate):
                disagreements += 1
                assert disagreements < 1, (record_type, candidate)
    assert {t for t, _ in chosen} == set(contracts.RECORD_SCHEMAS) and checked > 5_000
