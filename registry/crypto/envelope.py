"""Signed envelopes: every version of every record, signed by its origin (docs/federation-protocol.md).

An envelope is a compact JWS (schemas/envelope.json) whose payload is the RFC 8785 canonical JSON
of `{origin, seq, id, type, version, deleted, owner_network, updated_at, schema, body_hash, body}`;
`body_hash` is the SHA-256 of the canonical JSON of `body` (base64url), so a body can be checked
against its hash on its own. The header names the key (`kid`), the algorithm (Ed25519 or ES256,
nothing else) and the type. Envelopes are stored and forwarded as the exact string signed.
"""

from __future__ import annotations

import base64
import hashlib

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from registry.contracts import BASE_URI, RECORD_SCHEMAS
from registry.crypto import canonical

ENVELOPE_TYPE = "registry-record+jws"
# EdDSA named by its fully-specified identifier (RFC 9864: Ed25519), or ES256.
ALGORITHMS = ["Ed25519", "ES256"]
# joserfc refuses payloads over 128 kB by default; a network's member list alone can be larger.
# This bounds what a node signs and accepts (a change-feed page is bounded separately).
MAX_PAYLOAD_BYTES = 16 << 20


class _EnvelopeRegistry(JWSRegistry):
    max_payload_length = MAX_PAYLOAD_BYTES


REGISTRY = _EnvelopeRegistry(algorithms=ALGORITHMS)


class InvalidEnvelope(ValueError):
    """An envelope that is malformed, signed with an unknown key or algorithm, or altered."""


def body_hash(body: dict) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.dumps(body)).digest()).rstrip(b"=").decode()


def sign(keys: KeySet, *, origin: str, seq: int, record_id: str, record_type: str, version: int, deleted: bool,
         owner_network: str, updated_at: str, body: dict, deleted_by: str | None = None) -> str:
    """The compact JWS of one version, signed with the one key of `keys` (a store's signing keys).

    A tombstone may name who deleted the record at the origin (`deleted_by`), so that the nodes that
    copy the deletion can say so rather than name the peer they had it from."""
    (key,) = keys.keys
    claims = {"origin": origin, "seq": seq, "id": record_id, "type": record_type, "version": version,
              "deleted": deleted, "owner_network": owner_network, "updated_at": updated_at,
              "schema": BASE_URI + RECORD_SCHEMAS[record_type], "body_hash": body_hash(body), "body": body}
    if deleted and deleted_by:
        claims["deleted_by"] = deleted_by
    header = {"alg": key.alg, "kid": key.kid, "typ": ENVELOPE_TYPE}
    return jws.serialize_compact(header, canonical.dumps(claims), key, registry=REGISTRY)


def verify(envelope: str, keys: KeySet) -> dict:
    """The payload of a valid envelope; InvalidEnvelope says what is wrong with any other."""
    try:
        header = jws.extract_compact(envelope.encode(), registry=REGISTRY).protected
    except (JoseError, ValueError) as exc:
        raise InvalidEnvelope(f"not a compact JWS: {exc}") from None
    if header.get("typ") != ENVELOPE_TYPE:
        raise InvalidEnvelope(f"typ must be {ENVELOPE_TYPE!r}, not {header.get('typ')!r}")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidEnvelope(f"alg {header.get('alg')!r} is not allowed (only {', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    if not kid or all(k.kid != kid for k in keys.keys):
        raise InvalidEnvelope(f"unknown kid {kid!r}")
    try:
        payload = jws.deserialize_compact(envelope, keys.get_by_kid(kid), registry=REGISTRY).payload
    except JoseError as exc:
        raise InvalidEnvelope(f"bad signature: {exc}") from None
    claims = orjson.loads(payload)
    if claims.get("body_hash") != body_hash(claims.get("body")):
        raise InvalidEnvelope("body_hash does not match the body")
    return claims


def claims_unverified(envelope: str) -> dict:
    """The payload of an envelope without checking it: to learn which origin's keys to verify it
    with, or to read one this node verified when it stored it. InvalidEnvelope if it is not a JWS."""
    try:
        return orjson.loads(jws.extract_compact(envelope.encode(), registry=REGISTRY).payload)
    except (JoseError, ValueError) as exc:
        raise InvalidEnvelope(f"not a compact JWS: {exc}") from None
