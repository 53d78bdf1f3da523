"""Control characters, the NUL byte first (PostgreSQL cannot store it), never reach a query or a stored
record: path ids are matched against their patterns by routing (404), texts of bodies and forms are
checked against the schemas' patterns (422), and what a refused request claimed is logged cleaned."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from conftest import bearer, client_with, issue_token
from test_publishing import AUTHORITY, NOTE

from registry import create_app
from registry.services import Page, audit
from registry.services.seed import seed

NUL = "\x00"


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    from conftest import fresh_database_url, make_settings

    tmp_path = tmp_path_factory.mktemp(f"control-{backend}")
    app = create_app(make_settings(fresh_database_url(backend, tmp_path), tmp_path, rate_limit_token="10000/minute",
                                   rate_limit_client="10000/minute", rate_limit_address="10000/minute"))
    seed(app.extensions["registry"])
    yield app
    app.extensions["registry"].db.dispose()


@pytest.fixture(scope="module")
def tokens(node):
    made = {}

    def token(scope):
        if scope not in made:
            made[scope] = issue_token(node, scope)
        return made[scope]

    return token


@pytest.mark.parametrize("path", [
    "/api/v1/authorities/local:kg-gpo{c}", "/api/v1/authorities/{c}", "/api/v1/contact-points/local:{c}x",
    "/api/v1/emergency-notes/{c}", "/api/v1/networks/casc{c}", "/api/v1/countries/K{c}G",
    "/api/v1/subscriptions/sub_{c}", "/api/v1/federation/origins/local{c}/changes",
    "/api/v1/federation/origins/{c}/snapshot", "/api/v1/admin/clients/{c}",
    "/api/v1/authorities/local:kg-gpo{c}/history", "/api/v1/networks/{c}/history",
])
@pytest.mark.parametrize("character", [NUL, "\x1b", "\x7f", "\u0085"])
def test_path_ids_that_cannot_name_anything_are_404_before_any_query(node, tokens, path, character):
    admin = bearer(tokens("admin federation:read directory:read"))
    response = node.test_client().get(quote(path.format(c=character), safe="/:"), headers=admin)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/v1/admin/peers/{c}"), ("DELETE", "/api/v1/admin/origins/x{c}"),
    ("DELETE", "/api/v1/subscriptions/sub_{c}"), ("PATCH", "/api/v1/authorities/local:{c}"),
    ("PUT", "/api/v1/networks/casc/members/local:kg{c}"),
])
def test_write_paths_with_control_characters_are_404(node, tokens, method, path):
    token = bearer(tokens("admin publish:casc"))
    response = node.test_client().open(quote(path.format(c=NUL), safe="/:"), method=method, json={},
                                       headers=token | {"If-Match": '"1-x"'})
    assert response.status_code == 404, response.get_data(as_text=True)


@pytest.mark.parametrize("client_id", [NUL, f"abc{NUL}", "\x1b[31mred", "x" * 65])
def test_token_requests_with_impossible_client_ids_are_invalid_client(node, client_id):
    client = node.test_client()
    by_form = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                "client_secret": "s"})
    by_basic = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "s"))
    for response in (by_form, by_basic):
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.get_json()["error"] == "invalid_client"
    entries = audit.list_entries(node.extensions["registry"], audit.AuditFilters(outcome="refused"), Page(1, 5))
    assert entries.items[0]["route"] == "/oauth/token"
    assert NUL not in (entries.items[0]["client_id"] or "") and "\x1b" not in (entries.items[0]["client_id"] or "")


@pytest.mark.parametrize(("field", "value", "path"), [
    ("names", {"en": f"Prosecutor{NUL}"}, "$.names.en"),
    ("names", {"en": "Bell\x07"}, "$.names.en"),
    ("acronym", f"GP{NUL}", "$.acronym"),
    ("website", "https://example.org/\x00", "$.website"),
    ("channels", [{"kind": "email", "value": f"desk{NUL}@example.org", "visibility": "public"}], "$.channels[0].value"),
])
def test_record_texts_with_control_characters_are_refused(node, field, value, path):
    token = issue_token(node, "publish:casc")
    response = client_with(node, token).post("/api/v1/authorities", json=AUTHORITY | {field: value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["path"].startswith(path)


def test_long_texts_keep_line_breaks_and_tabs(node):
    token = issue_token(node, "publish:casc")
    body = {"en": "Call the duty desk first.\n\tThen send the request by e-mail.\r\nKeep the reference."}
    created = client_with(node, token).post("/api/v1/emergency-notes", json=NOTE | {"body": body})
    assert created.status_code == 201, created.get_data(as_text=True)
    refused = client_with(node, token).post("/api/v1/emergency-notes", json=NOTE | {"body": {"en": "a\x00b"}})
    assert refused.status_code == 422


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/admin/clients", {"name": f"x{NUL}", "scope": "directory:read"}),
    ("/api/v1/admin/clients", {"name": "x", "scope": f"directory:read{NUL}"}),
    ("/api/v1/admin/peers", {"name": "peer", "url": "https://peer.example.org", "client_id": f"a{NUL}",
                             "client_secret": "s"}),
    ("/api/v1/admin/origins", {"node_id": f"casc{NUL}", "namespace": "casc",
                               "jwks_url": "https://casc.example.org/keys"}),
])
def test_administration_bodies_with_control_characters_are_refused(node, path, body):
    response = node.test_client().post(path, json=body, headers=bearer(issue_token(node, "admin")))
    assert response.status_code == 422, response.get_data(as_text=True)


def test_subscription_bodies_with_control_characters_are_refused(node):
    reader = bearer(issue_token(node, "directory:read"))
    for body in ({"url": f"https://hooks.example.org/{NUL}"}, {"url": "https://hooks.example.org/",
                                                               "countries": [f"KG{NUL}"]}):
        response = node.test_client().post("/api/v1/subscriptions", json=body, headers=reader)
        assert response.status_code == 422, response.get_data(as_text=True)
