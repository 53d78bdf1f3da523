"""The `registry` command, run as a user runs it: separate processes, a real gunicorn."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REGISTRY = str(Path(sys.executable).parent / "registry")


def run(env, *args):
    result = subprocess.run([REGISTRY, *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node as `make run` leaves it: migrated, seeded, served by gunicorn on a free port."""
    instance = tmp_path_factory.mktemp("node")
    port = free_port()
    env = os.environ | {"REGISTRY_INSTANCE_PATH": str(instance), "REGISTRY_PORT": str(port)}
    env.pop("REGISTRY_DATABASE_URL", None)
    assert "database at revision" in run(env, "db", "upgrade")
    first = run(env, "seed")
    second = run(env, "seed")
    server = subprocess.Popen([REGISTRY, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield {"port": port, "env": env, "first": first, "second": second, "instance": instance}
    server.terminate()
    server.wait(timeout=30)


def raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """A GET whose request line carries `target` byte for byte, as curl sends a Cyrillic URL."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_seed_twice_writes_once(node):
    assert "authority: 0 written" not in node["first"]
    for line in node["second"].strip().splitlines():
        assert " 0 written" in line, node["second"]
    assert (node["instance"] / "registry.sqlite3").exists()


def test_served_lookup_with_a_cyrillic_country(node):
    status, body = raw_get(node["port"], "/api/v1/lookup?country=Кыргызстан&crime_type=human%20trafficking"
                           .encode())
    assert status == 200, body
    answer = json.loads(body)
    first = answer["results"][0]
    assert first["authority"]["names"]["en"] == "Prosecutor General's Office of the Kyrgyz Republic"
    assert first["contact_points"] and all("person" not in cp for cp in first["contact_points"])
    assert any(n["id"] == "local:note-kg-tip-urgent" for n in first["emergency_notes"])


def test_served_errors_are_problems(node):
    status, body = raw_get(node["port"], b"/api/v1/authorities?bogus=1")
    assert status == 400 and json.loads(body)["title"] == "Unknown parameter"


def test_config_prints_the_effective_settings(node):
    settings = json.loads(run(node["env"], "config"))
    assert settings["node_id"] == "local" and settings["namespace"] == "local"
    assert settings["database_url"].startswith("sqlite:///")


def test_bad_setting_is_a_usage_error(node):
    result = subprocess.run([REGISTRY, "config"], env=node["env"] | {"REGISTRY_NODE_ID": "Not Valid"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "REGISTRY_NODE_ID" in result.stderr
