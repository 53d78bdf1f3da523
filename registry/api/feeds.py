"""Feeds for partner systems: the changes this node holds in arrival order, and the whole
directory as NDJSON, at the caller's visibility tier (see registry.services.feeds)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, request, stream_with_context

from registry.api import context, current_caller
from registry.api.args import NoArgs, QueryArgs, RegistryBlueprint
from registry.api.responses import json_response
from registry.services import feeds

blp = RegistryBlueprint("feeds", __name__, description="Incremental and full directory feeds for partner systems.")

FEEDS = "#/components/schemas/Feeds/$defs/"


class ChangesArgs(QueryArgs):
    after = ma.fields.String(validate=ma.validate.Length(max=200), metadata={
        "description": "The `next_cursor` of the previous page, or the `cursor` a directory feed ended with. "
                       "Absent: from the beginning of this node's log."})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=feeds.MAX_LIMIT),
                              metadata={"description": f"Items per page, at most {feeds.MAX_LIMIT}."})
    network = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=200)), metadata={
        "description": "Only records of these networks (owner, member or role; repeatable): code, acronym or name."})
    country = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=200)), metadata={
        "description": "Only records of these countries (repeatable): alpha-2, alpha-3 or a name in any language."})
    type = ma.fields.List(ma.fields.String(), metadata={
        "description": "Only these record types (repeatable): network, authority, contact_point, emergency_note, "
                       "procedure."})


@blp.route("/feeds/changes")
@blp.arguments(ChangesArgs, location="query")
@blp.response(200, {"$ref": FEEDS + "changes_page"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(410, response="GONE", description="A cursor of another node or database: bootstrap again")
def feed_changes(args):
    """Every change this node holds, across origins, in the order it arrived here: tombstones
    included, each item with the origin's signed envelope when the caller's tier may see the whole
    record. Ask again with `after=next_cursor` while `has_more`; then poll."""
    wanted = feeds.resolve_filters(context(), args.get("network"), args.get("country"), args.get("type"))
    return json_response(feeds.changes(context(), current_caller(), args.get("after"), args["limit"], wanted))


@blp.route("/feeds/directory.ndjson")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": "NDJSON: Feeds/$defs/directory_line lines, then one "
                                                    "Feeds/$defs/directory_end line."},
              content_type="application/x-ndjson")
@blp.alt_response(304, response="NOT_MODIFIED", description="Nothing arrived since the ETag sent in If-None-Match")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def directory(_args):
    """The whole directory at the caller's tier, streamed (one line per live record), then the
    cursor to follow `/feeds/changes` from. The ETag changes when anything arrives."""
    etag = feeds.directory_etag(context(), current_caller())
    if request.if_none_match.contains(etag.strip('"')):
        response = Response(status=304)
    else:
        response = Response(stream_with_context(feeds.directory(context(), current_caller())),
                            mimetype="application/x-ndjson")
    response.set_etag(etag.strip('"'))
    response.headers["Vary"] = "Authorization"
    return response
