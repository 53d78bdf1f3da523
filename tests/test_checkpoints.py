"""Checkpoint digests: what they hash, and that a node reads it from the origin indexes alone (an origin
signs a checkpoint after each write and a consumer compares its copies with one after each sync round,
so that read spans the whole directory)."""

from __future__ import annotations

import hashlib
import random

from sqlalchemy import event, text

from registry.crypto import checkpoint
from registry.services import checkpoints
from registry.services.records import write_record

AUTHORITY = {"names": {"en": "Office"}, "kind": "prosecution_service", "country": "KG", "competences": ["corruption"],
             "request_types": ["mla"], "languages": ["ru"], "status": "active", "channels": []}


def test_the_digest_is_the_sha256_of_one_sorted_line_per_record():
    entries = [(f"node-a:rec-{n}", n % 3 + 1, 100 + n) for n in range(50)] + [("node-a:rec-1-b", 2, 7)]
    expected = hashlib.sha256(b"".join(f"{i} {v} {s}\n".encode() for i, v, s in sorted(entries))).hexdigest()
    random.Random(4).shuffle(entries)
    assert checkpoint.state_digest(entries) == (51, expected)
    assert checkpoint.state_digest([]) == (0, hashlib.sha256(b"").hexdigest())


def test_held_entries_are_every_record_of_the_origin_read_from_its_index_alone(fresh_ctx):
    keys = fresh_ctx.record_keys.signing_keys()
    with fresh_ctx.db.write() as session:
        for number in range(3):
            write_record(session, fresh_ctx.taxonomy, origin="local", record_type="authority",
                         record_id=f"local:office-{number}", owner_network="casc", body=AUTHORITY, actor="test",
                         signing_keys=keys)
        write_record(session, fresh_ctx.taxonomy, origin="local", record_type="authority", record_id="local:office-1",
                     owner_network="casc", body=None, actor="test", signing_keys=keys)

    statements = []
    engine = fresh_ctx.db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with fresh_ctx.db.read() as session:
            held = checkpoints.held_entries(session, "local")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # The tombstone counts: a deletion is a version like any other.
    assert sorted((i, v) for i, v, _seq in held) == [("local:office-0", 1), ("local:office-1", 2),
                                                     ("local:office-2", 1)]
    assert all(isinstance(entry, tuple) for entry in held)

    tables = ("networks", "authorities", "contact_points", "emergency_notes", "procedures")
    assert len(statements) == len(tables)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            for (statement, parameters), table in zip(statements, tables, strict=True):
                plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                             parameters))
                assert f"COVERING INDEX ix_{table}_origin_state" in plan, plan
        else:
            # Few rows: without this the planner reads the table, whatever the indexes.
            connection.execute(text("SET enable_seqscan = off"))
            for (statement, parameters), table in zip(statements, tables, strict=True):
                plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
                assert f"Index Only Scan using ix_{table}_origin_state" in plan, plan
