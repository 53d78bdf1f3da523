"""The write API and record history, added to each record collection's blueprint.

POST to the collection creates; PUT, PATCH (JSON Merge Patch) and DELETE on an item need
If-Match with the ETag of the version they change. GET .../history lists the versions.
"""

from __future__ import annotations

from registry.api import caller, context
from registry.api.args import PageArgs, RegistryBlueprint, if_match_version, page_of, request_json
from registry.api.responses import page_response, record_response
from registry.services import history, publishing

WRITE_ERRORS = [
    (400, "BAD_REQUEST", "Malformed JSON"),
    (401, "UNAUTHORIZED", "No access token, or a token that is not valid (see WWW-Authenticate)"),
    (403, "FORBIDDEN", "The token lacks publish:<owner_network> (the problem names the scope)"),
    (409, "CONFLICT", "A copy of another origin's record: the problem names the origin to publish at"),
    (413, "REQUEST_ENTITY_TOO_LARGE", "Body larger than REGISTRY_MAX_BODY_BYTES"),
    (415, "UNSUPPORTED_MEDIA_TYPE", "Body not sent as JSON"),
    (422, "UNPROCESSABLE_ENTITY", "Invalid body: unknown field, a field the registry sets, a broken rule"),
    (429, "TOO_MANY_REQUESTS", "Rate limit reached; retry after Retry-After seconds"),
]
ITEM_ERRORS = [
    (404, "NOT_FOUND", "No such record"),
    (412, "PRECONDITION_FAILED", "If-Match names another version than the current one"),
    (428, "PRECONDITION_REQUIRED", "If-Match missing"),
]
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": "The ETag of the version the change is based on (from a GET or the last write)."}


def _json_body(schema: dict, description: str) -> dict:
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def write_errors(blp: RegistryBlueprint, errors):
    def decorate(func):
        for status, name, description in errors:
            func = blp.alt_response(status, response=name, description=description)(func)
        return func

    return decorate


def add_publishing_routes(blp: RegistryBlueprint, *, collection: str, record_type: str, component: str,
                          id_param: str) -> None:
    """POST /{collection}, PUT/PATCH/DELETE /{collection}/{id}, GET /{collection}/{id}/history.

    `id_param` is the name the collection's GET route gives the id: one path, one parameter name."""
    record = {"$ref": f"#/components/schemas/{component}"}
    record_input = {"$ref": f"#/components/schemas/{component}/$defs/input"}
    label = record_type.replace("_", " ")
    item = f"/{collection}/<record_id:{id_param}>"

    @blp.route(f"/{collection}", methods=["POST"], endpoint=f"create_{record_type}")
    @blp.doc(summary=f"Publish a new {label}", description=(
        f"Creates a {label} owned by `owner_network`; needs the scope publish:<owner_network>. "
        "The registry assigns the id (in this node's namespace) and version 1."),
        **_json_body(record_input, f"The {label} and its owner_network."))
    @blp.response(201, record, content_type="application/json")
    @write_errors(blp, WRITE_ERRORS)
    def create():
        return record_response(publishing.create(context(), caller(), record_type, request_json()), status=201)

    @blp.route(item, methods=["PUT"], endpoint=f"replace_{record_type}")
    @blp.doc(summary=f"Replace a {label}", parameters=[IF_MATCH], description=(
        "The full new body. owner_network defaults to the current one; moving the record to another "
        "network needs the publish scope of both. PUT on a deleted record brings it back."),
        **_json_body(record_input, f"The {label} in full."))
    @blp.response(200, record, content_type="application/json")
    @write_errors(blp, WRITE_ERRORS + ITEM_ERRORS)
    def replace(**ids):
        result = publishing.replace(context(), caller(), record_type, ids[id_param], request_json(),
                                    if_match_version())
        return record_response(result)

    @blp.route(item, methods=["PATCH"], endpoint=f"patch_{record_type}")
    @blp.doc(summary=f"Change fields of a {label}", parameters=[IF_MATCH], description=(
        "A JSON Merge Patch (RFC 7396): the fields to change; null removes a field."),
        **_json_body({"type": "object"}, "application/merge-patch+json or application/json"))
    @blp.response(200, record, content_type="application/json")
    @write_errors(blp, WRITE_ERRORS + ITEM_ERRORS)
    def patch(**ids):
        result = publishing.patch(context(), caller(), record_type, ids[id_param], request_json(),
                                  if_match_version())
        return record_response(result)

    @blp.route(item, methods=["DELETE"], endpoint=f"delete_{record_type}")
    @blp.doc(summary=f"Delete a {label}", parameters=[IF_MATCH], description=(
        "Leaves a tombstone (a new version with deleted true); a later GET answers 410 with when and "
        "by whom. The id is never reused."))
    @blp.response(200, record, content_type="application/json", description="The tombstone")
    @write_errors(blp, [e for e in WRITE_ERRORS if e[0] not in (400, 415, 422)] + ITEM_ERRORS)
    def delete(**ids):
        result = publishing.delete(context(), caller(), record_type, ids[id_param], if_match_version())
        return record_response(result)

    add_history_route(blp, item=item, record_type=record_type, id_param=id_param)


def add_history_route(blp: RegistryBlueprint, *, item: str, record_type: str, id_param: str) -> None:
    label = record_type.replace("_", " ")

    @blp.route(f"{item}/history", methods=["GET"], endpoint=f"{record_type}_history")
    @blp.arguments(PageArgs, location="query")
    @blp.doc(summary=f"Versions of a {label}", description=(
        "Every version, oldest first: who wrote it (client id), when, and which fields changed, "
        "as far as the caller may see them. Paginated."))
    @blp.response(200, {"type": "array", "items": {"$ref": "#/components/schemas/History/$defs/entry"}},
                  content_type="application/json")
    @write_errors(blp, [(400, "BAD_REQUEST", "Unknown query parameter"), (404, "NOT_FOUND", "No such record")])
    def record_history(args, **ids):
        page = page_of(args)
        return page_response(history.record_history(context(), record_type, ids[id_param], caller(), page))
