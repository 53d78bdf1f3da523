"""What an operator relies on: /healthz and /readyz, request ids (answers, audit log, logs), the JSON
access log and the Prometheus metrics of a served node whose workers share their counts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests
from conftest import client_with, fresh_database_url, make_settings
from nodes import REGISTRY, free_port

from registry import create_app
from registry.auth.clients import create_client
from registry.services import Page, audit


@pytest.fixture
def fresh_app(backend, tmp_path):
    def make(**overrides):
        return create_app(make_settings(fresh_database_url(backend, tmp_path), tmp_path, **overrides))

    return make


def test_healthz_and_readyz_say_the_node_can_serve(fresh_app):
    app = fresh_app()
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_data(as_text=True)
    checks = ready.get_json()["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {"database": "ok", "search": "ok",
                                                                         "keys": "ok"}
    assert checks["database"]["backend"] == app.extensions["registry"].db.dialect


def test_readyz_names_what_fails_while_healthz_stays_up(tmp_path):
    # Nothing listens on port 1: the database is unreachable, the process is alive.
    settings = make_settings("postgresql+psycopg://postgres@127.0.0.1:1/registry?connect_timeout=2", tmp_path)
    client = create_app(settings).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.content_type == "application/problem+json"
    body = ready.get_json()
    assert "database" in body["detail"] and body["checks"]["database"]["status"] == "failing"
    assert body["checks"]["keys"]["status"] == "ok" and ready.headers["Retry-After"]


def test_probes_and_scrapes_are_not_rate_limited(fresh_app):
    client = fresh_app(rate_limit_address="2/minute").test_client()
    for _ in range(6):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200, path
    statuses = [client.get("/api/v1/countries").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_metrics_answer_only_the_allowed_addresses(fresh_app):
    app = fresh_app(metrics_allow="10.0.0.0/8")
    assert app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.2.3.4"}).status_code == 200
    refused = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert refused.status_code == 404 and b"registry_" not in refused.data
    closed = fresh_app(metrics_allow="off").test_client().get("/metrics")
    assert closed.status_code == 404


def test_request_ids_are_kept_or_made_returned_and_audited(fresh_app):
    app = fresh_app()
    ctx = app.extensions["registry"]
    client = app.test_client()
    mine = client.get("/api/v1/countries", headers={"X-Request-ID": "trace-42.a"})
    assert mine.headers["X-Request-ID"] == "trace-42.a"
    # A cached answer carries the id of the request it answers, not of the one that filled the cache.
    again = client.get("/api/v1/countries", headers={"X-Request-ID": "trace-43"})
    assert again.headers["X-Request-ID"] == "trace-43"
    made = {client.get("/api/v1/countries", headers=headers).headers["X-Request-ID"]
            for headers in ({}, {"X-Request-ID": "has spaces"}, {"X-Request-ID": "x" * 129},
                            {"X-Request-ID": "-leading-dash"})}
    assert len(made) == 4 and all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made)

    credentials = create_client(ctx, f"admin-{uuid.uuid4().hex[:6]}", "admin")
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(credentials.client.client_id, credentials.client_secret)).get_json()["access_token"]
    created = client_with(app, token).post("/api/v1/admin/clients", json={"name": "partner", "scope":
                                                                           "directory:read"},
                                           headers={"X-Request-ID": "create-partner-1"})
    assert created.status_code == 201, created.get_data(as_text=True)
    refused = client_with(app, "not-a-token").post("/api/v1/admin/clients", json={},
                                                  headers={"X-Request-ID": "refused-1"})
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] == "refused-1"
    entries = audit.list_entries(ctx, audit.AuditFilters(), Page(1, 10)).items
    assert {e["request_id"] for e in entries} >= {"create-partner-1", "refused-1"}
    listed = client_with(app, token).get("/api/v1/admin/audit").get_json()
    assert any(e["request_id"] == "create-partner-1" for e in listed)


def _serve(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        server = subprocess.Popen([REGISTRY, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{env['REGISTRY_PORT']}/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:  # not listening yet, or a worker still booting on a busy machine
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError(f"registry serve did not start: {log_path.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def _samples(text: str, name: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " ")}


def test_a_served_node_sums_its_workers_metrics_and_logs_json_lines(backend, tmp_path):
    port = free_port()
    env = os.environ | {
        "REGISTRY_DATABASE_URL": fresh_database_url(backend, tmp_path), "REGISTRY_INSTANCE_PATH": str(tmp_path),
        "REGISTRY_PORT": str(port), "REGISTRY_WORKERS": "2", "REGISTRY_RATE_LIMIT_ADDRESS": "100000/minute",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "serve.log"
    server = _serve(env, log_path)
    try:
        base = f"http://127.0.0.1:{port}"
        # A sync worker serves one connection at a time: a request that has not finished arriving holds
        # one worker, so the others are answered by the other worker, then the held one is finished.
        held = socket.create_connection(("127.0.0.1", port))
        held.sendall(b"GET /api/v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: held\r\n")
        time.sleep(0.5)
        for n in range(40):
            assert requests.get(f"{base}/api/v1/countries?q=secret-words", headers={"X-Request-ID": f"r-{n}"},
                                timeout=10).status_code in (200, 400)
        held.sendall(b"Connection: close\r\n\r\n")
        assert held.recv(64).startswith(b"HTTP/1.1 200")
        held.close()
        for _ in range(3):
            requests.get(f"{base}/api/v1/networks", timeout=10)
        scraped = requests.get(f"{base}/metrics", timeout=10)
        assert scraped.status_code == 200 and scraped.headers["Content-Type"].startswith("text/plain")
        totals = _samples(scraped.text, "registry_http_requests_total")
        assert sum(v for k, v in totals.items() if 'route="/api/v1/countries"' in k) == 41
        assert sum(v for k, v in totals.items() if 'route="/api/v1/networks"' in k) == 3
        assert not any("/healthz" in k or "/metrics" in k for k in totals)
        cache = _samples(scraped.text, "registry_response_cache_total")
        assert cache and sum(cache.values()) >= 3
        assert _samples(scraped.text, "registry_webhook_subscriptions")
        assert _samples(scraped.text, "registry_search_index_lag_changes") == {"registry_search_index_lag_changes": 0}
        # Both workers answered: their files are in the shared folder.
        assert len(list((tmp_path / "metrics").glob("*/counter_*.db"))) == 2
    finally:
        _stop(server)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "registry.access"]
    assert {line["request_id"] for line in access} >= {f"r-{n}" for n in range(40)}
    first = next(line for line in access if line["request_id"] == "r-0")
    assert first["route"] == "/api/v1/countries" and first["status"] in (200, 400) and first["duration_ms"] >= 0
    assert "secret-words" not in log_path.read_text()  # query strings are never logged
    assert not any(line.get("path") == "/healthz" for line in access)
    assert any(line["logger"].startswith("gunicorn") for line in lines)
