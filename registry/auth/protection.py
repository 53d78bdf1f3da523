"""Resource protection: every request's bearer token is checked before any route runs.

A request without a token is anonymous (public tier); a request with a bad one is refused with
401 whatever the route, so a client learns at once that its token is wrong. Which scope an action
needs is decided by registry.permissions, not here.
"""

from __future__ import annotations

from flask import Flask, g, request

from registry.auth import tokens
from registry.errors import Forbidden, Unauthenticated
from registry.permissions import ANONYMOUS, Caller
from registry.services import Context

# The OAuth endpoints authenticate clients themselves (HTTP Basic or form credentials).
UNPROTECTED_PREFIXES = ("/oauth/",)


def current_caller() -> Caller:
    return g.get("caller", ANONYMOUS)


def init_protection(app: Flask, ctx: Context) -> None:
    @app.before_request
    def identify_caller():
        g.caller = ANONYMOUS
        header = request.headers.get("Authorization")
        if header is None or request.path.startswith(UNPROTECTED_PREFIXES):
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send the access token as 'Authorization: Bearer <token>'.",
                                  error="invalid_request")
        g.caller = tokens.authenticate(ctx, token.strip())


def www_authenticate(error: Exception, realm: str) -> str:
    """The RFC 6750 challenge for a 401 or 403."""
    parts = [f'realm="{realm}"']
    if isinstance(error, Forbidden):
        parts += ['error="insufficient_scope"', f'scope="{error.scope}"']
    elif isinstance(error, Unauthenticated) and error.error:
        description = error.detail.replace('"', "'")
        parts += [f'error="{error.error}"', f'error_description="{description}"']
    return "Bearer " + ", ".join(parts)
