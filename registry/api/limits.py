"""Rate limits (flask-limiter): per client for requests with a valid token, per IP address for
anonymous ones, and a tighter per-address limit on the OAuth endpoints, where secrets are tried.
A 429 carries Retry-After. Request bodies are bounded by Flask's MAX_CONTENT_LENGTH (413)."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limit, Limiter
from flask_limiter.util import get_remote_address

from registry.auth.protection import current_caller
from registry.config import Settings


def _client_key() -> str:
    return f"client:{current_caller().client_id}"


def _authenticated() -> bool:
    return current_caller().authenticated


def init_limits(app: Flask, settings: Settings, oauth_blueprint) -> Limiter:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.rate_limit_storage_url,
        headers_enabled=True,
        default_limits=[
            Limit(settings.rate_limit_client, key_function=_client_key, exempt_when=lambda: not _authenticated()),
            Limit(settings.rate_limit_address, key_function=get_remote_address, exempt_when=_authenticated),
        ],
    )
    limiter.limit(settings.rate_limit_token, key_func=get_remote_address)(oauth_blueprint)
    return limiter
