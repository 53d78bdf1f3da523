"""The write API: who may write what, with which precondition, and what a refusal leaves behind.

Each test module run gets its own seeded database per backend; tokens are issued by the node's own
token endpoint, and the bad ones are forged here the way an attacker would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time

import pytest
from conftest import client_with, fresh_database_url, issue_token, make_settings
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from registry import create_app, models
from registry.crypto.keys import KeyStore
from registry.services.records import RECORD_TYPES
from registry.services.seed import seed

AUTHORITY = {
    "owner_network": "casc", "names": {"en": "Demo Prosecution Office", "ru": "Демо прокуратура"},
    "kind": "prosecution_service", "country": "KG", "competences": ["corruption"], "request_types": ["mla"],
    "languages": ["ru", "en"], "status": "active",
    "channels": [{"kind": "email", "value": "demo-office@example.org", "visibility": "public"}],
}
CONTACT_POINT = {
    "owner_network": "casc", "authority_id": "local:kg-gpo", "kind": "function",
    "position": {"en": "Demo duty desk"}, "roles": [{"network": "casc", "role": "24_7"}], "languages": ["ru"],
    "hours": {"time_zone": "Asia/Bishkek", "always": True}, "valid_from": "2024-01-01",
    "email": "demo-desk@example.org",
}
NOTE = {
    "owner_network": "casc", "scope": {"network": "casc"}, "kind": "urgent_request_procedure",
    "urgency": "urgent", "title": {"en": "Demo urgent procedure"}, "body": {"en": "Call the duty desk first."},
    "effective_from": "2024-01-01", "visibility": "public",
}
PROCEDURE = {
    "owner_network": "casc", "country": "KG", "request_types": ["mla"], "title": {"en": "MLA requests to Kyrgyzstan"},
    "channels": ["central_authority"], "sources": [{"title": "Demo source", "url": "https://example.org/source"}],
    "unknown": ["languages"], "visibility": "public",
}
COLLECTIONS = {"authority": ("authorities", AUTHORITY), "contact_point": ("contact-points", CONTACT_POINT),
               "emergency_note": ("emergency-notes", NOTE), "procedure": ("procedures", PROCEDURE)}


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"publishing-{backend}")
    app = create_app(make_settings(fresh_database_url(backend, tmp_path), tmp_path))
    ctx = app.extensions["registry"]
    seed(ctx)
    tokens = {scope: issue_token(app, scope) for scope in
              ("publish:casc", "publish:wacap", "directory:read", "publish:casc publish:wacap",
               "directory:read directory:restricted")}
    yield app, ctx, tokens
    ctx.db.dispose()


def snapshot(ctx) -> tuple:
    """Everything a write could change, apart from the audit log."""
    with ctx.db.read() as session:
        rows = []
        for kind in RECORD_TYPES.values():
            rows += session.execute(select(kind.model.id, kind.model.version, kind.model.deleted,
                                           kind.model.owner_network)).all()
        log = session.execute(select(func.count(), func.max(models.ChangeLogEntry.seq))
                              .select_from(models.ChangeLogEntry)).one()
        members = session.execute(select(models.NetworkMember.network_id, models.NetworkMember.authority_id,
                                         models.NetworkMember.role)).all()
    return sorted(rows), tuple(log), sorted(members)


def create(app, token, record_type, **changes):
    collection, body = COLLECTIONS[record_type]
    response = client_with(app, token).post(f"/api/v1/{collection}", json=body | changes)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def etag_of(app, token, path) -> str:
    response = client_with(app, token).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


# -- forged tokens --------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


def forge(ctx, good_token: str, case: str) -> str | None:
    """A token a client must not get through with, built from a good one of publish:casc."""
    header, claims = _claims_of(good_token)
    keys = ctx.token_keys.signing_keys()
    if case == "no token":
        return None
    if case == "expired":
        return jwt.encode(header, claims | {"iat": claims["iat"] - 3600, "exp": int(time.time()) - 600}, keys)
    if case == "wrong audience":
        return jwt.encode(header, claims | {"aud": "https://another-node.example.org"}, keys)
    if case == "wrong issuer":
        return jwt.encode(header, claims | {"iss": "https://another-node.example.org"}, keys)
    if case == "alg none":
        return f"{_b64(json.dumps(header | {'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    if case == "HS256 with the public key":
        public = keys.keys[0].as_pem(private=False)
        signing_input = f"{_b64(json.dumps(header | {'alg': 'HS256'}).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"
    if case == "unknown kid":
        stranger = ECKey.generate_key("P-256", parameters={"alg": "ES256", "kid": "unknown"}, private=True)
        return jwt.encode(header | {"kid": "unknown"}, claims, stranger)
    raise AssertionError(case)


FORGED = ["no token", "expired", "wrong audience", "wrong issuer", "alg none", "HS256 with the public key",
          "unknown kid"]
SCOPED = {"read-only scope": ("directory:read", 403), "other network's publish scope": ("publish:wacap", 403),
          "own network's publish scope": ("publish:casc", None)}


CHANGES = {"authority": {"acronym": "DPO"}, "contact_point": {"languages": ["ru", "ky"]},
           "emergency_note": {"urgency": "emergency"}, "procedure": {"channels": ["central_authority", "diplomatic"]}}


def write_routes(app, tokens):
    """(name, method, path, json body or None, success status) for every write route, on fresh targets."""
    own = tokens["publish:casc"]
    routes = []
    for record_type, (collection, body) in COLLECTIONS.items():
        change = CHANGES[record_type]
        routes.append((f"POST /{collection}", "POST", f"/api/v1/{collection}", body, 201))
        routes.append((f"PUT /{collection}/id", "PUT", f"/api/v1/{collection}/{create(app, own, record_type)}",
                       body | change, 200))
        routes.append((f"PATCH /{collection}/id", "PATCH",
                       f"/api/v1/{collection}/{create(app, own, record_type)}", change, 200))
        routes.append((f"DELETE /{collection}/id", "DELETE",
                       f"/api/v1/{collection}/{create(app, own, record_type)}", None, 200))
    member = create(app, own, "authority")
    routes.append(("PUT /networks/casc/members/id", "PUT", f"/api/v1/networks/casc/members/{member}",
                   {"role": "observer", "since": "2026-01-01"}, 200))
    routes.append(("DELETE /networks/casc/members/id", "DELETE", "/api/v1/networks/casc/members/local:kg-acs",
                   None, 200))
    return routes


def precondition(app, tokens, method, path) -> dict:
    if method == "POST":
        return {}
    target = path.split("/members/")[0] if "/members/" in path else path
    return {"If-Match": etag_of(app, tokens["publish:casc"], target)}


def test_every_write_route_against_every_kind_of_token(node):
    """Each write route with each kind of token; refusals leave the database unchanged."""
    app, ctx, tokens = node
    routes = write_routes(app, tokens)
    failures = []
    for name, method, path, body, success in routes:
        cases = [(case, forge(ctx, tokens["publish:casc"], case), 401) for case in FORGED]
        cases += [(case, tokens[scope], status) for case, (scope, status) in SCOPED.items()]
        for case, token, expected in cases:
            if (case == "other network's publish scope" and path.startswith("/api/v1/contact-points/")):
                # A contact point is partner-tier: to a token without a directory scope it does not exist,
                # for a write as for a GET.
                expected = 404
            headers = precondition(app, tokens, method, path)
            before = snapshot(ctx)
            response = client_with(app, token).open(path, method=method, json=body, headers=headers)
            expected = expected or success
            if response.status_code != expected:
                failures.append(f"{name} with {case}: {response.status_code} {response.get_data(as_text=True)}")
                continue
            if expected == 404:
                assert response.get_json()["detail"] == client_with(app, token).get(path).get_json()["detail"]
                assert snapshot(ctx) == before, (name, case)
                continue
            if expected >= 400:
                assert response.content_type == "application/problem+json"
                challenge = response.headers.get("WWW-Authenticate", "")
                assert challenge.startswith("Bearer "), (name, case)
                if expected == 403:
                    assert 'error="insufficient_scope"' in challenge and "publish:casc" in challenge
                    assert response.get_json()["scope"] == "publish:casc"
                elif token is not None:
                    assert 'error="invalid_token"' in challenge, (name, case, challenge)
                if snapshot(ctx) != before:
                    failures.append(f"{name} with {case}: refused, yet the database changed")
            else:
                assert snapshot(ctx) != before
    assert failures == []


def test_if_match_is_required_and_checked(node):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    record_id = create(app, tokens["publish:casc"], "authority")
    path = f"/api/v1/authorities/{record_id}"
    etag = own.get(path).headers["ETag"]
    before = snapshot(ctx)
    for headers, status in (({}, 428), ({"If-Match": '"99-abc"'}, 412), ({"If-Match": "*"}, 412),
                            ({"If-Match": f"W/{etag}"}, 412), ({"If-Match": '"garbage"'}, 412)):
        response = own.patch(path, json={"acronym": "X"}, headers=headers)
        assert response.status_code == status, (headers, response.get_data(as_text=True))
        assert response.content_type == "application/problem+json"
    assert snapshot(ctx) == before
    updated = own.patch(path, json={"acronym": "X"}, headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.get_json()["version"] == 2
    assert updated.headers["ETag"].startswith('"2-')
    stale = own.put(path, json=AUTHORITY, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["current_version"] == 2


def test_an_empty_if_match_names_no_version(node):
    """`If-Match: ""` (an empty quoted tag, which the header parser gives as None) is a 412 on every write
    with a token and a 401 without one: never a 500."""
    app, ctx, tokens = node
    record_id = create(app, tokens["publish:casc"], "authority")
    path = f"/api/v1/authorities/{record_id}"
    before = snapshot(ctx)
    for token, status in ((tokens["publish:casc"], 412), (None, 401)):
        for method, body in (("PUT", AUTHORITY), ("PATCH", {"acronym": "X"}), ("DELETE", None)):
            for value in ('""', 'W/""', '"", "99-x"'):
                response = client_with(app, token).open(path, method=method, json=body, headers={"If-Match": value})
                assert response.status_code == status, (method, value, response.get_data(as_text=True))
        member = client_with(app, token).put("/api/v1/networks/casc/members/local:kg-gpo",
                                              json={"role": "member"}, headers={"If-Match": '""'})
        assert member.status_code == status
    assert snapshot(ctx) == before


@pytest.mark.parametrize("field, value", [
    ("id", "local:mine"), ("origin", "elsewhere"), ("version", 99), ("updated_at", "2020-01-01T00:00:00Z"),
    ("deleted", True), ("signature", "x"), ("type", "network"), ("surprise", 1), ("names", "not an object"),
])
def test_mass_assignment_is_refused(node, field, value):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    record_id = create(app, tokens["publish:casc"], "authority")
    path = f"/api/v1/authorities/{record_id}"
    before = snapshot(ctx)
    for method, body in (("POST", AUTHORITY | {field: value}), ("PUT", AUTHORITY | {field: value}),
                         ("PATCH", {field: value})):
        target = "/api/v1/authorities" if method == "POST" else path
        headers = {} if method == "POST" else {"If-Match": own.get(path).headers["ETag"]}
        response = own.open(target, method=method, json=body, headers=headers)
        assert response.status_code == 422, (method, field, response.get_data(as_text=True))
        assert field in response.get_json()["detail"] or field == "names"
    assert snapshot(ctx) == before


def test_owner_network_changes_need_both_scopes(node):
    app, ctx, tokens = node
    record_id = create(app, tokens["publish:casc"], "authority")
    path = f"/api/v1/authorities/{record_id}"
    casc_only = client_with(app, tokens["publish:casc"])
    move = casc_only.patch(path, json={"owner_network": "wacap"}, headers={"If-Match": casc_only.get(path).headers[
        "ETag"]})
    assert move.status_code == 403 and move.get_json()["scope"] == "publish:wacap"
    both = client_with(app, tokens["publish:casc publish:wacap"])
    moved = both.patch(path, json={"owner_network": "wacap"}, headers={"If-Match": both.get(path).headers["ETag"]})
    assert moved.status_code == 200 and moved.get_json()["owner_network"] == "wacap"
    response = client_with(app, tokens["publish:wacap"]).post("/api/v1/authorities", json=AUTHORITY)
    assert response.status_code == 403
    assert client_with(app, tokens["publish:casc"]).post(
        "/api/v1/authorities", json={k: v for k, v in AUTHORITY.items() if k != "owner_network"}).status_code == 422


def test_a_foreign_record_names_the_origin_to_publish_at(node, tmp_path):
    app, ctx, tokens = node
    from registry.crypto import envelope
    from registry.services.records import apply_copy

    casc_node_keys = KeyStore(tmp_path / "casc-node-records.json", "Ed25519", grace=float("inf"))
    body = {k: v for k, v in AUTHORITY.items() if k != "owner_network"}
    signed = envelope.sign(casc_node_keys.signing_keys(), origin="casc-node", seq=1, record_id="casc-node:a-copy",
                           record_type="authority", version=1, deleted=False, owner_network="casc",
                           updated_at="2026-11-30T10:00:00Z", body=body)
    with ctx.db.write() as session:  # a copy of a record the node casc-node published and signed
        apply_copy(session, envelope.verify(signed, casc_node_keys.signing_keys()), signed, actor="sync", log=True)
    own = client_with(app, tokens["publish:casc"])
    path = "/api/v1/authorities/casc-node:a-copy"
    before = snapshot(ctx)
    response = own.patch(path, json={"acronym": "X"}, headers={"If-Match": own.get(path).headers["ETag"]})
    assert response.status_code == 409 and response.get_json()["origin"] == "casc-node"
    assert "casc-node" in response.get_json()["detail"]
    assert own.delete(path, headers={"If-Match": own.get(path).headers["ETag"]}).status_code == 409
    assert snapshot(ctx) == before


def test_delete_leaves_a_tombstone_that_answers_410(node):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    record_id = create(app, tokens["publish:casc"], "contact_point")
    path = f"/api/v1/contact-points/{record_id}"
    deleted = own.delete(path, headers={"If-Match": own.get(path).headers["ETag"]})
    assert deleted.status_code == 200 and deleted.get_json()["deleted"] is True
    for reader in (own, client_with(app, tokens["directory:read"])):
        gone = reader.get(path)
        assert gone.status_code == 410 and gone.content_type == "application/problem+json"
        problem = gone.get_json()
        assert problem["deleted_by"] and problem["deleted_at"] and problem["version"] == 2
    # Contact points are partner-tier: to an anonymous caller a deleted one is as unknown as any other.
    assert app.test_client().get(path).status_code == 404
    assert gone.headers["ETag"] == '"2-deleted"'
    assert own.delete(path, headers={"If-Match": gone.headers["ETag"]}).status_code == 404
    # PUT with the tombstone's ETag brings it back with the next version: versions are never reused.
    back = own.put(path, json=CONTACT_POINT, headers={"If-Match": gone.headers["ETag"]})
    assert back.status_code == 200 and back.get_json()["version"] == 3
    history = own.get(f"{path}/history").get_json()
    assert [(h["version"], h["deleted"]) for h in history] == [(1, False), (2, True), (3, False)]


def test_history_names_who_and_what_within_the_callers_tier(node):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    record_id = create(app, tokens["publish:casc"], "contact_point", kind="person",
                       person={"name": "Demo Person", "email": "demo.person@example.org"})
    path = f"/api/v1/contact-points/{record_id}"
    own.patch(path, json={"person": {"name": "Demo Person", "email": "new.person@example.org"}},
              headers={"If-Match": own.get(path).headers["ETag"]})
    own.patch(path, json={"languages": ["ru", "en"]}, headers={"If-Match": own.get(path).headers["ETag"]})
    full = client_with(app, tokens["directory:read directory:restricted"]).get(f"{path}/history").get_json()
    assert [h["changed"] for h in full[1:]] == [["person"], ["languages"]]
    partner = client_with(app, tokens["directory:read"]).get(f"{path}/history").get_json()
    assert [h["changed"] for h in partner[1:]] == [[], ["languages"]], "a restricted field is not even named"
    assert all(h["actor"] == full[0]["actor"] for h in full)
    assert app.test_client().get(f"{path}/history").status_code == 404


def test_membership_writes_change_the_network_record(node):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    member = create(app, tokens["publish:casc"], "authority")
    etag = own.get("/api/v1/networks/casc").headers["ETag"]
    added = own.put(f"/api/v1/networks/casc/members/{member}", json={"role": "observer"}, headers={"If-Match": etag})
    assert added.status_code == 200
    assert {"authority_id": member, "role": "observer"} in added.get_json()["members"]
    listed = {a["id"] for a in own.get("/api/v1/authorities?network=casc&page_size=200").get_json()}
    assert member in listed
    assert own.put(f"/api/v1/networks/casc/members/{member}", json={"role": "boss"},
                   headers={"If-Match": added.headers["ETag"]}).status_code == 422
    assert own.put(f"/api/v1/networks/casc/members/{member}", json={"role": "member", "x": 1},
                   headers={"If-Match": added.headers["ETag"]}).status_code == 422
    assert own.put("/api/v1/networks/casc/members/local:nope", json={"role": "member"},
                   headers={"If-Match": added.headers["ETag"]}).status_code == 422
    removed = own.delete(f"/api/v1/networks/casc/members/{member}", headers={"If-Match": added.headers["ETag"]})
    assert removed.status_code == 200 and member not in {m["authority_id"] for m in removed.get_json()["members"]}
    assert own.get("/api/v1/networks/casc/history").get_json()[-1]["changed"] == ["members"]


def test_bad_bodies_are_clear_errors(node):
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    before = snapshot(ctx)
    assert own.post("/api/v1/authorities", data="{not json", content_type="application/json").status_code == 400
    assert own.post("/api/v1/authorities", data="names=x", content_type="text/plain").status_code == 415
    assert own.post("/api/v1/authorities", json=[1, 2]).status_code == 422
    invalid = own.post("/api/v1/authorities", json=AUTHORITY | {"country": "XX"})
    assert invalid.status_code == 422 and invalid.get_json()["errors"]
    assert own.put("/api/v1/authorities/local:never-was", json=AUTHORITY, headers={"If-Match": '"1-x"'}
                   ).status_code == 404
    assert snapshot(ctx) == before


def test_concurrent_writers_with_if_match_lose_no_update(node):
    """Eight writers hold the same ETag: exactly one wins, the others get 412, and every change that
    was accepted is in the final record (no lost update)."""
    app, ctx, tokens = node
    record_id = create(app, tokens["publish:casc"], "authority")
    path = f"/api/v1/authorities/{record_id}"
    LANGUAGES = ["de", "fr", "es", "it", "pt", "tr", "uk", "kk"]  # noqa: N806
    applied: list[str] = []
    lock = threading.Lock()

    def writer(n: int):
        client = client_with(app, tokens["publish:casc"])
        for _attempt in range(40):
            current = client.get(path)
            languages = sorted(set(current.get_json()["languages"]) | {LANGUAGES[n]})
            response = client.patch(path, json={"languages": languages}, headers={"If-Match": current.headers["ETag"]})
            if response.status_code == 200:
                with lock:
                    applied.append(LANGUAGES[n])
                return
            assert response.status_code == 412, response.get_data(as_text=True)
            time.sleep(0.01 * n)
        raise AssertionError(f"writer {n} never got through")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    final = client_with(app, tokens["publish:casc"]).get(path).get_json()
    assert sorted(applied) == sorted(LANGUAGES)
    assert set(LANGUAGES) <= set(final["languages"])
    assert final["version"] == 1 + 8


@pytest.mark.parametrize("owner", ["casc\n", "casc\r\nX-Injected: 1", "сasc", "CASC", "x" * 40, "", 7, None])
def test_an_owner_network_that_is_no_network_code_is_a_422_naming_it(node, owner):
    """The owner network names the scope a refusal asks for (in WWW-Authenticate too): a value that is not
    a network code is refused as such before any permission is checked."""
    app, ctx, tokens = node
    before = snapshot(ctx)
    response = client_with(app, tokens["publish:casc"]).post("/api/v1/authorities", json=AUTHORITY | {
        "owner_network": owner})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["path"] == "$.owner_network"
    assert snapshot(ctx) == before
