"""The HTTP API under /api/v1: flask-smorest blueprints, problem+json errors, OpenAPI document."""

from __future__ import annotations

import functools

from flask import Flask, current_app
from flask_smorest import Api

from registry import contracts
from registry.api import problems
from registry.api.examples import ExamplesPlugin
from registry.api.paths import register_converters
from registry.auth.protection import current_caller, init_protection, refuse_invalid_tokens
from registry.context import Context
from registry.errors import RegistryError
from registry.permissions import SCOPES, Caller, require
from registry.visibility import Tier

API_VERSION = "1.0.0"


class RegistryApi(Api):
    # Documented error responses point at schemas/problem.json.
    ERROR_SCHEMA = "Problem"
    DEFAULT_RESPONSE_CONTENT_TYPE = problems.CONTENT_TYPE

    def handle_http_exception(self, error):
        return problems.from_http_exception(error)


def context_of(app: Flask) -> Context:
    return app.extensions["registry"]


def context() -> Context:
    return context_of(current_app)


def caller() -> Caller:
    """Who makes this request (anonymous unless a valid bearer token came with it)."""
    return current_caller()


def caller_tier() -> Tier:
    return current_caller().tier


def requires(action: str):
    """Check registry.permissions before anything else of the route runs (parsing included).

    For administration routes, whose services serve the CLI too and so take no caller."""

    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            require(current_caller(), action)
            return view(*args, **kwargs)

        return checked

    return decorate


def init_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Contact-point registry",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Whom to contact, in which country, about which crime and request: "
                                    "the authorities and contact points of cooperation networks in criminal "
                                    "matters."},
            "servers": [{"url": "/"}],
        },
    )
    # The examples are put under each operation as the blueprints register their routes.
    api = RegistryApi(app, spec_kwargs={"extra_plugins": [ExamplesPlugin()]})
    register_converters(app, api)
    for name, schema in contracts.openapi_components().items():
        api.spec.components.schema(name, schema)
    api.spec.components.security_scheme("oauth2", security_scheme())
    app.register_error_handler(RegistryError, problems.from_registry_error)
    app.extensions["registry_api"] = api

    # Hooks run in the order they are registered: who is calling, then rate limits (which depend on
    # who, and count a request with a bad token against its address), then the refusal of bad tokens,
    # then the audit trail and the cache (whose keys depend on the caller's scopes).
    from registry.api import (
        admin,
        audit,
        authorities,
        contact_points,
        emergency_notes,
        federation,
        federation_admin,
        feeds,
        lookup,
        networks,
        oauth,
        procedures,
        reference,
        search,
        subscriptions,
    )
    from registry.api.cache import init_cache
    from registry.api.limits import init_limits

    settings = context_of(app).settings
    init_protection(app, context_of(app))
    init_limits(app, settings, oauth.blp)
    refuse_invalid_tokens(app)
    audit.init_audit_trail(app)
    init_cache(app, settings.response_cache_size, settings.response_cache_bytes)

    init_standard_headers(app)

    for module in (reference, networks, authorities, contact_points, emergency_notes, procedures, lookup, search, feeds,
                   subscriptions, federation, federation_admin, admin, audit):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    api.register_blueprint(oauth.blp)
    api.register_blueprint(federation.well_known)
    return api


def init_standard_headers(app: Flask) -> None:
    """Headers every answer carries. Answers of the API differ by token (tiers, scopes), so shared caches
    must key them by Authorization and must not keep what a token was given; all of them must be
    revalidated (the ETag makes that cheap), since the directory changes at any moment."""
    from flask import request

    @app.after_request
    def standard_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.path.startswith("/api/v1/") and "no-store" not in response.headers.get("Cache-Control", ""):
            response.vary.add("Authorization")
            response.headers["Cache-Control"] = "private, no-cache" if "Authorization" in request.headers \
                else "no-cache"
        return response


def security_scheme() -> dict:
    return {"type": "oauth2", "description": "Client credentials; see /.well-known/oauth-authorization-server. "
            "Without a token, a request is served the public tier.",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(SCOPES)}}}
