"""Rate limits (flask-limiter): per client for requests with a valid token, per IP address for
anonymous ones, and a tighter per-address limit on the OAuth endpoints, where secrets are tried.
Every answer says the caller's limit (X-RateLimit-*); only a 429 says when to retry (Retry-After),
since on other answers there is nothing to retry (a 503 keeps its own). Request bodies are bounded by Flask's
MAX_CONTENT_LENGTH (413)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address

from registry.auth.protection import UNPROTECTED_PREFIXES, current_caller
from registry.config import Settings


def _client_key() -> str:
    return f"client:{current_caller().client_id}"


def _authenticated() -> bool:
    return current_caller().authenticated


def _address_exempt() -> bool:
    # A request with a valid token counts for its client; the OAuth endpoints have a limit of their own.
    return _authenticated() or request.path.startswith(UNPROTECTED_PREFIXES)


def _retry_after_only_when_limited(response: Response) -> Response:
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def init_limits(app: Flask, settings: Settings, oauth_blueprint) -> Limiter:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Registered before the limiter's own hook, so that it runs after it (Flask runs them in reverse).
    app.after_request(_retry_after_only_when_limited)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.rate_limit_storage_url,
        headers_enabled=True,
        # Application limits: one count per client or address over every route (default limits, and
        # limits put on a blueprint, would count each route apart).
        application_limits=[
            ApplicationLimit(settings.rate_limit_client, key_function=_client_key, scope="client",
                             exempt_when=lambda: not _authenticated()),
            ApplicationLimit(settings.rate_limit_address, key_function=get_remote_address, scope="address",
                             exempt_when=_address_exempt),
        ],
    )
    # Token, revocation and introspection share one count; the discovery documents (GET) are not in it.
    limiter.shared_limit(settings.rate_limit_token, scope="oauth", key_func=get_remote_address,
                         methods=["POST"])(oauth_blueprint)
    return limiter
