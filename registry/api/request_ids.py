"""Request ids: the caller's `X-Request-ID` when it is a plausible one (a proxy or a partner system that
traces its calls), a new one otherwise; returned in `X-Request-ID`, written in the audit log and in
every log line written while the request is served."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")


def request_id() -> str | None:
    """This request's id, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def request_started() -> float | None:
    """When this request began to be served (time.monotonic)."""
    return g.get("request_started") if has_request_context() else None


def init_request_ids(app: Flask) -> None:
    """First of all hooks: whatever answers or logs afterwards knows the id."""

    @app.before_request
    def name_the_request():
        offered = request.headers.get(HEADER, "")
        g.request_id = offered if ACCEPTED.fullmatch(offered) else uuid.uuid4().hex
        g.request_started = time.monotonic()

    @app.after_request
    def return_the_id(response: Response) -> Response:
        if rid := g.get("request_id"):
            response.headers[HEADER] = rid
        return response
