"""Request limits: the body size (413), rate limits per address, per client and on the OAuth
endpoints (429 with Retry-After), and the page-size cap (422). Each test builds its own app:
rate-limit counters live in the app's limiter (memory://), so they never leak between tests."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import client_with, fresh_database_url, make_settings

from registry import contracts, create_app
from registry.auth.clients import create_client
from registry.services import Page, audit
from registry.services.seed import read_seed, write_seed_record

AUTHORITIES = "/api/v1/authorities"


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    assert [e.message for e in contracts.validator("problem.json").iter_errors(body)] == []
    return body


def too_many(response):
    body = problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Remaining"] == "0"
    return body


@pytest.fixture
def make_app(backend, tmp_path):
    """Apps on one fresh database (and one instance folder, so one signing key), with settings of choice."""
    url = fresh_database_url(backend, tmp_path)
    apps = []

    def make(**overrides):
        apps.append(create_app(make_settings(url, tmp_path, **overrides)))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["registry"].db.dispose()


def credentials(app, scope="directory:read") -> tuple[str, str]:
    made = create_client(app.extensions["registry"], f"limits-{len(scope)}-{id(app)}-{scope[:20]}", scope)
    return made.client.client_id, made.client_secret


def token_for(app, scope="directory:read", address="127.0.0.1") -> str:
    response = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                      auth=credentials(app, scope), environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def add_network(app, code: str) -> None:
    """One network of the seed (without members), so that publish:<code> is a scope this node grants."""
    ctx = app.extensions["registry"]
    record = next(r for r in read_seed(ctx.settings.seed_path, ctx.settings.namespace)
                  if r.record_type == "network" and r.local_id == code)
    with ctx.db.write() as session:
        write_seed_record(session, ctx, dataclasses.replace(record, body=record.body | {"members": []}))


def authority(note_length: int) -> dict:
    """A valid authority whose size is set by the notes on its channels."""
    return {"owner_network": "casc", "names": {"en": "Demo Anti-Corruption Agency of Kyrgyzstan"},
            "kind": "anti_corruption_body", "country": "KG", "competences": ["corruption"],
            "request_types": ["mla"], "languages": ["ru", "en"], "status": "active",
            "channels": [{"kind": "email", "value": f"desk{i}@example.org", "visibility": "public",
                          "note": "n" * note_length} for i in range(4)]}


# -- body size -------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_writes_nothing(make_app):
    small = make_app(max_body_bytes=4096)
    add_network(small, "casc")
    publisher = client_with(small, token_for(small, "publish:casc"))
    big = authority(1500)
    assert len(json.dumps(big)) > 4096

    body = problem(publisher.post(AUTHORITIES, json=big), 413)
    assert body["title"] == "Request Entity Too Large"
    assert publisher.get(AUTHORITIES).headers["X-Total-Count"] == "0", "nothing written"
    problem(small.test_client().post(AUTHORITIES, json=big), 413)
    problem(publisher.post(AUTHORITIES, data=b"{" + b" " * 5000 + b"}", content_type="application/json"), 413)
    problem(small.test_client().post("/oauth/token", data={"grant_type": "client_credentials", "x": "y" * 5000}),
            413)
    admin = client_with(small, token_for(small, "admin"))
    problem(admin.post("/api/v1/admin/clients", json={"name": "big", "scope": "admin " * 1000}), 413)
    assert "big" not in [c["name"] for c in admin.get("/api/v1/admin/clients").get_json()]
    refusals = audit.list_entries(small.extensions["registry"], audit.AuditFilters(outcome="refused"), Page(1, 50))
    assert {(e["route"], e["status"]) for e in refusals.items} >= {(AUTHORITIES, 413), ("/api/v1/admin/clients", 413)}

    # The same body is a valid record: only its size was refused.
    assert publisher.post(AUTHORITIES, json=authority(100)).status_code == 201
    large = make_app(max_body_bytes=64 * 1024)
    response = client_with(large, token_for(large, "publish:casc")).post(AUTHORITIES, json=big)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert large.test_client().get(AUTHORITIES).headers["X-Total-Count"] == "2"


def test_an_oversized_token_request_is_audited(make_app):
    app = make_app(max_body_bytes=2048)
    response = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials", "x": "y" * 5000})
    problem(response, 413)
    entries = audit.list_entries(app.extensions["registry"], audit.AuditFilters(), Page(1, 10)).items
    assert [(e["route"], e["status"], e["outcome"]) for e in entries] == [("/oauth/token", 413, "refused")]


# -- rate limits -----------------------------------------------------------------------------------


def test_anonymous_requests_are_limited_per_address(make_app):
    app = make_app(rate_limit_address="3/minute")
    anonymous = app.test_client()
    for _ in range(3):
        response = anonymous.get(AUTHORITIES)
        assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "3"
    body = too_many(anonymous.get(AUTHORITIES))
    assert "3 per 1 minute" in body["detail"]
    too_many(anonymous.get("/api/v1/networks"))
    too_many(anonymous.post(AUTHORITIES, json={}))

    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert elsewhere.get(AUTHORITIES).status_code == 200, "another address has its own count"
    authenticated = client_with(app, token_for(app))  # the token endpoint has a limit of its own
    for _ in range(5):
        assert authenticated.get(AUTHORITIES).status_code == 200, "a client is counted per client, not per address"


def test_a_client_is_limited_per_client(make_app):
    app = make_app(rate_limit_client="2/minute")
    first = client_with(app, token_for(app, "directory:read"))
    for _ in range(2):
        assert first.get(AUTHORITIES).status_code == 200
    too_many(first.get(AUTHORITIES))
    too_many(first.get("/api/v1/networks"))

    second = client_with(app, token_for(app, "directory:read directory:restricted"))
    assert second.get(AUTHORITIES).status_code == 200, "another client from the same address"
    for _ in range(4):
        assert app.test_client().get(AUTHORITIES).status_code == 200, "anonymous requests from the same address"

    elsewhere = client_with(app, first.environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer "))
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    too_many(elsewhere.get(AUTHORITIES))  # the count follows the client to another address


def test_the_oauth_endpoints_are_limited_per_address(make_app):
    app = make_app(rate_limit_token="3/minute")
    client_id, secret = credentials(app)
    oauth = app.test_client()
    assert oauth.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong")) \
        .status_code == 401
    token = oauth.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)) \
        .get_json()["access_token"]
    assert oauth.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret)).status_code == 200
    too_many(oauth.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)))
    too_many(oauth.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret)))

    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    response = elsewhere.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, "another address has its own count"
    assert client_with(app, token).get(AUTHORITIES).status_code == 200, "the API is not held back"
    assert oauth.get("/.well-known/jwks.json").status_code == 200, "nor the discovery documents"
    assert oauth.get("/.well-known/oauth-authorization-server").status_code == 200
    assert app.test_client().get(AUTHORITIES).status_code == 200


def test_a_refused_request_is_audited_with_its_429(make_app):
    app = make_app(rate_limit_address="1/minute")
    anonymous = app.test_client()
    assert anonymous.post(AUTHORITIES, json={}).status_code == 401
    too_many(anonymous.post(AUTHORITIES, json={}))
    entries = audit.list_entries(app.extensions["registry"], audit.AuditFilters(), Page(1, 10)).items
    assert [(e["status"], e["outcome"]) for e in entries] == [(429, "refused"), (401, "refused")]


# -- page size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [AUTHORITIES, "/api/v1/contact-points", "/api/v1/emergency-notes"])
def test_page_size_above_the_maximum_is_422(make_app, route):
    app = make_app(max_page_size=20, default_page_size=10)
    anonymous = app.test_client()
    assert anonymous.get(route, query_string={"page_size": 20}).status_code == 200
    body = problem(anonymous.get(route, query_string={"page_size": 21}), 422)
    assert body["errors"][0]["parameter"] == "page_size" and "20" in body["detail"]
    problem(anonymous.get(route, query_string={"page_size": 0}), 422)
    problem(anonymous.get(route, query_string={"page_size": "ten"}), 422)


def test_invalid_tokens_count_against_the_address_limit_before_they_are_refused(make_app):
    app = make_app(rate_limit_address="5/minute")
    client = app.test_client()
    statuses = [client.get(AUTHORITIES, headers={"Authorization": f"Bearer forged.{n}.token"}).status_code
                for n in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    # Well-formed but expired, revoked or foreign tokens are counted the same way, and so is a wrong scheme.
    assert client.get(AUTHORITIES, headers={"Authorization": "Basic eDp5"}).status_code == 429


def test_refusals_of_callers_without_a_valid_token_are_counted_not_logged_one_by_one(make_app):
    app = make_app(rate_limit_address="40/minute")
    client = app.test_client()
    for n in range(60):
        client.post(AUTHORITIES, json={}, headers={"Authorization": f"Bearer forged.{n}"})
    for n in range(10):
        client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("guessed", f"secret-{n}"))
    entries = audit.list_entries(app.extensions["registry"], audit.AuditFilters(), Page(1, 100)).items
    by_status = {(e["route"], e["status"]): e["repeated"] for e in entries}
    assert by_status == {(AUTHORITIES, 401): 40, (AUTHORITIES, 429): 20, ("/oauth/token", 401): 10}, by_status
    # An identified client's refusals stay one entry each.
    token = token_for(app, "directory:read")
    for _ in range(3):
        assert client.post(AUTHORITIES, json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 422
    entries = audit.list_entries(app.extensions["registry"], audit.AuditFilters(), Page(1, 100)).items
    assert len(entries) == 3 + 1 + 3


def test_audit_prune_drops_entries_older_than_the_retention(make_app):
    from datetime import timedelta

    from sqlalchemy import update

    from registry import models
    from registry.db import utcnow

    app = make_app()
    ctx = app.extensions["registry"]
    for n in range(4):
        audit.record(ctx, client_id=f"c{n}", address="192.0.2.1", method="POST", route=AUTHORITIES, status=201)
    with ctx.db.write() as session:
        session.execute(update(models.AuditEntry).where(models.AuditEntry.client_id.in_(["c0", "c1"]))
                        .values(at=utcnow() - timedelta(days=40), last_at=utcnow() - timedelta(days=40)))
    assert audit.prune(ctx, timedelta(days=30)) == 2
    remaining = audit.list_entries(ctx, audit.AuditFilters(), Page(1, 10)).items
    assert sorted(e["client_id"] for e in remaining) == ["c2", "c3"]


@pytest.mark.parametrize("depth", [33, 1000, 5000])
def test_bodies_nested_too_deep_are_413_on_every_kind_of_route(make_app, depth):
    app = make_app()
    add_network(app, "casc")
    client = app.test_client()
    publisher = {"Authorization": f"Bearer {token_for(app, 'publish:casc')}"}
    admin = {"Authorization": f"Bearer {token_for(app, 'admin')}"}
    nested = '{"names": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    for method, path, headers in (("POST", AUTHORITIES, publisher), ("PATCH", f"{AUTHORITIES}/local:x", publisher),
                                  ("POST", "/api/v1/admin/clients", admin), ("POST", "/api/v1/subscriptions", admin)):
        response = client.open(path, method=method, data=nested, content_type="application/json",
                               headers=headers | {"If-Match": '"1-x"'})
        body = problem(response, 413)
        assert "32 levels" in body["detail"], (method, path)
    arrays = "[" * depth + "]" * depth
    assert client.post(AUTHORITIES, data=arrays, content_type="application/json", headers=publisher).status_code == 413


def test_bodies_nested_within_the_limit_are_read(make_app):
    app = make_app()
    add_network(app, "casc")
    publisher = {"Authorization": f"Bearer {token_for(app, 'publish:casc')}"}
    nested = '{"names": ' + '{"a": ' * 30 + "1" + "}" * 30 + "}"
    response = app.test_client().post(AUTHORITIES, data=nested, content_type="application/json", headers=publisher)
    problem(response, 422)


def test_worker_memory_storage_cleans_at_most_once_a_second_and_counts_as_memory_storage():
    import threading

    from limits import RateLimitItemPerSecond
    from limits.storage import MemoryStorage, storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from registry.api.limits import WorkerMemoryStorage, _storage_uri

    storage = storage_from_string(_storage_uri("memory://"))
    assert isinstance(storage, WorkerMemoryStorage)
    started = []
    original = threading.Timer.start
    threading.Timer.start = lambda timer: (started.append(timer), original(timer))[1]
    try:
        ours, theirs = FixedWindowRateLimiter(storage), FixedWindowRateLimiter(MemoryStorage())
        limit = RateLimitItemPerSecond(50)
        answers = []
        for _ in range(200):
            answers.append((ours.hit(limit, "a"), theirs.hit(limit, "a")))
            threading.Event().wait(0.0005)
    finally:
        threading.Timer.start = original
    assert all(a == b for a, b in answers), "the same hits must be allowed and refused"
    ours_started = [t for t in started if getattr(t, "function", None).__self__ is storage]
    assert len(ours_started) <= 2, f"{len(ours_started)} cleaning threads in well under a second"
    assert len(started) - len(ours_started) > len(ours_started), "MemoryStorage itself starts more"
    assert _storage_uri("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379"
