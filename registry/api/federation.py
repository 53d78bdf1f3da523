"""What peers read: node metadata and record keys (public), origins, change feeds and snapshots
(`federation:read`)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, jsonify, stream_with_context

from registry.api import context, requires
from registry.api.args import NoArgs, QueryArgs, RegistryBlueprint
from registry.api.responses import json_response
from registry.federation import feed

blp = RegistryBlueprint("federation", __name__, description="Change feeds and snapshots for peer nodes.")
well_known = RegistryBlueprint("node", __name__, description="This node's identity and record-signing keys.")

JSON_OBJECT = {"type": "object"}
FEDERATION = "#/components/schemas/Federation/$defs/"


class ChangesArgs(QueryArgs):
    after = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0),
                              metadata={"description": "The last seq already held. Without it: from the first "
                                                       "entry this node keeps of the origin (first_seq)."})
    limit = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=feed.MAX_PAGE),
                              metadata={"description": f"Items per page, at most {feed.MAX_PAGE}."})


@well_known.route("/.well-known/registry-node", methods=["GET"])
@well_known.doc(summary="Node metadata", description=(
    "Node id, id namespace, the networks it hosts, where its record keys and token endpoint are, the "
    "feed endpoints and the schema versions it serves."),
    responses={"200": {"description": "Metadata", "content": {"application/json": {
        "schema": {"$ref": FEDERATION + "node_metadata"}}}}})
def node_metadata():
    return jsonify(feed.node_metadata(context()))


@well_known.route("/.well-known/registry-keys.json", methods=["GET"])
@well_known.doc(summary="Keys that verify this node's record envelopes (JWKS)", description=(
    "The current record-signing key and every retired one, so that old envelopes keep verifying."),
    responses={"200": {"description": "JSON Web Key Set", "content": {"application/json": {"schema": JSON_OBJECT}}}})
def record_keys():
    return jsonify(context().record_keys.jwks())


@blp.route("/federation/origins")
@requires("federation:read")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": {"$ref": FEDERATION + "origin"}}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_origins(_args):
    """Every origin this node holds records of: seq range of its retained log, whether it is this node."""
    return json_response(feed.origins(context()))


@blp.route("/federation/origins/<node:origin>/changes")
@requires("federation:read")
@blp.arguments(ChangesArgs, location="query")
@blp.response(200, {"$ref": FEDERATION + "changes_page"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No records of this origin here")
@blp.alt_response(410, response="GONE", description="Cursor older than the retained log: bootstrap from the snapshot")
def origin_changes(args, origin):
    """The origin's changes after the cursor, in seq order (gap-free), each with the origin's signed
    envelope; `has_more` says whether to ask again with `after=next_after`."""
    return json_response(feed.changes(context(), origin, args["after"], args["limit"]))


@blp.route("/federation/origins/<node:origin>/snapshot")
@requires("federation:read")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": "NDJSON: Federation/$defs/snapshot_line lines, then one "
                                                    "Federation/$defs/snapshot_manifest line."},
              content_type="application/x-ndjson")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No records of this origin here")
def origin_snapshot(_args, origin):
    """Every record and tombstone of the origin at one as_of_seq, as NDJSON, each with its current
    envelope; the last line is the manifest (as_of_seq, count, digest)."""
    lines = feed.snapshot(context(), origin)
    return Response(stream_with_context(lines), mimetype="application/x-ndjson")
