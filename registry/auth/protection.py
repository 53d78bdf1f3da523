"""Resource protection: every request's bearer token is checked before any route runs.

A request without a token is anonymous (public tier); a request with a bad one is refused with
401 whatever the route, so a client learns at once that its token is wrong. Which scope an action
needs is decided by registry.permissions, not here.
"""

from __future__ import annotations

from flask import Flask, g, request

from registry.auth import tokens
from registry.context import Context
from registry.errors import Forbidden, Unauthenticated
from registry.permissions import ANONYMOUS, Caller

# The OAuth endpoints authenticate clients themselves (HTTP Basic or form credentials).
UNPROTECTED_PREFIXES = ("/oauth/",)


def current_caller() -> Caller:
    return g.get("caller", ANONYMOUS)


def init_protection(app: Flask, ctx: Context) -> None:
    """Who is calling: the caller of a valid bearer token, else anonymous. A token that is not valid is
    remembered, not refused yet, so that rate limits count the request against the caller's address
    first (`refuse_invalid_tokens` refuses it after them): a flood of bad tokens is limited like any
    other anonymous traffic."""
    @app.before_request
    def identify_caller():
        g.caller = ANONYMOUS
        g.token_problem = None
        header = request.headers.get("Authorization")
        if header is None or request.path.startswith(UNPROTECTED_PREFIXES):
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            g.token_problem = Unauthenticated("Send the access token as 'Authorization: Bearer <token>'.",
                                              error="invalid_request")
            return
        try:
            g.caller = tokens.authenticate(ctx, token.strip())
        except Unauthenticated as problem:
            g.token_problem = problem


def refuse_invalid_tokens(app: Flask) -> None:
    """A request with a token that is not valid is a 401 whatever the route (registered after the rate
    limits, which have counted it by now)."""
    @app.before_request
    def refuse():
        if g.get("token_problem") is not None:
            raise g.token_problem


def www_authenticate(error: Exception, realm: str) -> str:
    """The RFC 6750 challenge for a 401 or 403."""
    parts = [f'realm="{realm}"']
    if isinstance(error, Forbidden):
        parts += ['error="insufficient_scope"', f'scope="{_quotable(error.scope)}"']
    elif isinstance(error, Unauthenticated) and error.error:
        parts += [f'error="{error.error}"', f'error_description="{_quotable(error.detail)}"']
    return "Bearer " + ", ".join(parts)


def _quotable(text: str) -> str:
    """Text fit for a quoted header parameter (RFC 6750 allows printable ASCII but '"' and '\\')."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text.replace('"', "'"))
