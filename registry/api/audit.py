"""The audit trail of the API: every request that may change something (any method but GET, HEAD
and OPTIONS), accepted or refused, is recorded after it is answered; `admin` reads the log."""

from __future__ import annotations

import logging

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from registry.api import caller, context, requires
from registry.api.args import PageArgs, RegistryBlueprint, TextFilter, page_of
from registry.api.cache import never_cached
from registry.api.request_ids import request_id
from registry.api.responses import page_response
from registry.services import audit

log = logging.getLogger(__name__)

blp = RegistryBlueprint("audit", __name__, description="The audit log of writes and refused write attempts.")
never_cached(blp)

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class AuditArgs(PageArgs):
    client = TextFilter("Only entries of this client id.")
    person = TextFilter("Only entries of this person (account e-mail address).")
    record = TextFilter("Only entries about this record id.")
    outcome = TextFilter("accepted or refused.")


@blp.route("/admin/audit", methods=["GET"])
@requires("audit:read")
@blp.arguments(AuditArgs, location="query")
@blp.response(200, {"type": "array", "items": {"$ref": "#/components/schemas/Admin/$defs/audit_entry"}},
              content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(401, response="UNAUTHORIZED", description="No valid access token")
@blp.alt_response(403, response="FORBIDDEN", description="The token lacks admin")
def list_audit(args):
    """Audit entries, newest first: who (client id and address), what (method, route, record), the
    status and, for a refusal, why. Paginated."""
    page = page_of(args)
    return page_response(audit.list_entries(context(), audit.AuditFilters(**args), page))


def init_audit_trail(app: Flask) -> None:
    @app.after_request
    def record_write(response: Response) -> Response:
        if request.method in READ_METHODS:
            return response
        record_id = request.environ.get("registry.record_id") or _record_in_route()
        try:
            audit.record(context(), client_id=caller().client_id or _oauth_client(), person=caller().person,
                         address=request.remote_addr, method=request.method, route=request.path,
                         status=response.status_code, record_id=record_id, detail=_detail(response),
                         identified=caller().authenticated, request_id=request_id())
        except Exception:  # the answer stands even if the audit log cannot be written; say so loudly
            log.exception("could not write the audit entry for %s %s", request.method, request.path)
        return response


def _record_in_route() -> str | None:
    args = request.view_args or {}
    return next((str(v) for k, v in args.items() if k.endswith("_id") or k == "code"), None)


def _oauth_client() -> str | None:
    """For the OAuth endpoints: the client that tried to authenticate (Basic or form)."""
    if request.authorization and request.authorization.type == "basic":
        return (request.authorization.username or "")[:64] or None
    if not request.mimetype.endswith("urlencoded"):
        return None
    try:
        form = request.form
    except HTTPException:  # a body too large to read: the 413 is audited without a client
        return None
    return (form.get("client_id") or "")[:64] or None


def _detail(response: Response) -> str | None:
    if response.status_code < 400 or response.is_streamed:
        return None
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return None
    return body.get("detail") or body.get("error_description") or body.get("title")
