"""The `registry` command, run as a user runs it: separate processes, a real gunicorn."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

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
    assert first["contact_points"] == [], "contact points are served from the partner tier up"
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


def created(output: str) -> tuple[str, str]:
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    return fields["client_id"].strip(), fields["client_secret"].strip()


def test_a_secretariat_publishes_through_a_served_node(node):
    """A publisher's first session, against gunicorn: CLI client, token, create, lookup, 403, 428, history."""
    base = f"http://127.0.0.1:{node['port']}"
    casc = created(run(node["env"], "clients", "create", "--name", "casc-secretariat", "--scope", "publish:casc"))
    wacap = created(run(node["env"], "clients", "create", "--name", "wacap-secretariat", "--scope", "publish:wacap"))
    reader = created(run(node["env"], "clients", "create", "--name", "case-system", "--scope",
                         "directory:read directory:restricted"))
    assert "casc-secretariat" in run(node["env"], "clients", "list")

    def token(credentials, **form):
        response = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", **form},
                                 auth=credentials, timeout=10)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    casc_token, wacap_token, reader_token = token(casc), token(wacap), token(reader)
    authority = {"owner_network": "casc", "names": {"en": "Demo Anti-Corruption Agency of Kyrgyzstan"},
                 "kind": "anti_corruption_body", "country": "KG", "competences": ["corruption"],
                 "request_types": ["mla"], "languages": ["ru", "en"], "status": "active",
                 "channels": [{"kind": "email", "value": "demo-agency@example.org", "visibility": "public"}]}
    response = requests.post(f"{base}/api/v1/authorities", json=authority, headers=casc_token, timeout=10)
    assert response.status_code == 201, response.text
    record_id, etag = response.json()["id"], response.headers["ETag"]
    lookup = requests.get(f"{base}/api/v1/lookup", params={"country": "KG", "crime_type": "corruption"}, timeout=10)
    assert record_id in [r["authority"]["id"] for r in lookup.json()["results"]]

    item = f"{base}/api/v1/authorities/{record_id}"
    refused = requests.patch(item, json={"acronym": "DACA"}, headers=wacap_token | {"If-Match": etag}, timeout=10)
    assert refused.status_code == 403 and refused.json()["scope"] == "publish:casc"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert requests.patch(item, json={"acronym": "DACA"}, headers=casc_token, timeout=10).status_code == 428
    updated = requests.patch(item, json={"acronym": "DACA"}, headers=casc_token | {"If-Match": etag}, timeout=10)
    assert updated.status_code == 200 and updated.json()["version"] == 2
    history = requests.get(f"{item}/history", timeout=10).json()
    assert [(h["version"], h["actor"]) for h in history] == [(1, casc[0]), (2, casc[0])]
    assert history[1]["changed"] == ["acronym"]

    anonymous = requests.get(f"{base}/api/v1/lookup", params={"country": "KG"}, timeout=10).text
    restricted = requests.get(f"{base}/api/v1/lookup", params={"country": "KG"}, headers=reader_token, timeout=10)
    assert "Ибраимов" not in anonymous and "a.ibraimov.demo@example.org" not in anonymous
    assert "Ибраимов" in restricted.text and "a.ibraimov.demo@example.org" in restricted.text

    audit = [json.loads(line) for line in run(node["env"], "audit", "--client", casc[0], "--json").splitlines()]
    assert [(e["method"], e["status"]) for e in audit] == [("PATCH", 200), ("PATCH", 428), ("POST", 201),
                                                           ("POST", 200)], "newest first, the token request last"
    refusals = run(node["env"], "audit", "--client", wacap[0], "--outcome", "refused")
    assert "403" in refusals and "publish:casc" in refusals

    # A key rotation from the CLI: running workers sign with the new key, old tokens still verify.
    assert "retired" in run(node["env"], "keys", "rotate")
    assert requests.get(item, headers=casc_token, timeout=10).status_code == 200
    jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=10).json()
    assert len(jwks["keys"]) == 2

    # Rotating the record-signing key leaves the token keys alone and keeps the old record key published.
    record_keys = requests.get(f"{base}/.well-known/registry-keys.json", timeout=10).json()["keys"]
    assert "retired" in run(node["env"], "keys", "rotate", "--record-signing")
    after = requests.get(f"{base}/.well-known/registry-keys.json", timeout=10).json()["keys"]
    assert len(after) == len(record_keys) + 1 and {k["kid"] for k in record_keys} < {k["kid"] for k in after}
    assert requests.get(f"{base}/.well-known/jwks.json", timeout=10).json() == jwks


