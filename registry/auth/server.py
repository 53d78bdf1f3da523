"""The OAuth2 authorization server (Authlib): client-credentials tokens, revocation, introspection,
and the metadata (RFC 8414) and keys that clients and resource servers discover it by.

Errors of these endpoints follow RFC 6749 §5.2 (`error`, `error_description`, application/json),
which OAuth client libraries expect; they also carry the RFC 9457 members `title` and `status`.
"""

from __future__ import annotations

import re
import secrets

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask

from registry import models
from registry.auth import clients, tokens
from registry.auth.tokens import AccessToken
from registry.context import Context
from registry.errors import PROBLEM_TYPE_BASE, Unauthenticated

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
# What a client id can be (RFC 6749 VSCHAR, as long as the column): registry.auth.clients issues 24 hex digits.
CLIENT_ID = re.compile(r"[\x21-\x7e]{1,64}")


class OAuthClient(ClientMixin):
    """Authlib's view of a stored client."""

    def __init__(self, row: models.Client):
        self.row = row

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        # Requests for scopes the client does not hold are refused before this (invalid_scope);
        # no scope at all means every scope the client holds.
        return scope or self.row.scope

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return clients.secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in AUTH_METHODS

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self):
        """Every requested scope must be held by the client: never a token with fewer scopes."""
        requested = (self.request.payload.scope or "").split()
        held = set(self.client.row.scope.split())
        missing = [s for s in requested if s not in held]
        if missing:
            raise InvalidScopeError(f"The client may not request the scope {missing[0]!r}; it holds: "
                                    f"{self.client.row.scope}.")


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 tokens: `typ: at+jwt`, ES256 with the current key's `kid`, audience this node."""

    def __init__(self, ctx: Context):
        ttl = ctx.settings.access_token_ttl
        super().__init__(issuer=ctx.settings.public_url, alg="ES256", expires_generator=lambda *_: ttl)
        self.ctx = ctx

    def get_jwks(self):
        return self.ctx.token_keys.signing_keys()

    def get_audiences(self, client, user, scope):
        return self.ctx.settings.public_url

    def get_jti(self, client, grant_type, user, scope):
        return secrets.token_urlsafe(18)

    def get_extra_claims(self, client, grant_type, user, scope):
        return {tokens.STANDING_CLAIM: tokens.standing_of(client.row)}


class _TokenEndpointMixin:
    """Revocation and introspection share the token lookup: a token this node would accept."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, ctx: Context, server):
        super().__init__(server)
        self.ctx = ctx

    def query_token(self, token_string, token_type_hint):
        try:
            return _Token(tokens.decode(self.ctx, token_string))
        except Unauthenticated:
            return None


class _Token:
    def __init__(self, access: AccessToken):
        self.access = access

    def check_client(self, client):
        return self.access.claims["client_id"] == client.get_client_id()


class Revocation(_TokenEndpointMixin, RevocationEndpoint):
    """RFC 7009: a client revokes its own tokens; an unknown or expired token is not an error, another
    client's token is `invalid_grant` (Authlib's check, allowed by RFC 7009 §2.1) and stays valid."""

    def revoke_token(self, token, request):
        tokens.revoke(self.ctx, token.access)


class Introspection(_TokenEndpointMixin, IntrospectionEndpoint):
    """RFC 7662: a client may introspect its own tokens; an `admin` client any token of this node."""

    def check_permission(self, token, client, request):
        return token.check_client(client) or "admin" in client.row.scope.split()

    def introspect_token(self, token):
        claims = token.access.claims
        try:
            tokens.check_standing(self.ctx, token.access)
        except Unauthenticated:
            return {"active": False}
        return {"active": True, "token_type": "Bearer", "client_id": claims["client_id"],
                "scope": claims.get("scope", ""), "sub": claims["sub"], "aud": claims["aud"], "iss": claims["iss"],
                "exp": claims["exp"], "iat": claims["iat"], "jti": claims["jti"]}

    def create_introspection_payload(self, token):
        return {"active": False} if token is None else self.introspect_token(token)


def metadata(ctx: Context, networks: set[str]) -> dict:
    """RFC 8414 authorization server metadata."""
    base = ctx.settings.public_url
    fixed = ["directory:read", "directory:restricted", "federation:read", "admin"]
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": fixed + [f"publish:{n}" for n in sorted(networks)],
        "service_documentation": f"{base}/api/v1/openapi.json",
    }


INVALID_CLIENT = "Client authentication failed: unknown or disabled client, or wrong secret."


class RegistryAuthorizationServer(AuthorizationServer):
    def handle_response(self, status_code, payload, headers):
        if isinstance(payload, dict) and payload.get("error") == "invalid_client":
            # One answer whichever check failed and however the client authenticated, so that it does
            # not tell which client ids exist: 401 with a Basic challenge (RFC 6749 §5.2).
            status_code, payload = 401, {"error": "invalid_client", "error_description": INVALID_CLIENT}
            headers = [(k, v) for k, v in headers if k.lower() != "www-authenticate"]
            headers.append(("WWW-Authenticate", 'Basic realm="registry", error="invalid_client"'))
        if status_code >= 400 and isinstance(payload, dict) and "error" in payload:
            payload = {"type": PROBLEM_TYPE_BASE + "oauth-" + payload["error"].replace("_", "-"),
                       "title": payload["error"], "status": status_code,
                       "detail": payload.get("error_description") or payload["error"]} | payload
        return super().handle_response(status_code, payload, headers)


def init_authorization_server(app: Flask, ctx: Context) -> AuthorizationServer:
    """The server, keyed to this node's token keys (generated here at first start)."""

    def query_client(client_id):
        # Checked before the query: a string no client id can be (a NUL byte, which PostgreSQL refuses,
        # control characters, a kilobyte of junk) is an unknown client.
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            return None
        with ctx.db.read() as session:
            row = session.get(models.Client, client_id)
        return OAuthClient(row) if row is not None and not row.disabled else None

    server = RegistryAuthorizationServer(app, query_client=query_client, save_token=lambda token, request: None)
    server.register_token_generator("default", AccessTokenGenerator(ctx))
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation(ctx, server))
    server.register_endpoint(Introspection(ctx, server))
    ctx.token_keys.ensure()
    app.extensions["registry_oauth"] = server
    return server
