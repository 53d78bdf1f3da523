"""The origin-authoritative apply rule on one node, SQLite and PostgreSQL: what
`records.apply_copy` does with each version of a foreign origin that sync verified."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_records import AUTHORITY

from registry import models
from registry.crypto import envelope
from registry.crypto.keys import KeyStore
from registry.services.records import CopyOutcome, apply_copy, discard_copy, write_record

ORIGIN = "casc-node"


@pytest.fixture
def origin_keys(tmp_path):
    return KeyStore(tmp_path / "casc-node-records.json", "Ed25519", grace=float("inf"))


def signed(keys, seq: int, version: int, body: dict | None, record_id: str = "casc-node:kg-gpo",
           record_type: str = "authority") -> tuple[dict, str]:
    """A version as the origin signs it, and its claims as sync's verification returns them."""
    jws = envelope.sign(keys.signing_keys(), origin=ORIGIN, seq=seq, record_id=record_id, record_type=record_type,
                        version=version, deleted=body is None, owner_network="casc",
                        updated_at="2026-11-30T10:00:00Z", body=body or {})
    return envelope.verify(jws, keys.signing_keys()), jws


def apply(ctx, claims_and_envelope, log=True) -> CopyOutcome:
    claims, jws = claims_and_envelope
    with ctx.db.write() as session:
        outcome, _reason = apply_copy(session, claims, jws, actor="sync:test", log=log)
    return outcome


def held(ctx, record_id="casc-node:kg-gpo"):
    with ctx.db.read() as session:
        return session.get(models.Authority, record_id)


def test_higher_applies_same_is_duplicate_lower_is_stale(fresh_ctx, origin_keys):
    v1 = signed(origin_keys, 1, 1, AUTHORITY)
    v2 = signed(origin_keys, 2, 2, AUTHORITY | {"languages": ["ru", "en"]})
    assert apply(fresh_ctx, v1) == CopyOutcome.APPLIED
    assert apply(fresh_ctx, v2) == CopyOutcome.APPLIED
    row = held(fresh_ctx)
    assert (row.origin, row.version, row.seq, row.envelope, row.body["languages"]) == (ORIGIN, 2, 2, v2[1],
                                                                                        ["ru", "en"])
    assert apply(fresh_ctx, v2, log=False) == CopyOutcome.DUPLICATE
    assert apply(fresh_ctx, v1, log=False) == CopyOutcome.STALE
    assert held(fresh_ctx).envelope == v2[1], "neither a duplicate nor a stale version changes the copy"
    with fresh_ctx.db.read() as session:
        log = session.scalars(select(models.ChangeLogEntry.envelope).where(models.ChangeLogEntry.origin == ORIGIN)
                              .order_by(models.ChangeLogEntry.seq)).all()
        assert log == [v1[1], v2[1]], "the origin's envelopes are kept byte for byte under its own seq"
        assert session.get(models.OriginSequence, ORIGIN).last_seq == 2
        document = session.scalar(select(models.SearchDocumentRow).where(
            models.SearchDocumentRow.id == "casc-node:kg-gpo"))
        assert document.origin == ORIGIN, "a copy is indexed for search like a local record"


def test_a_tombstone_then_a_recreation(fresh_ctx, origin_keys):
    apply(fresh_ctx, signed(origin_keys, 1, 1, AUTHORITY))
    assert apply(fresh_ctx, signed(origin_keys, 2, 2, None)) == CopyOutcome.APPLIED
    assert held(fresh_ctx).deleted and held(fresh_ctx).body == {}
    assert apply(fresh_ctx, signed(origin_keys, 3, 3, AUTHORITY)) == CopyOutcome.APPLIED
    assert not held(fresh_ctx).deleted and held(fresh_ctx).version == 3


def quarantined(ctx) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(models.QuarantinedItem.reason).order_by(models.QuarantinedItem.id)))


def test_equivocation_and_unholdable_versions_are_quarantined(fresh_ctx, origin_keys):
    apply(fresh_ctx, signed(origin_keys, 1, 1, AUTHORITY))
    other = signed(origin_keys, 2, 1, AUTHORITY | {"acronym": "GPO"})
    assert apply(fresh_ctx, other) == CopyOutcome.QUARANTINED
    assert held(fresh_ctx).body == AUTHORITY, "the version held stays"
    invalid = signed(origin_keys, 3, 1, {"names": {"en": "No country"}}, record_id="casc-node:broken")
    assert apply(fresh_ctx, invalid) == CopyOutcome.QUARANTINED
    assert held(fresh_ctx, "casc-node:broken") is None
    with fresh_ctx.db.write() as session:
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="network", record_id="local:casc", owner_network="casc",
                     body={"code": "casc", "names": {"en": "CASC"}, "scope": "regional", "members": []}, actor="t")
    clash = signed(origin_keys, 4, 1, {"code": "casc", "names": {"en": "CASC again"}, "scope": "regional",
                                       "members": []}, record_id="casc-node:casc", record_type="network")
    assert apply(fresh_ctx, clash) == CopyOutcome.QUARANTINED
    wrong_type = signed(origin_keys, 5, 2, {"code": "x"}, record_id="casc-node:kg-gpo", record_type="network")
    assert apply(fresh_ctx, wrong_type) == CopyOutcome.QUARANTINED
    reasons = quarantined(fresh_ctx)
    assert "equivocation" in reasons[0] and "schema" in reasons[1] and "network code 'casc'" in reasons[2]
    assert "already the id of a authority" in reasons[3]
    with fresh_ctx.db.read() as session:
        assert session.get(models.OriginSequence, ORIGIN).last_seq == 5, "a quarantined version keeps its seq"


def test_a_discarded_copy_leaves_nothing_behind(fresh_ctx, origin_keys):
    apply(fresh_ctx, signed(origin_keys, 1, 1, AUTHORITY))
    with fresh_ctx.db.write() as session:
        discard_copy(session, "authority", session.get(models.Authority, "casc-node:kg-gpo"))
    with fresh_ctx.db.read() as session:
        assert session.get(models.Authority, "casc-node:kg-gpo") is None
        for column in (models.RecordTerm.record_id, models.SearchDocumentRow.id):
            assert session.scalar(select(func.count()).where(column == "casc-node:kg-gpo")) == 0
