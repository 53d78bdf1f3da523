"""The OAuth2 endpoints (served by Authlib's authorization server) and the discovery documents."""

from __future__ import annotations

from flask import current_app, jsonify

from registry.api import context
from registry.api.args import RegistryBlueprint
from registry.auth import clients
from registry.auth.server import metadata

blp = RegistryBlueprint("oauth", __name__, description="OAuth2 client-credentials tokens (RFC 6749 §4.4, RFC 9068).")

FORM = "application/x-www-form-urlencoded"
OAUTH_ERROR = {"description": "RFC 6749 §5.2 error (`error`, `error_description`) with RFC 9457 members",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _form(properties: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {FORM: {"schema": schema}}}


def _server():
    return current_app.extensions["registry_oauth"]


@blp.route("/oauth/token", methods=["POST"])
@blp.doc(summary="Get an access token", description=(
    "Client-credentials grant. Authenticate with HTTP Basic (client_secret_basic) or with client_id and "
    "client_secret in the form (client_secret_post). The token is a JWT (typ at+jwt, ES256) for this node, "
    "valid for REGISTRY_ACCESS_TOKEN_TTL seconds; asking for a scope the client does not hold is "
    "invalid_scope. No refresh tokens."),
    requestBody=_form({"grant_type": {"const": "client_credentials"}, "scope": {"type": "string"},
                       "client_id": {"type": "string"}, "client_secret": {"type": "string"}}, ["grant_type"]),
    responses={"200": {"description": "The token", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                                         "expires_in": {"type": "integer"}, "scope": {"type": "string"}}}}}},
        "400": OAUTH_ERROR, "401": OAUTH_ERROR})
def token():
    return _server().create_token_response()


@blp.route("/oauth/revoke", methods=["POST"])
@blp.doc(summary="Revoke an access token (RFC 7009)", description=(
    "A client revokes one of its own tokens; it is refused from then on. An unknown or expired token "
    "is not an error."),
    requestBody=_form({"token": {"type": "string"}, "token_type_hint": {"const": "access_token"}}, ["token"]),
    responses={"200": {"description": "Revoked (or nothing to revoke)"}, "400": OAUTH_ERROR, "401": OAUTH_ERROR})
def revoke():
    return _server().create_endpoint_response("revocation")


@blp.route("/oauth/introspect", methods=["POST"])
@blp.doc(summary="Introspect an access token (RFC 7662)", description=(
    "A client may introspect its own tokens; an admin client any token of this node."),
    requestBody=_form({"token": {"type": "string"}, "token_type_hint": {"const": "access_token"}}, ["token"]),
    responses={"200": {"description": "Whether the token is active, and its claims",
                       "content": {"application/json": {"schema": {"type": "object",
                                                                   "properties": {"active": {"type": "boolean"}},
                                                                   "required": ["active"]}}}},
               "400": OAUTH_ERROR, "401": OAUTH_ERROR})
def introspect():
    return _server().create_endpoint_response("introspection")


@blp.route("/.well-known/oauth-authorization-server", methods=["GET"])
@blp.doc(summary="Authorization server metadata (RFC 8414)",
         responses={"200": {"description": "Metadata", "content": {"application/json": {"schema": {
             "type": "object"}}}}})
def authorization_server_metadata():
    ctx = context()
    return jsonify(metadata(ctx, clients.known_networks(ctx)))


@blp.route("/.well-known/jwks.json", methods=["GET"])
@blp.doc(summary="Keys that verify this node's access tokens (JWKS)", description=(
    "The current key and retired keys whose tokens may still be valid."),
    responses={"200": {"description": "JSON Web Key Set", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}}}}})
def jwks():
    return jsonify(context().token_keys.jwks())
