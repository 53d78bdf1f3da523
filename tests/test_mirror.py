"""The reference partner client (`registry mirror`) against a real node process."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest
from nodes import REGISTRY, Node


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    instance = tmp_path_factory.mktemp("mirrored-node")
    served = Node("node-m", instance, f"sqlite:///{instance / 'registry.sqlite3'}").start()
    served.cli("seed")
    yield served
    served.stop()


def mirror(node: Node, out, *credentials: str, extra=(), check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([REGISTRY, "mirror", node.url, "--client-id", credentials[0], "--client-secret",
                             credentials[1], "--out", str(out), "--allow-host", "127.0.0.1", *extra],
                            capture_output=True, text=True, timeout=120, env=node.env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def held(out) -> dict[str, tuple]:
    with sqlite3.connect(out / "mirror.sqlite3") as db:
        return {row[0]: row[1:] for row in db.execute("SELECT id, version, deleted, verified, envelope FROM records")}


def test_mirrors_verifies_and_follows_changes(node, tmp_path):
    credentials = node.client("partner-system", "directory:read directory:restricted")
    first = mirror(node, tmp_path, *credentials).stdout
    assert first.startswith("bootstrapped; ") and "0 without an envelope" in first
    copy = held(tmp_path)
    live = node.digest("node-m")[0]
    assert len(copy) == live and all(verified == 1 for _v, _d, verified, _e in copy.values())
    assert copy["node-m:kg-gpo"][3] == node.record("authority", "node-m:kg-gpo").envelope

    body = dict(node.record("authority", "node-m:kg-gpo").body) | {"acronym": "GPO-KG"}
    node.write("authority", "kg-gpo", body, "casc")
    node.write("contact_point", "kg-gpo-ibraimov", None, "casc")
    second = mirror(node, tmp_path, *credentials).stdout
    assert not second.startswith("bootstrapped") and "2 applied (2 verified" in second
    copy = held(tmp_path)
    assert copy["node-m:kg-gpo"][:3] == (2, 0, 1) and copy["node-m:kg-gpo-ibraimov"][:3] == (2, 1, 1)
    assert "0 applied" in mirror(node, tmp_path, *credentials).stdout


def test_below_the_restricted_tier_records_are_kept_unverified(node, tmp_path):
    credentials = node.client("partner-tier", "directory:read")
    out = mirror(node, tmp_path, *credentials).stdout
    assert "0 verified" in out
    assert all(verified == 0 and envelope is None for _v, _d, verified, envelope in held(tmp_path).values())


def test_a_record_that_does_not_verify_is_not_kept(node, tmp_path):
    credentials = node.client("wrong-keys", "directory:read directory:restricted")
    # The node's access-token keys are not its record keys: nothing verifies with them.
    result = mirror(node, tmp_path, *credentials, extra=("--trust", f"node-m={node.url}/.well-known/jwks.json"),
                    check=False)
    assert result.returncode == 1 and "does not verify" in result.stderr
    assert held(tmp_path) == {}, "the bootstrap is all or nothing"
