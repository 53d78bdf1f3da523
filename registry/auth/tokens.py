"""Validating access tokens (RFC 9068 JWTs) and revoking them.

Authlib's authorization server issues the tokens (registry.auth.server); this module is the one
place that decides whether a presented token is good, for resource protection, introspection and
revocation alike. Checks: the signature with an algorithm allow-list and a known `kid`, `typ`,
`iss`, `aud`, `exp`/`nbf`/`iat` with a small leeway, then the client (still enabled, token not
older than its last secret rotation) and the revocation list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, exists, select

from registry import models
from registry.context import Context
from registry.db import utcnow
from registry.errors import Unauthenticated
from registry.permissions import Caller

ALGORITHMS = ["ES256"]
TOKEN_TYPES = {"at+jwt", "application/at+jwt"}

# The client's `tokens_valid_after` (in microseconds) when the token was issued. `iat` has whole seconds
# only, so it cannot tell a token issued just before a secret rotation or a disabling from one issued
# just after, within the same second; this claim can.
STANDING_CLAIM = "client_standing"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def standing_of(client) -> int:
    """`client`: a Client row, or any row with its tokens_valid_after."""
    return (client.tokens_valid_after - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class AccessToken:
    claims: dict

    @property
    def caller(self) -> Caller:
        return Caller(self.claims["client_id"], frozenset(self.claims.get("scope", "").split()))

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.claims["exp"], UTC)


def _invalid(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, error="invalid_token")


def decode(ctx: Context, token: str) -> AccessToken:
    """A token signed by this node for this node, or Unauthenticated saying what is wrong."""
    settings = ctx.settings
    try:
        decoded = jwt.decode(token, ctx.token_keys.verification_keys(), algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        raise _invalid("The access token is malformed, or its algorithm, key id or signature is not "
                       "accepted here. Ask the token endpoint for a new one.") from None
    if str(decoded.header.get("typ", "")).lower() not in TOKEN_TYPES:
        raise _invalid("The token is not an access token (typ must be at+jwt).")
    options = {
        "iss": {"essential": True, "value": settings.public_url},
        "aud": {"essential": True, "value": settings.public_url},
        "client_id": {"essential": True},
        "jti": {"essential": True},
        "iat": {"essential": True},
        "exp": {"essential": True},
        STANDING_CLAIM: {"essential": True},
    }
    claims = jwt.JWTClaimsRegistry(leeway=settings.token_leeway, **options)
    try:
        claims.validate(decoded.claims)
    except JoseError as exc:
        raise _invalid(_claim_problem(exc)) from None
    # This node issues `aud` as one string; a list naming it among others is a token meant for several
    # audiences, which no token of this node is.
    if not isinstance(decoded.claims["aud"], str):
        raise _invalid("The access token's aud must name this node alone (one string), not a list.")
    if not isinstance(decoded.claims[STANDING_CLAIM], int) or isinstance(decoded.claims[STANDING_CLAIM], bool):
        raise _invalid(f"The access token's {STANDING_CLAIM} claim is not valid. Ask the token endpoint for a new one.")
    return AccessToken(decoded.claims)


def _claim_problem(exc: JoseError) -> str:
    claim = getattr(exc, "claim", None)
    if exc.error == "missing_claim":
        return f"The access token lacks the {claim} claim every token of this node carries. Ask the token " \
               "endpoint for a new one."
    if exc.error == "expired_token":
        return "The access token has expired. Ask the token endpoint for a new one."
    if claim in ("nbf", "iat"):
        return "The access token is not valid yet (nbf or iat in the future)."
    if claim == "aud":
        return "The access token was issued for another audience than this node."
    if claim == "iss":
        return "The access token was issued by another authorization server than this node."
    return f"The access token's {claim or 'claims'} claim is missing or not valid."


def authenticate(ctx: Context, token: str) -> Caller:
    """The caller a bearer token stands for; Unauthenticated when the token must be refused."""
    return check_standing(ctx, decode(ctx, token))


def check_standing(ctx: Context, access: AccessToken) -> Caller:
    """A well-formed token is still refused when its client was disabled or re-keyed, or it was revoked."""
    # One round trip per request: the client's standing and whether this token was revoked.
    client, revoked = models.Client, models.RevokedToken
    query = (select(client.disabled, client.tokens_valid_after,
                    exists().where(revoked.jti == access.claims["jti"]))
             .where(client.client_id == access.claims["client_id"]))
    with ctx.db.read() as session:
        standing = session.execute(query).first()
    if standing is None or standing.disabled:
        raise _invalid("The client this token was issued to is disabled or no longer exists.")
    if access.claims["iat"] < int(standing.tokens_valid_after.timestamp()) or \
            access.claims[STANDING_CLAIM] != standing_of(standing):
        raise _invalid("The token was issued before its client's secret was rotated or the client was "
                       "disabled; ask for a new one.")
    if standing[2]:
        raise _invalid("The access token has been revoked.")
    return access.caller


def revoke(ctx: Context, access: AccessToken) -> None:
    """Refuse the token from now on; expired entries of the list are dropped on the way."""
    now = utcnow()
    with ctx.db.write() as session:
        session.execute(delete(models.RevokedToken).where(models.RevokedToken.expires_at < now))
        if session.get(models.RevokedToken, access.claims["jti"]) is None and access.expires_at >= now:
            session.add(models.RevokedToken(jti=access.claims["jti"], client_id=access.claims["client_id"],
                                            expires_at=access.expires_at))
