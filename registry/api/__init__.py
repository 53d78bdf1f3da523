"""The HTTP API under /api/v1: flask-smorest blueprints, problem+json errors, OpenAPI document."""

from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api

from registry import contracts
from registry.api import problems
from registry.errors import RegistryError
from registry.services import Context
from registry.visibility import ANONYMOUS_TIER, Tier

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


def caller_tier() -> Tier:
    return ANONYMOUS_TIER


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
    api = RegistryApi(app)
    for name, schema in contracts.openapi_components().items():
        api.spec.components.schema(name, schema)
    app.register_error_handler(RegistryError, problems.from_registry_error)
    app.extensions["registry_api"] = api

    from registry.api import authorities, contact_points, emergency_notes, lookup, networks, reference

    for module in (reference, networks, authorities, contact_points, emergency_notes, lookup):
        api.register_blueprint(module.blp, url_prefix="/api/v1")

    from registry.api.cache import init_cache

    init_cache(app, context_of(app).settings.response_cache_size)
    return api
