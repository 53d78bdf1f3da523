"""Running the federation over the API (scope `admin`): trusted origins and peers, as `registry
origins` and `registry peers` do from the command line, and the sync status and quarantine."""

from __future__ import annotations

import marshmallow as ma

from registry.api import context, requires
from registry.api.admin import admin_errors
from registry.api.args import NoArgs, PlainString, QueryArgs, RegistryBlueprint
from registry.api.cache import never_cached
from registry.api.responses import json_response
from registry.federation import peers, status, trust

blp = RegistryBlueprint("federation-admin", __name__,
                        description="Trusted origins, peers, sync status and quarantine (scope admin).")
never_cached(blp)

TRUSTED = {"$ref": "#/components/schemas/Admin/$defs/trusted_origin"}
PEER = {"$ref": "#/components/schemas/Admin/$defs/peer"}
_errors = admin_errors(blp)


class NewTrust(QueryArgs):
    node_id = PlainString(required=True, max_length=63,
                          metadata={"description": "The origin's node id, e.g. casc-node."})
    namespace = PlainString(required=True, max_length=63,
                            metadata={"description": "The id namespace it issues, e.g. casc."})
    jwks_url = PlainString(required=True, max_length=2000,
                           metadata={"description": "Where it publishes its record keys."})


class NewPeer(QueryArgs):
    name = PlainString(required=True, max_length=63, metadata={"description": "A name for the peer, e.g. casc."})
    url = PlainString(required=True, max_length=2000,
                           metadata={"description": "Its base URL."})
    client_id = PlainString(required=True, max_length=200,
                                 metadata={"description": "The client id the peer issued to this node."})
    client_secret = PlainString(required=True, max_length=500,
                                     load_only=True, metadata={"description": "Its secret (never shown again)."})


class QuarantineArgs(QueryArgs):
    origin = PlainString(max_length=63, metadata={"description": "Only items of this origin."})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000),
                              metadata={"description": "Newest items returned, at most 1000."})


@blp.route("/admin/origins", methods=["GET"])
@requires("federation:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": TRUSTED}, content_type="application/json")
@_errors
def list_origins(_args):
    """Every trusted origin with its namespace, JWKS URL and pinned key ids."""
    return json_response([t.as_dict() for t in trust.list_trusted(context())])


@blp.route("/admin/origins", methods=["POST"])
@requires("federation:manage")
@blp.arguments(NewTrust, location="json")
@blp.response(201, TRUSTED, content_type="application/json")
@blp.alt_response(409, response="CONFLICT", description="The namespace belongs to another trusted origin")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="Bad node id or namespace, or a URL refused")
@blp.alt_response(502, response="DEFAULT_ERROR", description="The keys could not be fetched")
@_errors
def trust_origin(body):
    """Trust an origin: its keys are fetched from the JWKS URL now and pinned."""
    info = trust.trust_origin(context(), body["node_id"], body["namespace"], body["jwks_url"])
    return json_response(info.as_dict(), status=201)


@blp.route("/admin/origins/<node:node_id>", methods=["DELETE"])
@requires("federation:manage")
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND", description="Not a trusted origin")
@_errors
def untrust_origin(node_id):
    """Stop accepting the origin's records (copies already held stay, read-only)."""
    trust.untrust_origin(context(), node_id)
    return "", 204


@blp.route("/admin/peers", methods=["GET"])
@requires("federation:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": PEER}, content_type="application/json")
@_errors
def list_peers(_args):
    """Every peer (never its secret)."""
    return json_response([p.as_dict() for p in peers.list_peers(context())])


@blp.route("/admin/peers", methods=["POST"])
@requires("federation:manage")
@blp.arguments(NewPeer, location="json")
@blp.response(201, PEER, content_type="application/json")
@blp.alt_response(409, response="CONFLICT", description="A peer of that name exists")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="Bad name, or a URL refused")
@_errors
def add_peer(body):
    """Add a peer to pull from, with the client credentials it issued to this node."""
    info = peers.add_peer(context(), body["name"], body["url"], body["client_id"], body["client_secret"])
    return json_response(info.as_dict(), status=201)


@blp.route("/admin/peers/<node:name>", methods=["DELETE"])
@requires("federation:manage")
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND", description="No such peer")
@_errors
def remove_peer(name):
    """Stop pulling from the peer (copies it brought stay)."""
    peers.remove_peer(context(), name)
    return "", 204


@blp.route("/federation/status", methods=["GET"])
@requires("federation:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": {"$ref": "#/components/schemas/Admin/$defs/sync_status"}},
              content_type="application/json")
@_errors
def sync_status(_args):
    """Per foreign origin: source, cursor, lag in records and seconds, counts of applied, duplicate,
    stale, quarantined and refused versions, last success and last error."""
    return json_response(status.sync_status(context()))


@blp.route("/federation/quarantine", methods=["GET"])
@requires("federation:manage")
@blp.arguments(QuarantineArgs, location="query")
@blp.response(200, {"type": "array", "items": {"$ref": "#/components/schemas/Admin/$defs/quarantined_item"}},
              content_type="application/json")
@_errors
def quarantined(args):
    """Versions held back, newest first, with the reason and the envelope as evidence."""
    return json_response(status.quarantine(context(), args.get("origin"), args["limit"]))
