"""Checkpoints: an origin's signed statement of everything it holds at one seq.

A checkpoint is a compact JWS (`typ: registry-checkpoint+jws`, the origin's record-signing key, the
same algorithms as envelopes) over the RFC 8785 canonical JSON of `{origin, as_of_seq, issued_at,
count, digest}`: `digest` is the SHA-256 (lowercase hex) of one line `<id> <version> <seq>\\n` per record
of the origin, live or tombstone, sorted by id; `count` is the number of lines. Relays pass checkpoints
on unchanged; a consumer accepts a snapshot only when its records hash to the digest of a checkpoint at
the snapshot's seq, so a relay can neither leave a record out, nor move the seq, nor change a version
without the origin's key. Like Certificate Transparency's signed tree heads and TUF's snapshot and
timestamp roles: completeness and freshness are signed, not only the records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from registry.crypto import canonical
from registry.crypto.envelope import ALGORITHMS, REGISTRY, InvalidEnvelope

CHECKPOINT_TYPE = "registry-checkpoint+jws"


def state_digest(entries: Iterable[tuple[str, int, int]]) -> tuple[int, str]:
    """(count, digest) of (id, version, seq) entries, in any order."""
    lines = [f"{record_id} {version} {seq}\n" for record_id, version, seq in sorted(entries)]
    return len(lines), hashlib.sha256("".join(lines).encode()).hexdigest()


def sign(keys: KeySet, *, origin: str, as_of_seq: int, issued_at: str, count: int, digest: str) -> str:
    (key,) = keys.keys
    claims = {"origin": origin, "as_of_seq": as_of_seq, "issued_at": issued_at, "count": count, "digest": digest}
    header = {"alg": key.alg, "kid": key.kid, "typ": CHECKPOINT_TYPE}
    return jws.serialize_compact(header, canonical.dumps(claims), key, registry=REGISTRY)


def kid_of(signed: str) -> str | None:
    try:
        return jws.extract_compact(signed.encode(), registry=REGISTRY).protected.get("kid")
    except (JoseError, ValueError):
        return None


def verify(signed: str, keys: KeySet, origin: str) -> dict:
    """The claims of a valid checkpoint of `origin`; InvalidEnvelope says what is wrong otherwise."""
    if not isinstance(signed, str):
        raise InvalidEnvelope("a checkpoint must be a compact JWS string")
    try:
        header = jws.extract_compact(signed.encode(), registry=REGISTRY).protected
    except (JoseError, ValueError) as exc:
        raise InvalidEnvelope(f"not a compact JWS: {exc}") from None
    if header.get("typ") != CHECKPOINT_TYPE or header.get("alg") not in ALGORITHMS:
        raise InvalidEnvelope(f"not a checkpoint (typ {header.get('typ')!r}, alg {header.get('alg')!r})")
    kid = header.get("kid")
    if not kid or all(k.kid != kid for k in keys.keys):
        raise InvalidEnvelope(f"unknown kid {kid!r}")
    try:
        claims = orjson.loads(jws.deserialize_compact(signed, keys.get_by_kid(kid), registry=REGISTRY).payload)
    except JoseError as exc:
        raise InvalidEnvelope(f"bad signature: {exc}") from None
    if not (isinstance(claims, dict) and claims.get("origin") == origin and isinstance(claims.get("as_of_seq"), int)
            and isinstance(claims.get("count"), int) and isinstance(claims.get("digest"), str)
            and isinstance(claims.get("issued_at"), str)):
        raise InvalidEnvelope(f"not a checkpoint of {origin}")
    try:
        datetime.fromisoformat(claims["issued_at"])
    except ValueError:
        raise InvalidEnvelope(f"issued_at {claims['issued_at']!r} is not a date-time") from None
    return claims