def test_search_on_a_served_node(node):
    """A practitioner's search session: one contact point in two scripts and with a typo, a country and a
    crime read from the words, hostile words, against gunicorn."""
    base = f"http://127.0.0.1:{node['port']}"
    reader = created(run(node["env"], "clients", "create", "--name", "search-reader", "--scope",
                         "directory:restricted"))
    response = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=reader, timeout=10)
    restricted = {"Authorization": f"Bearer {response.json()['access_token']}"}
    found = set()
    for q in ("Ibraimov", "Ибраимов", "ibraimof"):
        answer = requests.get(f"{base}/api/v1/search", params={"q": q}, headers=restricted, timeout=10).json()
        found.add(answer["results"][0]["id"])
    assert found == {"local:kg-gpo-ibraimov"}
    assert requests.get(f"{base}/api/v1/search", params={"q": "Ibraimov"}, timeout=10).json()["total"] == 0
    answer = requests.get(f"{base}/api/v1/search", params={"q": "corruption Kyrgyzstan"}, timeout=10).json()
    first = answer["results"][0]
    assert first["type"] == "authority" and first["country"] == "KG" and "Anti-Corruption" in first["title"]
    for q in ('"abc', "a OR", "*", "NEAR(", "x:y", "x" * 10_000):
        status = requests.get(f"{base}/api/v1/search", params={"q": q}, timeout=10).status_code
        # gunicorn itself refuses a request line over 4 KiB with a 400
        assert status in (200, 400, 422), (q[:20], status)


def test_reindex_and_an_upgrade_rebuild_the_search_index(node):
    import sqlite3

    reindexed = run(node["env"], "reindex")
    count = int(reindexed.split("sqlite-fts5: ")[1].split()[0])
    assert count > 400 and json.loads(reindexed.split("indexed\n", 1)[1])["documents"] == count
    with sqlite3.connect(node["instance"] / "registry.sqlite3") as database:  # as a database from before search
        database.executescript("DELETE FROM search_facets; DELETE FROM search_documents; DELETE FROM search_fts;")
    assert f"search index built: {count} documents" in run(node["env"], "db", "upgrade")
    assert "search index built" not in run(node["env"], "db", "upgrade")


def test_the_embedded_database_is_readable_by_its_owner_only(tmp_path):
    import os
    import stat

    from registry import create_app, migrations
    from registry.config import Settings
    from registry.services.seed import seed

    instance = tmp_path / "fresh-instance"
    app = create_app(Settings.from_env({}, instance_path=str(instance)))
    ctx = app.extensions["registry"]
    migrations.upgrade(ctx.settings.database_url)
    seed(ctx)
    database = instance / "registry.sqlite3"
    for path in (database, instance / "registry.sqlite3-wal"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(instance).st_mode) & 0o077 == 0
    ctx.db.dispose()
    database.chmod(0o644)  # a database made by an older release is tightened at the next start
    create_app(Settings.from_env({}, instance_path=str(instance))).extensions["registry"].db.dispose()
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600


def test_opening_the_database_again_in_a_process_keeps_its_commits_visible_to_others(tmp_path):
    """A second engine on the same SQLite file (a command run inside a serving process, a second app
    in one test process) must leave the first engine's POSIX locks alone: without them another process
    resets the write-ahead log, and later commits of the first engine are seen by nobody else."""
    import subprocess
    import sys

    from sqlalchemy import text

    from registry.db import make_engine

    database = tmp_path / "shared.sqlite3"
    first = make_engine(f"sqlite:///{database}")
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    holder = first.connect()  # a connection that stays open, as a serving process's pool keeps one
    holder.execute(text("SELECT count(*) FROM t")).scalar()
    holder.commit()
    make_engine(f"sqlite:///{database}").dispose()
    read = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()")
    subprocess.run([sys.executable, "-c", read, str(database)], check=True, capture_output=True)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    holder.commit()
    seen = subprocess.run([sys.executable, "-c", read, str(database)], check=True, capture_output=True, text=True)
    assert seen.stdout.strip() == "1"
    holder.close()
    first.dispose()
