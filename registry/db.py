"""Engine and sessions.

SQLite is the embedded default: WAL so readers never wait for the writer, foreign keys on, and
write transactions opened with BEGIN IMMEDIATE so the change-log counter is taken under the
database's write lock (commit order equals sequence order). PostgreSQL locks the counter row.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, object_mapper, sessionmaker
from sqlalchemy.types import TypeDecorator

WRITE_OPTION = "registry_write"
# Set in a write session's `info` by the single write path when it changed a record, so that
# listeners on `Database.writer` (the Elasticsearch indexer) act only after such commits.
CHANGED_RECORDS = "registry_changed_records"


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as every timestamp in the API is written."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_text(value) -> str:
    return orjson.dumps(value).decode()


# Record bodies are read and written on every request: orjson decodes them several times faster than
# the standard library.
JSON_CODEC = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30}, **JSON_CODEC)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, **JSON_CODEC)
    _configure_postgresql(engine)
    return engine


def private_file(path: Path) -> None:
    """Create the database file readable by its owner only (it holds contact persons' data and secret
    hashes), or take away what others could read of an existing one. SQLite gives its -wal and -shm
    files the database file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return
    except FileExistsError:
        # Never open an existing database file here: closing any descriptor of it drops every POSIX
        # lock this process's SQLite connections hold on it, and another process could then reset
        # the write-ahead log under them (their later commits would be lost to everyone else).
        pass
    if path.stat().st_mode & 0o077:
        with suppress(PermissionError):  # not ours to change: the operator's choice stands
            path.chmod(0o600)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # psycopg prepares a statement a connection has run five times, and PostgreSQL may then plan it once
        # for any values: for `facet = $1`, a plan that scans every row when the value is one no row has.
        # Planned for the values of each execution, a prepared statement still saves parsing it again.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode TO force_custom_plan")
        dbapi_connection.commit()


# Lists of ids are sent in chunks: SQLite and PostgreSQL bound the parameters of one statement.
ID_CHUNK = 500


def id_chunks(ids: list, size: int = ID_CHUNK):
    """`ids` in slices of at most `size`, each small enough for one statement's parameters."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


HELD = "registry_held"
# The objects a write session was given and has not written yet, by identity key (see `held_row`).
PENDING = "registry_pending"


def _hold_for_the_transaction(sessions: sessionmaker) -> None:
    """Keep every object a write session loads or adds until it is expunged or the session closes.

    The identity map holds objects weakly: a record read by one write (an authority a contact point attaches
    to) would be dropped and read again by the next. A write transaction reads the same few rows many times
    (validation, search documents, feed filters), so it keeps them. `records.forget_loaded` expunges them
    when a long transaction must keep its memory flat."""
    def hold(session, instance):
        session.info.setdefault(HELD, {})[id(instance)] = instance

    def release(session, instance):
        session.info.get(HELD, {}).pop(id(instance), None)

    def added(session, instance):
        key = object_mapper(instance).identity_key_from_instance(instance)
        if None not in key[1]:
            session.info.setdefault(PENDING, {})[key] = instance

    def written(session, instance):
        pending = session.info.get(PENDING)
        if pending:
            pending.pop(object_mapper(instance).identity_key_from_instance(instance), None)

    event.listen(sessions, "loaded_as_persistent", hold)
    event.listen(sessions, "pending_to_persistent", hold)
    event.listen(sessions, "persistent_to_detached", release)
    event.listen(sessions, "persistent_to_deleted", release)
    event.listen(sessions, "transient_to_pending", added)
    event.listen(sessions, "pending_to_persistent", written)
    event.listen(sessions, "pending_to_transient", written)


def held_row(session: Session, model, primary_key):
    """`session.get`, which also finds an object added to a write session and not written yet without
    writing every pending object first: a batch of writes reads the rows it stores (a contact point's
    authority) without a flush per record."""
    pending = session.info.get(PENDING)
    if pending:
        row = pending.get(session.identity_key(model, primary_key))
        if row is not None:
            return row
    return session.get(model, primary_key)


class Database:
    """The engine and the two ways to use it: read sessions and write transactions."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        reading = self.engine
        if self.engine.dialect.name == "postgresql":
            # Under READ COMMITTED every statement reads its own snapshot, in a transaction or not: a read
            # session's BEGIN and ROLLBACK would only add two round trips. A read that needs one snapshot
            # for several statements asks for REPEATABLE READ on its connection, which begins a transaction.
            reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = sessionmaker(reading, expire_on_commit=False)
        self.writer = sessionmaker(self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        _hold_for_the_transaction(self.writer)
        self._commits = CommitWatch(url)
        self._kept: dict[str, tuple[object, object]] = {}

    def until_next_commit(self, name: str, compute: Callable[[], object]):
        """What `compute()` returns, kept under `name` and computed again only once some connection, of any
        process, has committed to the database since (SQLite); elsewhere computed on every call."""
        marker = self._commits.marker()
        if marker is None:
            return compute()
        kept = self._kept.get(name)
        if kept is not None and kept[0] == marker:
            return kept[1]
        # The marker is read before computing: a commit in between makes the next call compute again.
        value = compute()
        self._kept[name] = (marker, value)
        return value

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self.writer() as session, session.begin():
            yield session

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Hold the lock `name` if no other process does, on any host (yields False then). The lock dies
        with its holder: a PostgreSQL advisory lock (of this schema) lives as long as its connection, a lock
        on a file next to the SQLite database as long as its process."""
        if self.dialect == "postgresql":
            with self.engine.connect() as connection:
                # Advisory locks are per database: the schema is part of the key, so that registries sharing a
                # database in schemas of their own (search_path) do not hold each other's locks.
                schema = connection.scalar(text("SELECT current_schema()"))
                key = int.from_bytes(hashlib.sha256(f"registry-{schema}-{name}".encode()).digest()[:8], "big",
                                     signed=True)
                held = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield held
                finally:
                    if held:
                        connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.commit()
            return
        database = Path(make_url(str(self.engine.url)).database)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        with open(database.parent / f"{database.name}.{safe}.lock", "a+b") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()
        self._commits.close()


class CommitWatch:
    """Whether anything was committed to a SQLite database file since the last look, without reading a table.

    SQLite's `PRAGMA data_version` changes on a connection whenever another connection (of this process or
    another) has committed; it is read from the write-ahead log's shared memory. The watching connection is
    this process's own (a forked worker opens its own) and never writes, so every commit counts. The marker
    is None where nothing can be watched this way (PostgreSQL, an in-memory database)."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self._path = (parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database
                      and parsed.database != ":memory:" else None)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = None

    def marker(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        with self._lock:
            if self._pid != os.getpid():
                # A connection inherited from the parent process is never used (nor closed) in a child.
                self._connection = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                self._pid = os.getpid()
            # The connection's identity is part of the marker: a new one starts its own count.
            return id(self._connection), self._connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection, self._pid = None, None
