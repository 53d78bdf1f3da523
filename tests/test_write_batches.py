"""A batch through the write path (`write_records`, `apply_copies`) stores exactly what the same writes made
one by one store: envelopes byte for byte, the change log, arrivals, terms and search documents; a record
may rest on one written before it in the same batch. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import fresh_database_url, make_settings
from sqlalchemy import select, text
from test_apply_copy import ORIGIN, origin_keys, signed  # noqa: F401 (origin_keys is a fixture)
from test_records import AUTHORITY

from registry import models
from registry.context import Context
from registry.errors import InvalidRecord
from registry.services.records import (
    CopyOutcome,
    RecordWrite,
    apply_copies,
    apply_copy,
    write_record,
    write_records,
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CONTACT_POINT = {"authority_id": "local:kg-gpo", "kind": "function", "position": {"en": "Duty desk"},
                 "roles": [{"network": "casc", "role": "contact_point"}], "languages": ["ru"],
                 "hours": {"time_zone": "Asia/Bishkek", "always": True}, "valid_from": "2024-01-01",
                 "email": "desk@example.org"}
NETWORK = {"code": "casc", "names": {"en": "CASC"}, "scope": "regional",
           "members": [{"authority_id": "local:kg-gpo", "role": "member"}]}
NOTE = {"scope": {"authority_id": "local:kg-gpo"}, "kind": "urgent_request_procedure", "urgency": "urgent",
        "title": {"en": "Call first"}, "body": {"en": "Call the duty desk first."}, "effective_from": "2024-01-01",
        "visibility": "public"}

# Later writes rest on earlier ones (the contact point and the note on the authority, the network lists it),
# the authority changes after its contact point was written (its document draws on the authority), a record
# is written twice, one write changes nothing, and one deletes.
WRITES = [
    RecordWrite("authority", "local:kg-gpo", "casc", AUTHORITY),
    RecordWrite("contact_point", "local:kg-gpo-desk", "casc", CONTACT_POINT),
    RecordWrite("authority", "local:kg-gpo", "casc", AUTHORITY | {"competences": ["corruption"]}),
    RecordWrite("network", "local:casc", "casc", NETWORK),
    RecordWrite("emergency_note", "local:note-kg", "casc", NOTE),
    RecordWrite("authority", "local:kz-gpo", "casc", AUTHORITY | {"country": "KZ", "names": {"en": "KZ GPO"}}),
    RecordWrite("network", "local:casc", "casc", NETWORK),
    RecordWrite("authority", "local:kz-gpo", "casc", None),
]


@pytest.fixture
def two_ctx(backend, tmp_path):
    contexts = []
    for name in ("one-by-one", "batch"):
        (tmp_path / name).mkdir()
        contexts.append(Context.create(make_settings(fresh_database_url(backend, tmp_path / name), tmp_path / name)))
    yield contexts
    for context in contexts:
        context.db.dispose()


def held(ctx) -> dict:
    """Everything the writes stored, but the moments that say when they were stored."""
    documents, facets = models.SearchDocumentRow.__table__, models.SearchFacet.__table__
    with ctx.db.read() as session:
        held = {
            "log": session.execute(select(models.ChangeLogEntry.seq, models.ChangeLogEntry.envelope,
                                          models.ChangeLogEntry.actor).order_by(models.ChangeLogEntry.seq)).all(),
            "arrivals": session.execute(
                select(models.Arrival.number, models.Arrival.record_id, models.Arrival.version, models.Arrival.country,
                       models.Arrival.networks, models.Arrival.tier, models.Arrival.envelope)
                .order_by(models.Arrival.number)).all(),
            "terms": session.execute(select(models.RecordTerm.record_id, models.RecordTerm.facet,
                                            models.RecordTerm.value).order_by(models.RecordTerm.record_id,
                                                                               models.RecordTerm.facet,
                                                                               models.RecordTerm.value)).all(),
            # by record id: the documents' keys are the index's own, never shown
            "documents": session.execute(select(*(c for c in documents.c if c.name != "key"))
                                         .order_by(documents.c.id)).all(),
            "facets": session.execute(select(documents.c.id, facets.c.facet, facets.c.value)
                                      .join(facets, facets.c.key == documents.c.key)
                                      .order_by(documents.c.id, facets.c.facet, facets.c.value)).all(),
            "members": session.execute(select(models.NetworkMember.network_id, models.NetworkMember.authority_id)
                                       .order_by(models.NetworkMember.authority_id)).all(),
        }
        if ctx.db.dialect == "sqlite":
            held["fts"] = session.execute(text("SELECT d.id, f.* FROM search_fts f JOIN search_documents d "
                                               "ON d.key = f.rowid ORDER BY d.id")).all()
        rows = {}
        for model in (models.Authority, models.ContactPoint, models.Network, models.EmergencyNote):
            for row in session.scalars(select(model).order_by(model.id)):
                rows[row.id] = (row.version, row.deleted, row.body, row.seq, row.envelope)
        held["rows"] = rows
    return held


def test_a_batch_stores_what_the_same_writes_one_by_one_store(two_ctx):
    one_by_one, batch = two_ctx
    keys = one_by_one.record_keys.signing_keys()
    changed = []
    for write in WRITES:
        with one_by_one.db.write() as session:
            changed.append(write_record(session, one_by_one.taxonomy, origin="local", record_type=write.record_type,
                                        record_id=write.record_id, owner_network=write.owner_network, body=write.body,
                                        actor="test", signing_keys=keys, now=NOW).changed)
    with batch.db.write() as session:
        results = write_records(session, batch.taxonomy, WRITES, origin="local", actor="test", signing_keys=keys,
                                now=NOW)
    assert [result.changed for result in results] == changed == [True] * 6 + [False, True]
    expected, got = held(one_by_one), held(batch)
    for part in expected:
        assert got[part] == expected[part], part
    documents = {row.id: row for row in got["documents"]}
    assert documents["local:kg-gpo-desk"].country == "KG", "the contact point's document draws on its authority"
    assert "crime_type=corruption" in documents["local:kg-gpo-desk"].facet_values, "and on its latest version"
    assert "network=casc" in documents["local:kg-gpo"].facet_values, "an authority's document names its networks"
    assert "language=" not in documents["local:kg-gpo"].facet_values, "a filter only: never counted"
    assert "local:kz-gpo" not in documents, "a record deleted in the batch has no document"


def test_a_network_that_drops_a_member_in_the_batch_drops_it_from_what_the_batch_writes_next(two_ctx):
    one_by_one, batch = two_ctx
    keys = one_by_one.record_keys.signing_keys()
    uz = AUTHORITY | {"country": "UZ", "names": {"en": "UZ GPO"}}
    writes = [RecordWrite("authority", "local:kg-gpo", "casc", AUTHORITY),
              RecordWrite("authority", "local:uz-gpo", "casc", uz),
              RecordWrite("network", "local:casc", "casc", NETWORK),
              RecordWrite("network", "local:casc", "casc",
                          NETWORK | {"members": [{"authority_id": "local:uz-gpo", "role": "member"}]}),
              # written after the network changed: its arrival and document read the authority's networks
              RecordWrite("authority", "local:kg-gpo", "casc", AUTHORITY | {"competences": ["corruption"]})]
    for write in writes:
        with one_by_one.db.write() as session:
            write_records(session, one_by_one.taxonomy, [write], origin="local", actor="test", signing_keys=keys,
                          now=NOW)
    with batch.db.write() as session:
        write_records(session, batch.taxonomy, writes, origin="local", actor="test", signing_keys=keys, now=NOW)
    expected, got = held(one_by_one), held(batch)
    for part in expected:
        assert got[part] == expected[part], part
    documents = {row.id: row for row in got["documents"]}
    assert "network=casc" not in documents["local:kg-gpo"].facet_values
    assert "network=casc" in documents["local:uz-gpo"].facet_values


def test_a_refused_write_keeps_the_batch_before_it_whole(fresh_ctx):
    writes = [RecordWrite("authority", "local:kg-gpo", "casc", AUTHORITY),
              RecordWrite("contact_point", "local:kg-gpo-desk", "casc", CONTACT_POINT),
              RecordWrite("contact_point", "local:nowhere-desk", "casc",
                          CONTACT_POINT | {"authority_id": "local:missing"})]
    with fresh_ctx.db.write() as session, pytest.raises(InvalidRecord, match="no authority"):
        write_records(session, fresh_ctx.taxonomy, writes, origin="local", actor="test",
                      signing_keys=fresh_ctx.record_keys.signing_keys())
    with fresh_ctx.db.read() as session:
        documents = dict(session.execute(select(models.SearchDocumentRow.id, models.SearchDocumentRow.country)).all())
        terms = {record_id for (record_id,) in session.execute(select(models.RecordTerm.record_id))}
        seqs = session.scalars(select(models.ChangeLogEntry.seq).order_by(models.ChangeLogEntry.seq)).all()
    assert documents == {"local:kg-gpo": "KG", "local:kg-gpo-desk": "KG"}
    assert terms == {"local:kg-gpo", "local:kg-gpo-desk"}
    assert seqs == [1, 2], "the refused write took no seq"


def test_copies_in_a_batch_have_the_outcomes_they_have_one_by_one(two_ctx, origin_keys):  # noqa: F811
    cp = CONTACT_POINT | {"authority_id": "casc-node:kg-gpo"}
    copies = [
        signed(origin_keys, 1, 1, cp, "casc-node:desk", "contact_point"),  # before its authority: the origin decided
        signed(origin_keys, 2, 1, AUTHORITY),
        signed(origin_keys, 3, 1, AUTHORITY),  # the same version again: a duplicate
        signed(origin_keys, 4, 1, AUTHORITY | {"languages": ["en"]}),  # the same version, other content
        signed(origin_keys, 5, 2, AUTHORITY | {"competences": ["corruption"]}),
        signed(origin_keys, 6, 1, AUTHORITY),  # lower: stale
        signed(origin_keys, 7, 1, AUTHORITY, "casc-node:desk"),  # an id another type holds
        signed(origin_keys, 8, 2, None, "casc-node:desk", "contact_point"),
    ]
    one_by_one, batch = two_ctx
    outcomes = []
    for claims, jws in copies:
        with one_by_one.db.write() as session:
            outcomes.append(apply_copy(session, claims, jws, actor="sync:test", log=True))
    with batch.db.write() as session:
        assert apply_copies(session, [(claims, jws, "sync:test") for claims, jws in copies], log=True) == outcomes
    assert [outcome for outcome, _reason in outcomes] == [
        CopyOutcome.APPLIED, CopyOutcome.APPLIED, CopyOutcome.DUPLICATE, CopyOutcome.QUARANTINED,
        CopyOutcome.APPLIED, CopyOutcome.STALE, CopyOutcome.QUARANTINED, CopyOutcome.APPLIED]
    expected, got = held(one_by_one), held(batch)
    for part in expected:
        assert got[part] == expected[part], part
    with batch.db.read() as session:
        assert session.scalars(select(models.QuarantinedItem.seq).where(models.QuarantinedItem.origin == ORIGIN)
                               .order_by(models.QuarantinedItem.seq)).all() == [4, 7]
