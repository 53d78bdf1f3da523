"""The practitioner's pages: server-rendered HTML on the same services as the API, in the reader's language."""

from __future__ import annotations

from flask import Flask

from registry.web import errors, i18n, security, views


def init_web(app: Flask) -> None:
    i18n.init_i18n(app)
    security.init_security_headers(app)
    app.register_blueprint(views.bp)
    errors.init_error_pages(app)
