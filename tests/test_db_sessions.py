"""What a read session sees while another connection commits: on SQLite one snapshot for the whole session
(it begins a read transaction); on PostgreSQL each statement its own, as READ COMMITTED gives in a
transaction too, without sending BEGIN and ROLLBACK; a read that asks for REPEATABLE READ keeps one
snapshot on both; a write is one transaction."""

from __future__ import annotations

import psycopg
from conftest import fresh_database_url
from sqlalchemy import text

from registry.db import Database


def _count(session) -> int:
    return session.scalar(text("SELECT count(*) FROM probe"))


def _insert_elsewhere(db: Database) -> None:
    with db.write() as session:
        session.execute(text("INSERT INTO probe (x) VALUES (1)"))


def test_what_a_read_session_sees_of_a_commit_made_meanwhile(backend, tmp_path, monkeypatch):
    url = fresh_database_url(backend, tmp_path)
    db, other = Database(url), Database(url)
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE probe (x integer)"))

        commands = []
        if backend == "postgresql":
            sent = psycopg.Connection._exec_command

            def exec_command(self, command, *args, **kwargs):
                commands.append((self, bytes(command)))
                return sent(self, command, *args, **kwargs)

            monkeypatch.setattr(psycopg.Connection, "_exec_command", exec_command)
        with db.read() as session:
            before = _count(session)
            _insert_elsewhere(other)
            after = _count(session)
            reading = session.connection().connection.dbapi_connection
        assert (before, after) == ((0, 0) if backend == "sqlite" else (0, 1))
        assert [command for connection, command in commands if connection is reading] == [], \
            "a PostgreSQL read session sends its statements only"
        monkeypatch.undo()

        if backend == "postgresql":  # SQLite: every read session is one snapshot already
            with db.read() as session:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                before = _count(session)
                _insert_elsewhere(other)
                assert _count(session) == before, "a REPEATABLE READ read keeps its snapshot"

        with db.write() as session:
            before = _count(session)
            session.execute(text("INSERT INTO probe (x) VALUES (2)"))
            assert _count(session) == before + 1
            started = session.scalar(text("SELECT CURRENT_TIMESTAMP"))
            if backend == "postgresql":
                # One transaction: its start time, whatever the statement.
                session.execute(text("SELECT pg_sleep(0.01)"))
                assert session.scalar(text("SELECT CURRENT_TIMESTAMP")) == started
        with db.read() as session:
            # The pool's connections come back as read sessions want them.
            assert _count(session) == (3 if backend == "postgresql" else 2)
            if backend == "postgresql":
                # Read sessions end without a ROLLBACK, which made psycopg forget what it had prepared: the
                # statements they repeat are prepared, and each execution is planned for its own values.
                assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    finally:
        db.dispose()
        other.dispose()
