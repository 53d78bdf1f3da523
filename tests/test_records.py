"""The single write path: versions, tombstones, the gap-free change log, refusals that change nothing."""

import threading

import pytest
from sqlalchemy import func, select

from registry import models
from registry.errors import InvalidRecord, NotFound
from registry.services.records import IdConflict, write_record

AUTHORITY = {
    "names": {"en": "Prosecutor General's Office of the Kyrgyz Republic"},
    "kind": "prosecution_service",
    "country": "KG",
    "competences": ["trafficking_in_persons"],
    "request_types": ["mla"],
    "languages": ["ru"],
    "channels": [{"kind": "diplomatic", "value": "Through the Ministry of Foreign Affairs", "visibility": "public"}],
    "status": "active",
}


def write(ctx, record_id="local:kg-gpo", body=AUTHORITY, record_type="authority", origin="local"):
    with ctx.db.write() as session:
        return write_record(
            session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
            origin=origin, record_type=record_type, record_id=record_id,
            owner_network="casc", body=body, actor="test").changed


def log(ctx, origin="local"):
    with ctx.db.read() as session:
        return [(e.seq, e.record_id, e.version, e.deleted) for e in
                session.scalars(select(models.ChangeLogEntry).where(models.ChangeLogEntry.origin == origin)
                                .order_by(models.ChangeLogEntry.seq))]


def test_versions_change_log_and_tombstones(fresh_ctx):
    assert write(fresh_ctx) is True
    assert write(fresh_ctx) is False, "an identical write is skipped"
    assert write(fresh_ctx, body=AUTHORITY | {"languages": ["ru", "en"]}) is True
    assert write(fresh_ctx, body=None) is True
    assert write(fresh_ctx, body=None) is False, "deleting a tombstone changes nothing"
    assert write(fresh_ctx) is True, "re-created after deletion"
    assert log(fresh_ctx) == [(1, "local:kg-gpo", 1, False), (2, "local:kg-gpo", 2, False),
                              (3, "local:kg-gpo", 3, True), (4, "local:kg-gpo", 4, False)]
    with fresh_ctx.db.read() as session:
        row = session.get(models.Authority, "local:kg-gpo")
        assert (row.version, row.deleted, row.country) == (4, False, "KG")
        terms = set(session.execute(select(models.RecordTerm.facet, models.RecordTerm.value)))
        assert ("crime_type", "trafficking_in_persons") in terms


def test_tombstone_clears_projections(fresh_ctx):
    write(fresh_ctx)
    write(fresh_ctx, body=None)
    with fresh_ctx.db.read() as session:
        row = session.get(models.Authority, "local:kg-gpo")
        assert (row.deleted, row.body, row.country) == (True, {}, None)
        assert session.scalar(select(func.count()).select_from(models.RecordTerm)) == 0


@pytest.mark.parametrize("body,message", [
    (AUTHORITY | {"country": "XX"}, "not an ISO 3166-1"),
    (AUTHORITY | {"competences": ["jaywalking"]}, "not a known crime type"),
    (AUTHORITY | {"languages": ["xx"]}, "not a valid BCP 47"),
    (AUTHORITY | {"surprise": 1}, "Unevaluated properties"),
    ({k: v for k, v in AUTHORITY.items() if k != "kind"}, "'kind' is a required property"),
])
def test_invalid_bodies_are_refused_and_change_nothing(fresh_ctx, body, message):
    with pytest.raises(InvalidRecord) as caught:
        write(fresh_ctx, body=body)
    assert caught.value.status == 422
    assert any(message in e["message"] for e in caught.value.extensions["errors"]), caught.value.extensions
    assert log(fresh_ctx) == []
    with fresh_ctx.db.read() as session:
        assert session.get(models.Authority, "local:kg-gpo") is None
        assert session.scalar(select(models.OriginSequence.last_seq)) in (None, 0)


def test_references_must_exist(fresh_ctx):
    contact_point = {"authority_id": "local:missing", "kind": "function", "position": {"en": "Duty desk"},
                     "roles": [{"network": "casc", "role": "contact_point"}], "languages": ["ru"],
                     "hours": {"time_zone": "Asia/Bishkek", "always": True}, "valid_from": "2024-01-01"}
    with pytest.raises(InvalidRecord, match="no authority"):
        write(fresh_ctx, "local:cp", contact_point, "contact_point")
    write(fresh_ctx)
    assert write(fresh_ctx, "local:cp", contact_point | {"authority_id": "local:kg-gpo"}, "contact_point")


def test_an_id_belongs_to_one_type(fresh_ctx):
    write(fresh_ctx)
    network = {"code": "casc", "names": {"en": "CASC"}, "scope": "regional", "members": []}
    with pytest.raises(IdConflict):
        write(fresh_ctx, "local:kg-gpo", network, "network")


def test_deleting_a_missing_record_is_not_found(fresh_ctx):
    with pytest.raises(NotFound):
        write(fresh_ctx, body=None)


def test_concurrent_writers_get_gap_free_sequences(fresh_ctx):
    """Writers in parallel threads (separate connections): seq is 1..n with no gap or duplicate."""
    errors = []

    def writer(n):
        try:
            for i in range(5):
                write(fresh_ctx, f"local:a-{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [seq for seq, *_ in log(fresh_ctx)] == list(range(1, 21))
