"""Our own 404 and 500 pages for the pages; the API keeps answering problem+json."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

from registry.api import problems
from registry.web.security import is_page


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(error: HTTPException):
        if not is_page(request.path):
            return problems.from_http_exception(error)
        return render_template("error.html", status=404), 404

    @app.errorhandler(InternalServerError)
    def server_error(error: HTTPException):
        app.logger.error("Failed to answer %s %s", request.method, request.path,
                         exc_info=getattr(error, "original_exception", None))
        if not is_page(request.path):
            return problems.from_http_exception(error)
        try:
            return render_template("error.html", status=500), 500
        except Exception:  # the page itself may be what fails; the reader still gets an answer
            return "500 Internal Server Error", 500, {"Content-Type": "text/plain; charset=utf-8"}
