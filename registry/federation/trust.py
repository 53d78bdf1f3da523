"""Which origins this node accepts records from (docs/federation.md, Trust).

An admin trusts an origin by its node id, the id namespace it issues and the URL of its record
keys. The keys are fetched from that URL when the origin is trusted and pinned in the database;
an envelope naming a kid the pinned set lacks makes the puller fetch them again (at most once a
minute per origin), which is how a rotation at the origin reaches its peers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import orjson
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.crypto.envelope import ALGORITHMS
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound, UpstreamFailed
from registry.outbound import OutboundError, RefusedURL

NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
JWKS_MAX_BYTES = 256 * 1024
# An unknown kid makes the puller fetch the origin's keys again (a rotation), at most this often: a
# rotated key is taken within seconds, and envelopes naming made-up kids cannot make it fetch on each.
REFRESH_INTERVAL = timedelta(seconds=5)


@dataclass(frozen=True)
class TrustedInfo:
    node_id: str
    namespace: str
    jwks_url: str
    kids: list[str]
    keys_fetched_at: str
    created_at: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def trust_origin(ctx: Context, node_id: str, namespace: str, jwks_url: str) -> TrustedInfo:
    """Trust `node_id` for records in `namespace`, pinning the keys fetched from `jwks_url` now.
    Trusting it again replaces the namespace and URL and fetches the keys afresh."""
    for parameter, value in (("node_id", node_id), ("namespace", namespace)):
        if not NAME.fullmatch(value):
            raise InvalidParameter(parameter, "lowercase letters, digits and '-', starting with a letter")
    if node_id == ctx.settings.node_id or namespace == ctx.settings.namespace:
        raise InvalidParameter("node_id", f"{node_id}/{namespace} is this node: its own records need no trust")
    jwks = _fetch_keys(ctx, jwks_url)
    now = utcnow()
    with ctx.db.write() as session:
        holder = session.scalar(select(models.TrustedOrigin).where(models.TrustedOrigin.namespace == namespace,
                                                                   models.TrustedOrigin.node_id != node_id))
        if holder is not None:
            raise Conflict(f"the namespace {namespace!r} belongs to the trusted origin {holder.node_id!r}; "
                           "an id namespace has one origin")
        row = session.get(models.TrustedOrigin, node_id) or models.TrustedOrigin(node_id=node_id, created_at=now)
        row.namespace, row.jwks_url, row.jwks, row.keys_fetched_at = namespace, jwks_url, jwks, now
        session.add(row)
        session.flush()
        return _info(row)


def list_trusted(ctx: Context) -> list[TrustedInfo]:
    with ctx.db.read() as session:
        return [_info(r) for r in session.scalars(select(models.TrustedOrigin).order_by(models.TrustedOrigin.node_id))]


def untrust_origin(ctx: Context, node_id: str) -> None:
    """Stop accepting the origin's records. Copies already held stay (read-only) until removed by hand;
    nothing more of the origin is pulled."""
    with ctx.db.write() as session:
        row = session.get(models.TrustedOrigin, node_id)
        if row is None:
            raise NotFound(f"the origin {node_id!r} is not trusted here")
        session.delete(row)


def trusted(ctx: Context) -> dict[str, models.TrustedOrigin]:
    with ctx.db.read() as session:
        return {r.node_id: r for r in session.scalars(select(models.TrustedOrigin))}


def key_set(origin: models.TrustedOrigin) -> KeySet:
    return KeySet.import_key_set(origin.jwks)


def refresh_keys(ctx: Context, node_id: str) -> models.TrustedOrigin | None:
    """Fetch the origin's keys again unless they were fetched within REFRESH_INTERVAL; the updated
    row, or None when it was too soon (or the origin is no longer trusted)."""
    with ctx.db.read() as session:
        row = session.get(models.TrustedOrigin, node_id)
        if row is None or utcnow() - row.keys_fetched_at < REFRESH_INTERVAL:
            return None
        url = row.jwks_url
    jwks = _fetch_keys(ctx, url)
    with ctx.db.write() as session:
        row = session.get(models.TrustedOrigin, node_id)
        if row is None:
            return None
        row.jwks, row.keys_fetched_at = jwks, utcnow()
        session.flush()
        return row


def _fetch_keys(ctx: Context, url: str) -> dict:
    """The public keys at `url`, checked: a JWKS of Ed25519/ES256 signing keys with ids, no private parts."""
    try:
        response = ctx.outbound.request("GET", url, headers={"Accept": "application/json"},
                                                               max_bytes=JWKS_MAX_BYTES)
    except RefusedURL as exc:
        raise InvalidParameter("jwks_url", str(exc)) from None
    except OutboundError as exc:
        raise UpstreamFailed(f"could not fetch the keys at {url}: {exc}") from None
    if response.status != 200:
        raise UpstreamFailed(f"{url} answered {response.status}, not a key set")
    try:
        jwks = orjson.loads(response.body)
        keys = [k for k in jwks["keys"] if k.get("alg") in ALGORITHMS and k.get("kid")]
        KeySet.import_key_set({"keys": keys})
    except (orjson.JSONDecodeError, TypeError, KeyError, JoseError, ValueError) as exc:
        raise UpstreamFailed(f"{url} is not a usable JSON Web Key Set: {exc}") from None
    if not keys:
        raise UpstreamFailed(f"{url} holds no signing key with a kid and an alg of {', '.join(ALGORITHMS)}")
    if any("d" in k for k in keys):
        raise UpstreamFailed(f"{url} publishes private keys; refusing to pin them")
    return {"keys": keys}


def _info(row: models.TrustedOrigin) -> TrustedInfo:
    return TrustedInfo(node_id=row.node_id, namespace=row.namespace, jwks_url=row.jwks_url,
                       kids=[k["kid"] for k in row.jwks["keys"]], keys_fetched_at=iso(row.keys_fetched_at),
                       created_at=iso(row.created_at))
