"""The response cache never serves an answer older than the data."""

from registry import create_app
from registry.services.records import write_record
from tests.test_records import AUTHORITY


def test_a_write_is_visible_at_once(fresh_ctx):
    app = create_app(fresh_ctx.settings)
    assert app.extensions["registry"].settings.response_cache_size > 0
    client = app.test_client()
    first = client.get("/api/v1/authorities?country=KG")
    assert first.get_json() == []
    again = client.get("/api/v1/authorities?country=KG", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304, "a cached answer still honours If-None-Match"
    ctx = app.extensions["registry"]
    with ctx.db.write() as session:
        write_record(
            session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
            origin="local", record_type="authority", record_id="local:kg-gpo",
            owner_network="casc", body=AUTHORITY, actor="test")
    after = client.get("/api/v1/authorities?country=KG")
    assert [a["id"] for a in after.get_json()] == ["local:kg-gpo"]
    assert after.headers["ETag"] != first.headers["ETag"]
    assert client.get("/api/v1/authorities?country=KG").get_json() == after.get_json()


def test_errors_are_not_cached(fresh_ctx):
    client = create_app(fresh_ctx.settings).test_client()
    assert client.get("/api/v1/authorities/local:kg-gpo").status_code == 404
    ctx = fresh_ctx
    with ctx.db.write() as session:
        write_record(
            session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
            origin="local", record_type="authority", record_id="local:kg-gpo",
            owner_network="casc", body=AUTHORITY, actor="test")
    assert client.get("/api/v1/authorities/local:kg-gpo").status_code == 200


def test_an_answer_cached_for_one_caller_is_never_served_to_a_caller_with_other_scopes(fresh_ctx):
    """The cache answers before a route checks its scope: an admin's or a peer's cached answer must
    not reach an anonymous caller or a caller of the same tier holding other scopes."""
    from tests.conftest import bearer, issue_token

    app = create_app(fresh_ctx.settings)
    client = app.test_client()
    for scope, path in (("admin", "/api/v1/admin/clients"), ("federation:read", "/api/v1/federation/origins")):
        token = issue_token(app, scope)
        assert client.get(path, headers=bearer(token)).status_code == 200
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer(issue_token(app, "directory:read"))).status_code == 403, path


def test_administration_answers_are_never_kept(fresh_ctx):
    """Clients, keys, audit, sync state and subscriptions change without a directory write: their
    answers are no-store, so a new client shows at once."""
    from registry.auth.clients import create_client
    from tests.conftest import bearer, issue_token

    app = create_app(fresh_ctx.settings)
    admin = bearer(issue_token(app, "admin"))
    before = app.test_client().get("/api/v1/admin/clients", headers=admin)
    assert before.headers["Cache-Control"] == "no-store"
    create_client(fresh_ctx, "added-later", "directory:read")
    after = app.test_client().get("/api/v1/admin/clients", headers=admin).get_json()
    assert "added-later" in {c["name"] for c in after}
    for path in ("/api/v1/admin/audit", "/api/v1/admin/peers", "/api/v1/federation/status", "/api/v1/subscriptions"):
        assert app.test_client().get(path, headers=admin).headers.get("Cache-Control") == "no-store", path
