"""OAuth2 as clients meet it, over HTTP through the Flask test client: the token endpoint (RFC 6749
§4.4, RFC 9068), revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414), signing-key
rotation, resource protection (RFC 6750), the administration API and the `registry` CLI."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from conftest import client_with, fresh_database_url
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from registry import contracts, create_app, models
from registry.auth import clients
from registry.auth.tokens import STANDING_CLAIM, standing_of
from registry.cli import cli
from registry.config import ConfigError, Settings
from registry.crypto.keys import KeyStore
from registry.db import utcnow

TTL = 300
PUBLIC_ROUTE = "/api/v1/networks"
ADMIN = "/api/v1/admin"


# -- helpers ---------------------------------------------------------------------------------------


def ctx_of(app):
    return app.extensions["registry"]


def assert_valid(reference, document):
    assert [e.message for e in contracts.validator(reference).iter_errors(document)] == []


def problem(response, status):
    """An RFC 9457 problem with `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    assert_valid("problem.json", body)
    return body


def refused(response, error="invalid_token"):
    """A 401 with the RFC 6750 challenge naming `error`."""
    body = problem(response, 401)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'realm="registry"' in challenge
    assert f'error="{error}"' in challenge, challenge
    return body


def oauth_error(response, status, error):
    """An RFC 6749 §5.2 error (with the RFC 9457 members the registry adds)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["error"] == error and body["title"] == error and body["status"] == status
    assert body["type"].endswith("/oauth-" + error.replace("_", "-"))
    assert "access_token" not in body
    return body


def new_client(app, scope="directory:read") -> tuple[str, str]:
    credentials = clients.create_client(ctx_of(app), f"oauth-test-{uuid.uuid4().hex[:12]}", scope)
    return credentials.client.client_id, credentials.client_secret


def token_response(app, credentials, method="client_secret_basic", **form):
    data = {"grant_type": "client_credentials", **form}
    if method == "client_secret_basic":
        return app.test_client().post("/oauth/token", data=data, auth=credentials)
    client_id, secret = credentials
    return app.test_client().post("/oauth/token", data=data | {"client_id": client_id, "client_secret": secret})


def get_token(app, credentials, **form) -> str:
    response = token_response(app, credentials, **form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def header_of(token: str) -> dict:
    return unb64(token.split(".")[0])


def claims_of(token: str) -> dict:
    return unb64(token.split(".")[1])


def start_of_a_second() -> None:
    """Wait for a new second, so that what follows happens within one (a token's iat has whole seconds)."""
    time.sleep(1.02 - time.time() % 1)


def forge(app, cid, *, header=None, key=None, **claims) -> str:
    """A token signed with the node's current key (or `key`); None drops a header field or claim."""
    key = key or ctx_of(app).token_keys.signing_keys().keys[0]
    url, now = ctx_of(app).settings.public_url, int(time.time())
    with ctx_of(app).db.read() as session:
        client = session.get(models.Client, cid)
    body = {"iss": url, "aud": url, "client_id": cid, "sub": cid, "jti": uuid.uuid4().hex,
            "iat": now, "exp": now + 120, "scope": "directory:read",
            STANDING_CLAIM: standing_of(client) if client else 0} | claims
    head = {"typ": "at+jwt", "alg": "ES256", "kid": key.kid} | (header or {})
    body = {k: v for k, v in body.items() if v is not None}
    head = {k: v for k, v in head.items() if v is not None}
    return jws.serialize_compact(head, json.dumps(body), key, algorithms=[head["alg"]])


def compact(header: dict, claims: dict, sign) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node(seeded_settings, tmp_path_factory):
    """The seeded database served with keys of its own, TTL seconds tokens and a loose token-endpoint
    limit: rotating keys and asking for many tokens here leaves the session's shared app alone."""
    instance = tmp_path_factory.mktemp("oauth-node")
    settings = dataclasses.replace(seeded_settings, instance_path=str(instance), access_token_ttl=TTL,
                                   rate_limit_token="100000/minute", rate_limit_client="100000/minute")
    app = create_app(settings)
    yield app
    ctx_of(app).db.dispose()


@pytest.fixture(scope="module")
def admin(node):
    credentials = new_client(node, "admin")
    return credentials, get_token(node, credentials)


@pytest.fixture(scope="module")
def reader(node):
    """A client with every scope but admin."""
    credentials = new_client(node, "directory:read directory:restricted federation:read publish:casc")
    return credentials, get_token(node, credentials)


@pytest.fixture(scope="module")
def veteran(node):
    """A client whose tokens are valid from an hour ago, so that forged tokens may be backdated."""
    client_id, _ = new_client(node)
    with ctx_of(node).db.write() as session:
        session.get(models.Client, client_id).tokens_valid_after = utcnow() - timedelta(hours=1)
    return client_id


# -- the token endpoint ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_token_endpoint_issues_rfc9068_access_tokens(node, method):
    credentials = new_client(node, "federation:read directory:read")
    response = token_response(node, credentials, method)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.get_json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == TTL <= 900
    assert "refresh_token" not in answer
    assert answer["scope"] == "directory:read federation:read"

    jwks = node.test_client().get("/.well-known/jwks.json").get_json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"]), "public keys only"
    decoded = jwt.decode(answer["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt" and decoded.header["alg"] == "ES256"
    assert decoded.header["kid"] in {key["kid"] for key in jwks["keys"]}
    claims, url = decoded.claims, ctx_of(node).settings.public_url
    assert claims["iss"] == claims["aud"] == url
    assert claims["client_id"] == claims["sub"] == credentials[0]
    assert claims["jti"] and claims["jti"] != claims_of(get_token(node, credentials))["jti"]
    assert claims["exp"] - claims["iat"] == TTL and abs(claims["iat"] - time.time()) < 10
    assert claims["scope"] == "directory:read federation:read"
    assert client_with(node, answer["access_token"]).get(PUBLIC_ROUTE).status_code == 200


def test_token_lifetime_follows_the_setting_and_is_capped(node, tmp_path):
    assert ctx_of(node).settings.access_token_ttl == TTL
    for ttl in (0, 901):
        with pytest.raises(ConfigError, match="REGISTRY_ACCESS_TOKEN_TTL"):
            Settings.from_env({}, instance_path=str(tmp_path), access_token_ttl=ttl)
    assert Settings.from_env({}, instance_path=str(tmp_path)).access_token_ttl <= 900


@pytest.mark.parametrize("scope", ["bogus", "admin", "directory:read admin", "directory:restricted",
                                   "publish:casc", "publish:nowhere", "federation:read directory:read bogus"])
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_scope_the_client_does_not_hold_is_invalid_scope(node, method, scope):
    credentials = new_client(node, "directory:read federation:read")
    body = oauth_error(token_response(node, credentials, method, scope=scope), 400, "invalid_scope")
    assert "directory:read federation:read" in body["error_description"], "says what the client holds"


def test_scope_is_granted_as_asked_or_in_full(node):
    credentials = new_client(node, "directory:read federation:read publish:casc")
    assert claims_of(get_token(node, credentials, scope="directory:read"))["scope"] == "directory:read"
    both = get_token(node, credentials, scope="publish:casc directory:read")
    assert set(claims_of(both)["scope"].split()) == {"publish:casc", "directory:read"}
    every = claims_of(get_token(node, credentials))["scope"]
    assert set(every.split()) == {"directory:read", "federation:read", "publish:casc"}


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_bad_client_credentials_are_invalid_client(node, method):
    client_id, secret = new_client(node)
    for credentials in ((client_id, secret + "x"), (client_id, ""), ("nobody", secret), (secret, client_id)):
        oauth_error(token_response(node, credentials, method), 401, "invalid_client")
    oauth_error(node.test_client().post("/oauth/token", data={"grant_type": "client_credentials"}), 401,
                "invalid_client")

    clients.set_disabled(ctx_of(node), client_id, True)
    oauth_error(token_response(node, (client_id, secret), method), 401, "invalid_client")
    clients.set_disabled(ctx_of(node), client_id, False)
    assert token_response(node, (client_id, secret), method).status_code == 200


def test_invalid_client_does_not_tell_which_ids_exist(node):
    client_id, secret = new_client(node)
    disabled_id, disabled_secret = new_client(node)
    clients.set_disabled(ctx_of(node), disabled_id, True)
    answers = []
    for method in ("client_secret_basic", "client_secret_post"):
        for credentials in ((client_id, "wrong"), ("nobody", "wrong"), (disabled_id, disabled_secret)):
            response = token_response(node, credentials, method)
            body = oauth_error(response, 401, "invalid_client")
            assert response.headers["WWW-Authenticate"].startswith("Basic ")
            answers.append(body["error_description"])
    assert len(set(answers)) == 1, answers


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", "implicit", "",
                                        "urn:ietf:params:oauth:grant-type:jwt-bearer"])
def test_only_the_client_credentials_grant(node, grant_type):
    credentials = new_client(node)
    oauth_error(token_response(node, credentials, grant_type=grant_type), 400, "unsupported_grant_type")


def test_token_endpoint_takes_post_only(node):
    problem(node.test_client().get("/oauth/token"), 405)


# -- metadata --------------------------------------------------------------------------------------


def test_authorization_server_metadata(node):
    url = ctx_of(node).settings.public_url
    api = node.test_client()
    meta = api.get("/.well-known/oauth-authorization-server").get_json()
    assert meta["issuer"] == url
    assert meta["token_endpoint"] == f"{url}/oauth/token"
    assert meta["revocation_endpoint"] == f"{url}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{url}/oauth/introspect"
    assert meta["jwks_uri"] == f"{url}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    for field in ("token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
                  "introspection_endpoint_auth_methods_supported"):
        assert set(meta[field]) == {"client_secret_basic", "client_secret_post"}
    assert {"directory:read", "directory:restricted", "federation:read", "admin", "publish:casc",
            "publish:ejn", "publish:globe", "publish:seajust", "publish:wacap"} == set(meta["scopes_supported"])
    assert not any("<" in scope for scope in meta["scopes_supported"])
    # The advertised endpoints are the ones that answer.
    credentials = new_client(node)
    token = api.post(meta["token_endpoint"].removeprefix(url), data={"grant_type": "client_credentials"},
                     auth=credentials).get_json()["access_token"]
    kids = {k["kid"] for k in api.get(meta["jwks_uri"].removeprefix(url)).get_json()["keys"]}
    assert header_of(token)["kid"] in kids
    introspected = api.post(meta["introspection_endpoint"].removeprefix(url), data={"token": token}, auth=credentials)
    assert introspected.get_json()["active"] is True


# -- revocation (RFC 7009) -------------------------------------------------------------------------


def test_a_revoked_token_is_refused(node):
    owner, other = new_client(node), new_client(node)
    token = get_token(node, owner)
    api = client_with(node, token)
    oauth = node.test_client()
    assert api.get(PUBLIC_ROUTE).status_code == 200

    # RFC 7009 §2.1: the token was not issued to the revoking client, so the request is refused.
    oauth_error(oauth.post("/oauth/revoke", data={"token": token}, auth=other), 400, "invalid_grant")
    assert api.get(PUBLIC_ROUTE).status_code == 200, "another client's revocation does nothing"
    assert oauth.post("/oauth/revoke", data={"token": "garbage"}, auth=owner).status_code == 200
    oauth_error(oauth.post("/oauth/revoke", data={"token": token}), 401, "invalid_client")
    oauth_error(oauth.post("/oauth/revoke", data={"token": token}, auth=(owner[0], "wrong")), 401, "invalid_client")
    assert api.get(PUBLIC_ROUTE).status_code == 200

    response = oauth.post("/oauth/revoke", data={"token": token, "token_type_hint": "access_token"}, auth=owner)
    assert response.status_code == 200
    body = refused(api.get(PUBLIC_ROUTE))
    assert "revoked" in body["detail"]
    refused(api.get("/api/v1/authorities/local:kg-gpo"))
    assert oauth.post("/oauth/revoke", data={"token": token}, auth=owner).status_code == 200, "again: no error"
    assert client_with(node, get_token(node, owner)).get(PUBLIC_ROUTE).status_code == 200, "only that token"


def test_revocation_with_form_credentials(node):
    client_id, secret = new_client(node)
    token = get_token(node, (client_id, secret))
    response = node.test_client().post("/oauth/revoke", data={"token": token, "client_id": client_id,
                                                              "client_secret": secret})
    assert response.status_code == 200
    refused(client_with(node, token).get(PUBLIC_ROUTE))


# -- introspection (RFC 7662) ----------------------------------------------------------------------


def introspect(app, token, credentials) -> dict:
    response = app.test_client().post("/oauth/introspect", data={"token": token}, auth=credentials)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_introspection(node, admin):
    owner, other = new_client(node, "directory:read federation:read"), new_client(node)
    token = get_token(node, owner)
    claims = claims_of(token)
    own = introspect(node, token, owner)
    assert own["active"] is True and own["token_type"] == "Bearer"
    assert {k: own[k] for k in ("client_id", "scope", "sub", "aud", "iss", "exp", "iat", "jti")} == {
        k: claims[k] for k in ("client_id", "scope", "sub", "aud", "iss", "exp", "iat", "jti")}
    assert introspect(node, token, other) == {"active": False}, "another client's token"
    assert introspect(node, token, admin[0])["client_id"] == owner[0], "admin sees every token of the node"
    assert introspect(node, "garbage", owner) == {"active": False}
    assert introspect(node, "", owner) == {"active": False}
    expired = forge(node, owner[0], iat=int(time.time()) - 900, exp=int(time.time()) - 600)
    assert introspect(node, expired, owner) == {"active": False}
    assert introspect(node, expired, admin[0]) == {"active": False}
    oauth_error(node.test_client().post("/oauth/introspect", data={"token": token}), 401, "invalid_client")
    oauth_error(node.test_client().post("/oauth/introspect", data={}, auth=owner), 400, "invalid_request")

    assert node.test_client().post("/oauth/revoke", data={"token": token}, auth=owner).status_code == 200
    assert introspect(node, token, owner) == {"active": False}
    assert introspect(node, token, admin[0]) == {"active": False}


def test_introspection_of_a_disabled_clients_token(node, admin):
    owner = new_client(node)
    token = get_token(node, owner)
    clients.set_disabled(ctx_of(node), owner[0], True)
    assert introspect(node, token, admin[0]) == {"active": False}


# -- secrets, disabling, keys ------------------------------------------------------------------------


def test_rotating_a_secret_cuts_off_the_old_secret_and_its_tokens(node):
    client_id, old_secret = new_client(node)
    start_of_a_second()  # the token and the rotation fall within the same second of `iat`
    token = get_token(node, (client_id, old_secret))
    new_secret = clients.rotate_secret(ctx_of(node), client_id).client_secret
    assert new_secret != old_secret
    oauth_error(token_response(node, (client_id, old_secret)), 401, "invalid_client")
    body = refused(client_with(node, token).get(PUBLIC_ROUTE))
    assert "rotated" in body["detail"]
    fresh = get_token(node, (client_id, new_secret))
    assert client_with(node, fresh).get(PUBLIC_ROUTE).status_code == 200, "a token of the new secret at once"


def test_disabling_a_client_refuses_its_tokens_at_once(node):
    client_id, secret = new_client(node)
    start_of_a_second()
    token = get_token(node, (client_id, secret))
    api = client_with(node, token)
    assert api.get(PUBLIC_ROUTE).status_code == 200
    clients.set_disabled(ctx_of(node), client_id, True)
    assert "disabled" in refused(api.get(PUBLIC_ROUTE))["detail"]
    clients.set_disabled(ctx_of(node), client_id, False)
    refused(api.get(PUBLIC_ROUTE))  # enabling again does not revive the tokens issued before
    assert client_with(node, get_token(node, (client_id, secret))).get(PUBLIC_ROUTE).status_code == 200


def test_key_rotation_keeps_earlier_tokens_valid(node):
    keys = ctx_of(node).token_keys
    credentials = new_client(node)
    before = get_token(node, credentials)
    old_kid = keys.current_kid
    assert header_of(before)["kid"] == old_kid
    retired, current = keys.rotate()
    assert (retired, keys.current_kid) == (old_kid, current) and current != old_kid
    after = get_token(node, credentials)
    assert header_of(after)["kid"] == current
    for token in (before, after):
        assert client_with(node, token).get(PUBLIC_ROUTE).status_code == 200
        assert introspect(node, token, credentials)["active"] is True
    kids = {k["kid"] for k in node.test_client().get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old_kid, current} <= kids


def test_a_retired_key_is_dropped_after_its_grace(tmp_path):
    path = tmp_path / "keys" / "access-tokens.json"
    store = KeyStore(path, "ES256", grace=0)
    other_worker = KeyStore(path, "ES256", grace=0)
    first = store.current_kid
    token = jwt.encode({"alg": "ES256", "kid": first}, {"sub": "x"}, store.signing_keys().keys[0])
    assert jwt.decode(token, other_worker.verification_keys()).claims == {"sub": "x"}

    retired, second = store.rotate()
    assert retired == first and other_worker.current_kid == second, "every process sees the rotation"
    assert [k["kid"] for k in store.jwks()["keys"]] == [second]
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(token, other_worker.verification_keys())
    store.rotate()
    assert first not in path.read_text(), "dropped from the file at the next rotation"

    kept = KeyStore(tmp_path / "kept.json", "ES256", grace=600)
    old = kept.current_kid
    _, new = kept.rotate()
    assert {k["kid"] for k in kept.jwks()["keys"]} == {old, new}
    assert all("d" not in k for k in kept.jwks()["keys"])
    assert kept.signing_keys().keys[0].kid == new


# -- resource protection ---------------------------------------------------------------------------


def _foreign_key():
    key = ECKey.generate_key("P-256", parameters={"alg": "ES256"}, private=True)
    key.ensure_kid()
    return key


def _hs256_with_public_key(app, client_id):
    key = ctx_of(app).token_keys.signing_keys().keys[0]
    claims = claims_of(forge(app, client_id))
    secret = key.as_pem(private=False)
    return compact({"typ": "at+jwt", "alg": "HS256", "kid": key.kid}, claims,
                   lambda data: hmac.new(secret, data, hashlib.sha256).digest())


def _unsigned(app, client_id):
    kid = ctx_of(app).token_keys.current_kid
    return compact({"typ": "at+jwt", "alg": "none", "kid": kid}, claims_of(forge(app, client_id)), lambda _: b"")


def _tampered(app, client_id):
    head, _, signature = forge(app, client_id).split(".")
    claims = claims_of(forge(app, client_id)) | {"scope": "admin directory:restricted"}
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


BAD_TOKENS = {
    "expired beyond the leeway": lambda app, c: forge(app, c, iat=int(time.time()) - 400,
                                                      exp=int(time.time()) - 100),
    "issued in the future": lambda app, c: forge(app, c, iat=int(time.time()) + 600),
    "not valid yet": lambda app, c: forge(app, c, nbf=int(time.time()) + 600),
    "another audience": lambda app, c: forge(app, c, aud="https://elsewhere.example.org"),
    "another issuer": lambda app, c: forge(app, c, iss="https://elsewhere.example.org"),
    "alg none": _unsigned,
    "HS256 keyed with the public key": _hs256_with_public_key,
    "unknown kid": lambda app, c: forge(app, c, key=_foreign_key()),
    "foreign key under the current kid": lambda app, c: forge(
        app, c, key=_foreign_key(), header={"kid": ctx_of(app).token_keys.current_kid}),
    "typ JWT": lambda app, c: forge(app, c, header={"typ": "JWT"}),
    "no typ": lambda app, c: forge(app, c, header={"typ": None}),
    "no jti": lambda app, c: forge(app, c, jti=None),
    "no exp": lambda app, c: forge(app, c, exp=None),
    "no iat": lambda app, c: forge(app, c, iat=None),
    "no client_id": lambda app, c: forge(app, c, client_id=None),
    "no client standing": lambda app, c: forge(app, c, client_standing=None),
    "client standing not a number": lambda app, c: forge(app, c, client_standing="0"),
    "aud a list naming this node": lambda app, c: forge(
        app, c, aud=[ctx_of(app).settings.public_url, "https://elsewhere.example.org"]),
    "aud a list of this node alone": lambda app, c: forge(app, c, aud=[ctx_of(app).settings.public_url]),
    "unknown client": lambda app, c: forge(app, "nobody"),
    "tampered claims": _tampered,
    "truncated signature": lambda app, c: forge(app, c)[:-4],
    "not a JWT": lambda app, c: "not-a-token",
    "three dots": lambda app, c: "a.b.c",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_refused_even_on_a_public_route(node, veteran, case):
    token = BAD_TOKENS[case](node, veteran)
    body = refused(client_with(node, token).get(PUBLIC_ROUTE))
    assert body["type"].endswith("/unauthenticated")
    assert "detail" in body and token not in body["detail"]


def test_a_well_formed_token_is_accepted_within_the_leeway(node, veteran):
    now = int(time.time())
    assert ctx_of(node).settings.token_leeway == 30
    assert client_with(node, forge(node, veteran)).get(PUBLIC_ROUTE).status_code == 200, "the forgery is sound"
    expired_10s_ago = forge(node, veteran, iat=now - 400, exp=now - 10)
    assert client_with(node, expired_10s_ago).get(PUBLIC_ROUTE).status_code == 200
    issued_10s_ahead = forge(node, veteran, iat=now + 10)
    assert client_with(node, issued_10s_ahead).get(PUBLIC_ROUTE).status_code == 200
    typ_in_full = forge(node, veteran, header={"typ": "application/at+jwt"})
    assert client_with(node, typ_in_full).get(PUBLIC_ROUTE).status_code == 200


def test_the_refusal_says_what_is_wrong(node, veteran):
    now = int(time.time())
    expired = forge(node, veteran, iat=now - 400, exp=now - 100)
    assert "expired" in refused(client_with(node, expired).get(PUBLIC_ROUTE))["detail"]
    audience = forge(node, veteran, aud="https://elsewhere.example.org")
    assert "audience" in refused(client_with(node, audience).get(PUBLIC_ROUTE))["detail"]
    challenge = client_with(node, expired).get(PUBLIC_ROUTE).headers["WWW-Authenticate"]
    assert 'error_description="' in challenge
    for claim in ("iat", "exp", "jti", "client_standing"):
        detail = refused(client_with(node, forge(node, veteran, **{claim: None})).get(PUBLIC_ROUTE))["detail"]
        assert f"lacks the {claim} claim" in detail, detail
    listed = forge(node, veteran, aud=[ctx_of(node).settings.public_url])
    assert "not a list" in refused(client_with(node, listed).get(PUBLIC_ROUTE))["detail"]


@pytest.mark.parametrize("header", ["Basic b3duZXI6c2VjcmV0", "Bearer", "Bearer   ", "Token abc", "bearer"])
def test_a_malformed_authorization_header_is_refused(node, header):
    refused(node.test_client().get(PUBLIC_ROUTE, headers={"Authorization": header}), error="invalid_request")


def test_anonymous_reading_is_fine(node):
    response = node.test_client().get(PUBLIC_ROUTE)
    assert response.status_code == 200 and response.get_json()
    assert "WWW-Authenticate" not in response.headers


def test_a_token_from_another_node_is_refused(node, tokens):
    """The session's shared app: the same database and URL, its own keys."""
    refused(client_with(node, tokens("directory:read")).get(PUBLIC_ROUTE))


# -- the administration API ------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", f"{ADMIN}/clients", None),
    ("POST", f"{ADMIN}/clients", {"name": "never-created", "scope": "directory:read"}),
    ("GET", f"{ADMIN}/clients/never-created", None),
    ("PATCH", f"{ADMIN}/clients/never-created", {"disabled": True}),
    ("POST", f"{ADMIN}/clients/never-created/rotate-secret", None),
    ("POST", f"{ADMIN}/keys/rotate", None),
    ("GET", f"{ADMIN}/audit", None),
]


@pytest.mark.parametrize("method,route,body", ADMIN_ROUTES)
def test_administration_needs_the_admin_scope(node, reader, method, route, body):
    kid = ctx_of(node).token_keys.current_kid
    anonymous = node.test_client().open(route, method=method, json=body)
    assert "admin" in problem(anonymous, 401)["detail"]
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "error=" not in anonymous.headers["WWW-Authenticate"], "no token, no error code (RFC 6750 §3.1)"

    forbidden = client_with(node, reader[1]).open(route, method=method, json=body)
    assert problem(forbidden, 403)["scope"] == "admin"
    challenge = forbidden.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="admin"' in challenge
    assert ctx_of(node).token_keys.current_kid == kid
    assert "never-created" not in {c.name for c in clients.list_clients(ctx_of(node))}


def test_admin_manages_clients_over_the_api(node, admin):
    api = client_with(node, admin[1])
    name = f"casc-{uuid.uuid4().hex[:8]}"
    created = api.post(f"{ADMIN}/clients", json={"name": name, "scope": "publish:casc directory:read directory:read"})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert_valid("admin.json#/$defs/credentials", body)
    assert body["name"] == name and body["scope"] == "directory:read publish:casc" and body["disabled"] is False
    client_id, secret = body["client_id"], body["client_secret"]
    token = get_token(node, (client_id, secret))
    assert claims_of(token)["scope"] == "directory:read publish:casc"

    listing = api.get(f"{ADMIN}/clients")
    assert listing.status_code == 200
    mine = [c for c in listing.get_json() if c["client_id"] == client_id]
    assert len(mine) == 1 and "client_secret" not in mine[0] and "secret_hash" not in mine[0]
    assert secret not in listing.get_data(as_text=True)
    for client in listing.get_json():
        assert_valid("admin.json#/$defs/client", client)
    assert api.get(f"{ADMIN}/clients/{name}").get_json() == mine[0], "by name as by id"
    assert api.get(f"{ADMIN}/clients/{client_id}").get_json() == mine[0]

    disabled = api.patch(f"{ADMIN}/clients/{client_id}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.get_json()["disabled"] is True
    refused(client_with(node, token).get(PUBLIC_ROUTE))
    oauth_error(token_response(node, (client_id, secret)), 401, "invalid_client")
    assert api.patch(f"{ADMIN}/clients/{name}", json={"disabled": False}).get_json()["disabled"] is False
    assert get_token(node, (client_id, secret))

    rotated = api.post(f"{ADMIN}/clients/{client_id}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["client_secret"]
    assert new_secret != secret and rotated.get_json()["client_id"] == client_id
    oauth_error(token_response(node, (client_id, secret)), 401, "invalid_client")
    assert client_with(node, get_token(node, (client_id, new_secret))).get(PUBLIC_ROUTE).status_code == 200


def test_admin_refuses_bad_client_requests(node, admin):
    api = client_with(node, admin[1])
    name = f"dup-{uuid.uuid4().hex[:8]}"
    assert api.post(f"{ADMIN}/clients", json={"name": name, "scope": "directory:read"}).status_code == 201
    body = problem(api.post(f"{ADMIN}/clients", json={"name": name, "scope": "admin"}), 409)
    assert name in body["detail"]

    unknown = problem(api.post(f"{ADMIN}/clients", json={"name": f"x-{name}", "scope": "directory:read bogus"}), 422)
    assert "bogus" in unknown["detail"] and "publish:casc" in unknown["detail"], "names the known scopes"
    assert unknown["errors"][0]["parameter"] == "scope"
    problem(api.post(f"{ADMIN}/clients", json={"name": f"x-{name}", "scope": "publish:nowhere"}), 422)
    problem(api.post(f"{ADMIN}/clients", json={"name": f"x-{name}", "scope": "publish:<network>"}), 422)
    problem(api.post(f"{ADMIN}/clients", json={"name": f"x-{name}", "scope": "   "}), 422)
    extra = problem(api.post(f"{ADMIN}/clients", json={"name": f"x-{name}", "scope": "admin", "secret": "mine"}), 422)
    assert extra["errors"][0]["parameter"] == "secret"
    problem(api.post(f"{ADMIN}/clients", json={"scope": "admin"}), 422)
    problem(api.post(f"{ADMIN}/clients", json={"name": "", "scope": "admin"}), 422)
    problem(api.post(f"{ADMIN}/clients", json={"name": "tab\there", "scope": "admin"}), 422)
    malformed = problem(api.post(f"{ADMIN}/clients", data="{", content_type="application/json"), 400)
    assert malformed["title"] == "Malformed body" and malformed["type"].endswith("/malformed-body")
    assert f"x-{name}" not in {c.name for c in clients.list_clients(ctx_of(node))}

    problem(api.patch(f"{ADMIN}/clients/nobody", json={"disabled": True}), 404)
    problem(api.patch(f"{ADMIN}/clients/{name}", json={"disabled": "maybe"}), 422)
    problem(api.patch(f"{ADMIN}/clients/{name}", json={"disabled": True, "scope": "admin"}), 422)
    problem(api.patch(f"{ADMIN}/clients/{name}", json={}), 422)
    problem(api.post(f"{ADMIN}/clients/nobody/rotate-secret"), 404)
    problem(api.get(f"{ADMIN}/clients/nobody"), 404)
    problem(api.get(f"{ADMIN}/clients?x=1"), 400)
    problem(api.get(f"{ADMIN}/audit?page_size=100000"), 422)


def test_admin_rotates_the_signing_key(node, admin):
    keys = ctx_of(node).token_keys
    credentials = new_client(node)
    before = get_token(node, credentials)
    old_kid = keys.current_kid
    response = client_with(node, admin[1]).post(f"{ADMIN}/keys/rotate")
    assert response.status_code == 200
    rotation = response.get_json()
    assert rotation["retired_kid"] == old_kid and rotation["current_kid"] == keys.current_kid != old_kid
    assert header_of(get_token(node, credentials))["kid"] == rotation["current_kid"]
    kids = {k["kid"] for k in node.test_client().get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old_kid, rotation["current_kid"]} <= kids
    assert client_with(node, before).get(PUBLIC_ROUTE).status_code == 200
    assert client_with(node, admin[1]).get(f"{ADMIN}/clients").status_code == 200, "the admin's own token too"


def test_the_audit_log_records_refused_and_accepted_writes(node, admin, reader):
    reader_id, admin_id = reader[0][0], admin[0][0]
    name = f"audited-{uuid.uuid4().hex[:8]}"
    assert client_with(node, reader[1]).post(f"{ADMIN}/clients", json={"name": name, "scope": "admin"}) \
        .status_code == 403
    assert client_with(node, admin[1]).post(f"{ADMIN}/clients", json={"name": name, "scope": "directory:read"}) \
        .status_code == 201
    assert token_response(node, (reader_id, "wrong")).status_code == 401

    api = client_with(node, admin[1])
    refusals = api.get(f"{ADMIN}/audit", query_string={"client": reader_id, "outcome": "refused"})
    assert refusals.status_code == 200 and int(refusals.headers["X-Total-Count"]) >= 2
    entries = refusals.get_json()
    for entry in entries:
        assert_valid("admin.json#/$defs/audit_entry", entry)
    assert all(e["client_id"] == reader_id and e["outcome"] == "refused" for e in entries)
    assert entries[0]["route"] == "/oauth/token" and entries[0]["status"] == 401, "newest first"
    forbidden = next(e for e in entries if e["route"] == f"{ADMIN}/clients")
    assert forbidden["method"] == "POST" and forbidden["status"] == 403 and "admin" in forbidden["detail"]
    assert forbidden["address"] == "127.0.0.1"

    accepted = api.get(f"{ADMIN}/audit", query_string={"client": admin_id, "outcome": "accepted"}).get_json()
    created = next(e for e in accepted if e["route"] == f"{ADMIN}/clients")
    assert created["method"] == "POST" and created["status"] == 201 and created["outcome"] == "accepted"
    assert not any(e["method"] == "GET" for e in accepted), "reads are not audited"
    issued = api.get(f"{ADMIN}/audit", query_string={"client": admin_id, "outcome": "accepted", "page_size": 200})
    assert any(e["route"] == "/oauth/token" and e["status"] == 200 for e in issued.get_json())
    problem(api.get(f"{ADMIN}/audit", query_string={"outcome": "accepted", "bogus": "1"}), 400)


# -- the `registry` command ------------------------------------------------------------------------


@pytest.fixture
def cli_env(backend, tmp_path):
    return {"REGISTRY_INSTANCE_PATH": str(tmp_path), "REGISTRY_DATABASE_URL": fresh_database_url(backend, tmp_path)}


def run(env, *args, code=0):
    # catch_exceptions=False: an unexpected exception (a traceback for the user) fails the test.
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def printed(output: str) -> dict:
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in output.splitlines() if ":" in line)}


def test_cli_manages_clients_keys_and_reads_the_audit_log(cli_env):
    result = run(cli_env, "clients", "create", "--name", "case-system", "--scope", "federation:read directory:read")
    fields = printed(result.stdout)
    client_id, secret = fields["client_id"], fields["client_secret"]
    assert fields["scope"] == "directory:read federation:read"
    assert result.stdout.count(secret) == 1 and "only its hash is kept" in result.stderr

    app = create_app(Settings.from_env(cli_env))
    try:
        token = get_token(app, (client_id, secret))
        listing = run(cli_env, "clients", "list").stdout
        assert client_id in listing and "case-system" in listing and "enabled" in listing and secret not in listing
        as_json = json.loads(run(cli_env, "clients", "list", "--json").stdout)
        assert [c["client_id"] for c in as_json] == [client_id]
        assert "client_secret" not in as_json[0] and secret not in json.dumps(as_json)

        assert client_id in run(cli_env, "clients", "disable", "case-system").stdout
        assert "disabled" in run(cli_env, "clients", "list").stdout
        refused(client_with(app, token).get(PUBLIC_ROUTE))
        oauth_error(token_response(app, (client_id, secret)), 401, "invalid_client")
        assert "enabled" in run(cli_env, "clients", "enable", client_id).stdout
        assert get_token(app, (client_id, secret))

        rotated = printed(run(cli_env, "clients", "rotate-secret", "case-system").stdout)
        assert rotated["client_id"] == client_id and rotated["client_secret"] != secret
        oauth_error(token_response(app, (client_id, secret)), 401, "invalid_client")
        token = get_token(app, (client_id, rotated["client_secret"]))

        old_kid = ctx_of(app).token_keys.current_kid
        output = run(cli_env, "keys", "rotate").stdout
        new_kid = ctx_of(app).token_keys.current_kid
        assert new_kid != old_kid and output.strip() == f"current key {new_kid}; {old_kid} retired"
        assert header_of(get_token(app, (client_id, rotated["client_secret"])))["kid"] == new_kid
        assert client_with(app, token).get(PUBLIC_ROUTE).status_code == 200, "signed with the retired key"
        kids = {k["kid"] for k in app.test_client().get("/.well-known/jwks.json").get_json()["keys"]}
        assert kids == {old_kid, new_kid}

        entries = [json.loads(line) for line in run(cli_env, "audit", "--json").stdout.splitlines()]
        cli_routes = [e["route"] for e in entries if e["method"] == "CLI"]
        assert cli_routes == ["keys rotate", "clients rotate-secret", "clients enable", "clients disable",
                              "clients create"], "newest first"
        assert all(e["client_id"].startswith("cli:") for e in entries if e["method"] == "CLI")
        refusals = run(cli_env, "audit", "--client", client_id, "--outcome", "refused").stdout
        # Both failed token requests, made within a minute, are one entry counted twice.
        assert refusals.count("/oauth/token") == 1 and " 401 " in refusals and " x2 until " in refusals
        assert len(run(cli_env, "audit", "--limit", "2").stdout.splitlines()) == 2
    finally:
        ctx_of(app).db.dispose()


@pytest.mark.parametrize("args,message", [
    (("clients", "create", "--name", "x", "--scope", "bogus"), "unknown scope 'bogus'"),
    (("clients", "create", "--name", "x", "--scope", "publish:nowhere"), "unknown scope 'publish:nowhere'"),
    (("clients", "create", "--name", "x", "--scope", " "), "give at least one scope"),
    (("clients", "create", "--name", " ", "--scope", "admin"), "name"),
    (("clients", "disable", "nobody"), "no client with id or name 'nobody'"),
    (("clients", "enable", "nobody"), "no client with id or name 'nobody'"),
    (("clients", "rotate-secret", "nobody"), "no client with id or name 'nobody'"),
])
def test_cli_errors_are_messages_not_tracebacks(cli_env, args, message):
    result = run(cli_env, *args, code=1)
    assert message in result.stderr and "Error:" in result.stderr
    assert result.stdout == "", "no secret printed for a client that was not created"
    assert "client_secret" not in result.output


def test_cli_refuses_a_duplicate_name_and_bad_options(cli_env):
    run(cli_env, "clients", "create", "--name", "twice", "--scope", "admin")
    assert "exists" in run(cli_env, "clients", "create", "--name", "twice", "--scope", "admin", code=1).stderr
    assert len(json.loads(run(cli_env, "clients", "list", "--json").stdout)) == 1
    assert "--outcome" in run(cli_env, "audit", "--outcome", "maybe", code=2).stderr
    assert "--scope" in run(cli_env, "clients", "create", "--name", "y", code=2).stderr
