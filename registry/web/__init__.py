"""The pages: server-rendered HTML on the same services as the API, in the reader's language: the
practitioner's lookup, and the console where people sign in and a network's editors keep its records."""

from __future__ import annotations

from flask import Flask

from registry.web import accounts, console, errors, i18n, security, sessions, verification, views


def init_web(app: Flask) -> None:
    i18n.init_i18n(app)
    security.init_security_headers(app)
    sessions.init_sessions(app)
    security.init_csrf(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(verification.bp)
    errors.init_error_pages(app)
