"""Rate limits (flask-limiter): per client for requests with a valid token, per IP address for
anonymous ones, and a tighter per-address limit on the OAuth endpoints, where secrets are tried.
Every answer says the caller's limit (X-RateLimit-*); only a 429 says when to retry (Retry-After),
since on other answers there is nothing to retry (a 503 keeps its own). Request bodies are bounded by Flask's
MAX_CONTENT_LENGTH (413)."""

from __future__ import annotations

import time

from flask import Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

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


class WorkerMemoryStorage(MemoryStorage):
    """limits' in-memory counters (`memory://`), cleaned at most once a second.

    MemoryStorage drops expired counters from a timer thread that it starts again 10 ms after the last one
    ran, on the next hit: a busy worker starts a thread every few requests, and a thread's start costs more
    than the count itself. Counts do not depend on the cleaning (an expired counter reads as zero on its next
    hit); only the memory of idle keys is given back up to a second later."""

    STORAGE_SCHEME = ["registry-memory"]
    CLEANING_INTERVAL = 1.0

    def __init__(self, uri: str | None = None, **options):
        self._next_cleaning = 0.0
        super().__init__(uri, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the name MemoryStorage calls
        now = time.monotonic()
        if now >= self._next_cleaning:
            self._next_cleaning = now + self.CLEANING_INTERVAL
            super()._MemoryStorage__schedule_expiry()


def _storage_uri(url: str) -> str:
    return "registry-memory://" if url == "memory://" else url


def init_limits(app: Flask, settings: Settings, oauth_blueprint) -> Limiter:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Registered before the limiter's own hook, so that it runs after it (Flask runs them in reverse).
    app.after_request(_retry_after_only_when_limited)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=_storage_uri(settings.rate_limit_storage_url),
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
