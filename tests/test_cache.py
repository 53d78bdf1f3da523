"""The response cache never serves an answer older than the data."""

from sqlalchemy import event
from test_records import AUTHORITY

from registry import create_app
from registry.context import Context
from registry.services.records import write_record


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
    from conftest import bearer, issue_token

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
    from conftest import bearer, issue_token

    from registry.auth.clients import create_client

    app = create_app(fresh_ctx.settings)
    admin = bearer(issue_token(app, "admin"))
    before = app.test_client().get("/api/v1/admin/clients", headers=admin)
    assert before.headers["Cache-Control"] == "no-store"
    create_client(fresh_ctx, "added-later", "directory:read")
    after = app.test_client().get("/api/v1/admin/clients", headers=admin).get_json()
    assert "added-later" in {c["name"] for c in after}
    for path in ("/api/v1/admin/audit", "/api/v1/admin/peers", "/api/v1/federation/status", "/api/v1/subscriptions"):
        assert app.test_client().get(path, headers=admin).headers.get("Cache-Control") == "no-store", path


def test_a_host_header_cannot_poison_the_links_of_cached_answers(fresh_ctx):
    """Absolute URLs come from REGISTRY_PUBLIC_URL: an answer built for `Host: attacker.example` and then
    cached must not send later callers to the attacker."""
    app = create_app(fresh_ctx.settings)
    public = fresh_ctx.settings.public_url
    ctx = fresh_ctx
    with ctx.db.write() as session:
        for n in range(3):
            write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(), origin="local",
                         record_type="authority", record_id=f"local:kg-{n}", owner_network="casc",
                         body=AUTHORITY | {"names": {"en": f"Authority {n}"}}, actor="test")
    poisoned = app.test_client().get("/api/v1/authorities?page_size=1", headers={"Host": "attacker.example"},
                                     environ_overrides={"wsgi.url_scheme": "https"})
    later = app.test_client().get("/api/v1/authorities?page_size=1")
    for answer in (poisoned, later):
        assert "attacker" not in answer.headers["Link"]
        assert f'<{public}/api/v1/authorities?page_size=1&page=2>; rel="next"' in answer.headers["Link"]


def test_the_caller_address_comes_from_forwarded_for_only_through_a_trusted_proxy(fresh_ctx):
    from dataclasses import replace

    from flask import request

    def address_seen(settings, remote: str, forwarded: str | None) -> str:
        app = create_app(settings)
        app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return app.test_client().get("/whoami", headers=headers,
                                     environ_base={"REMOTE_ADDR": remote}).get_data(as_text=True)

    plain = fresh_ctx.settings
    assert address_seen(plain, "10.0.0.5", "203.0.113.9") == "10.0.0.5"
    behind = replace(plain, trusted_proxies="10.0.0.0/24, 192.0.2.7")
    assert address_seen(behind, "10.0.0.5", "203.0.113.9") == "203.0.113.9"
    # A forged hop in front of the real caller is not believed: read from the right, the first untrusted wins.
    assert address_seen(behind, "10.0.0.5", "198.51.100.1, 203.0.113.9, 192.0.2.7") == "203.0.113.9"
    assert address_seen(behind, "203.0.113.50", "198.51.100.1") == "203.0.113.50"
    assert address_seen(behind, "10.0.0.5", "not-an-address") == "10.0.0.5"


def test_junk_parameters_and_accept_headers_make_no_entries_of_their_own(fresh_ctx):
    app = create_app(fresh_ctx.settings)
    entries = app.extensions["registry_response_cache"]
    client = app.test_client()
    for n in range(50):
        assert client.get(f"/api/v1/openapi.json?junk{n}={'x' * 500}").status_code == 200
        client.get("/api/v1/authorities", headers={"Accept": f"application/x-junk-{n}, application/json"})
        assert client.get(f"/api/v1/authorities?junk={n}").status_code == 400
        client.get("/api/v1/countries/KG", headers={"Accept": f"text/x-{n};q=0.9, application/json;q=0.{n % 9 + 1}"})
    assert len(entries) == 3, list(entries)
    # The same arguments spelled differently are one answer.
    client.get("/api/v1/authorities?page=1")
    client.get("/api/v1/authorities?page=01")
    assert len(entries) == 3


def test_the_cache_is_bounded_in_bytes(fresh_ctx):
    from dataclasses import replace

    app = create_app(replace(fresh_ctx.settings, response_cache_bytes=256 * 1024))
    entries = app.extensions["registry_response_cache"]
    client = app.test_client()
    for code in ("KG", "KZ", "UZ", "TJ", "TM", "AM", "AZ", "GE", "FR", "DE", "NE", "TH", "ES", "PT", "NG"):
        assert client.get(f"/api/v1/countries/{code}").status_code == 200
        assert client.get(f"/api/v1/authorities?country={code}").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200  # larger than a sixteenth: not kept
    assert 0 < entries.currsize <= 256 * 1024
    assert not any(key[0] == "api-docs.openapi_json" for key in entries)


def test_a_cache_hit_reads_no_table_and_a_write_elsewhere_is_still_seen_at_once(fresh_ctx):
    """On SQLite, whether anything was committed since an answer was kept is read from the write-ahead
    log's shared memory: a hit runs no SQL statement. A commit by another process (here another engine on
    the same file) is seen by the next request. PostgreSQL reads the data version with one query."""
    app = create_app(fresh_ctx.settings)
    client = app.test_client()
    statements = []
    engine = app.extensions["registry"].db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert client.get("/api/v1/authorities?country=KG").get_json() == []
    statements.clear()
    assert client.get("/api/v1/authorities?country=KG").get_json() == []
    if fresh_ctx.db.dialect == "sqlite":
        assert statements == []
    else:
        assert len(statements) == 1, statements
    elsewhere = Context.create(fresh_ctx.settings)
    try:
        with elsewhere.db.write() as session:
            write_record(session, elsewhere.taxonomy, signing_keys=elsewhere.record_keys.signing_keys(),
                         origin="local", record_type="authority", record_id="local:kg-gpo",
                         owner_network="casc", body=AUTHORITY, actor="test")
    finally:
        elsewhere.db.dispose()
    assert [a["id"] for a in client.get("/api/v1/authorities?country=KG").get_json()] == ["local:kg-gpo"]


def test_freshness_follows_more_than_the_records_and_is_never_kept(app, tokens):
    from conftest import client_with

    answer = client_with(app, tokens("publish:casc")).get("/api/v1/networks/casc/freshness")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
