"""Administration over the API (scope `admin`): clients and keys, as `registry clients` and
`registry keys` do from the command line."""

from __future__ import annotations

import marshmallow as ma

from registry.api import context, requires
from registry.api.args import NoArgs, PlainString, QueryArgs, RegistryBlueprint
from registry.api.cache import never_cached
from registry.api.responses import json_response
from registry.auth import clients

blp = RegistryBlueprint("admin", __name__, description="Clients and keys (scope admin).")
never_cached(blp)

CLIENT = {"$ref": "#/components/schemas/Admin/$defs/client"}
CREDENTIALS = {"$ref": "#/components/schemas/Admin/$defs/credentials"}
ADMIN_ERRORS = [(400, "BAD_REQUEST", "Unknown query parameter or malformed JSON"),
                (401, "UNAUTHORIZED", "No valid access token"), (403, "FORBIDDEN", "The token lacks admin")]


def admin_errors(blueprint):
    """The errors every admin route documents, for the routes of `blueprint`."""
    def decorate(func):
        for status, name, description in ADMIN_ERRORS:
            func = blueprint.alt_response(status, response=name, description=description)(func)
        return func
    return decorate


_admin_errors = admin_errors(blp)


class NewClient(QueryArgs):
    name = PlainString(required=True, max_length=100,
                            metadata={"description": "A unique name, e.g. casc-secretariat."})
    scope = PlainString(required=True, max_length=1000,
                             metadata={"description": "Space-separated scopes, e.g. \"publish:casc directory:read\"."})


class ClientChange(QueryArgs):
    disabled = ma.fields.Boolean(required=True, metadata={"description": "true refuses the client's tokens."})


@blp.route("/admin/clients", methods=["GET"])
@requires("clients:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": CLIENT}, content_type="application/json")
@_admin_errors
def list_clients(_args):
    """Every client (never its secret)."""
    return json_response([c.as_dict() for c in clients.list_clients(context())])


@blp.route("/admin/clients", methods=["POST"])
@requires("clients:manage")
@blp.arguments(NewClient, location="json")
@blp.response(201, CREDENTIALS, content_type="application/json")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="Bad name or unknown scope")
@_admin_errors
def create_client(body):
    """Create a client. The answer holds the secret: the only time it is shown."""
    return json_response(clients.create_client(context(), body["name"], body["scope"]).as_dict(), status=201)


@blp.route("/admin/clients/<spelling:client_ref>", methods=["GET"])
@requires("clients:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, CLIENT, content_type="application/json")
@blp.alt_response(404, response="NOT_FOUND", description="No such client")
@_admin_errors
def get_client(_args, client_ref):
    """One client, by id or name."""
    return json_response(clients.get_client(context(), client_ref).as_dict())


@blp.route("/admin/clients/<spelling:client_ref>", methods=["PATCH"])
@requires("clients:manage")
@blp.arguments(ClientChange, location="json")
@blp.response(200, CLIENT, content_type="application/json")
@blp.alt_response(404, response="NOT_FOUND", description="No such client")
@_admin_errors
def patch_client(body, client_ref):
    """Disable or enable a client. Disabling refuses its tokens at once, also those already issued."""
    return json_response(clients.set_disabled(context(), client_ref, body["disabled"]).as_dict())


@blp.route("/admin/clients/<spelling:client_ref>/rotate-secret", methods=["POST"])
@requires("clients:manage")
@blp.doc(summary="Give a client a new secret", description=(
    "The old secret, and tokens obtained with it, stop working at once. The answer holds the new secret."))
@blp.response(200, CREDENTIALS, content_type="application/json")
@blp.alt_response(404, response="NOT_FOUND", description="No such client")
@_admin_errors
def rotate_client_secret(client_ref):
    return json_response(clients.rotate_secret(context(), client_ref).as_dict())


@blp.route("/admin/keys/rotate", methods=["POST"])
@requires("keys:rotate")
@blp.doc(summary="Rotate the access-token signing key", description=(
    "A new key signs new tokens; the old one stays in the JWKS and verifies until its tokens expire."))
@blp.response(200, {"type": "object", "properties": {"retired_kid": {"type": "string"},
                                                     "current_kid": {"type": "string"}}},
              content_type="application/json")
@_admin_errors
def rotate_keys():
    retired, current = context().token_keys.rotate()
    return json_response({"retired_kid": retired, "current_kid": current})

