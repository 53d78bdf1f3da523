"""Every database test runs twice: on SQLite (a file in a temporary folder) and on PostgreSQL
(the server on 127.0.0.1:5432, database `registry_test`, created when missing)."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from nodes import Node, free_port
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import create_app, migrations
from registry.auth.clients import create_client
from registry.config import Settings
from registry.context import Context
from registry.services.seed import seed

POSTGRES_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/registry_test")
BACKENDS = ["sqlite", "postgresql"]


@functools.cache
def _ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parsed.database]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')
    # The migrations create the search extensions where the search path points, which for a test is
    # its own schema: another schema's indexes would then depend on them, and dropping the first
    # schema at the end of a session would cascade into the others (and deadlock with their writes).
    # They live in public, made once under a lock that the test processes share.
    with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(7406)")
        try:
            for extension in ("unaccent", "pg_trgm"):
                connection.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} SCHEMA public")
                connection.execute(f"ALTER EXTENSION {extension} SET SCHEMA public")
        finally:
            connection.execute("SELECT pg_advisory_unlock(7406)")


# The PostgreSQL schemas this test process made, dropped when its session ends.
_SCHEMAS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _drop_schemas_at_the_end():
    yield
    if not _SCHEMAS:
        return
    engine = create_engine(POSTGRES_URL)
    try:
        for schema in _SCHEMAS:
            try:
                with engine.begin() as connection:
                    # A connection some fixture still holds must not make the run hang: leave that one.
                    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            except Exception:  # noqa: BLE001 (a schema left behind is harmless)
                pass
    finally:
        engine.dispose()


def fresh_database_url(backend: str, tmp_path) -> str:
    """An empty, migrated database of `backend`; on PostgreSQL a new schema in registry_test, dropped
    at the end of the session."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'registry-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        _ensure_postgres_database(POSTGRES_URL)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        _SCHEMAS.append(schema)
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    migrations.upgrade(url)
    return url


def make_settings(database_url: str, tmp_path, **overrides) -> Settings:
    return Settings.from_env({}, database_url=database_url, instance_path=str(tmp_path), **overrides)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def seeded_settings(backend, tmp_path_factory) -> Settings:
    """One seeded database per backend, shared by the read-only tests."""
    tmp_path = tmp_path_factory.mktemp(f"seeded-{backend}")
    # Many tests share this app from one address: limits far above what the suite makes.
    settings = make_settings(fresh_database_url(backend, tmp_path), tmp_path, rate_limit_client="100000/minute",
                             rate_limit_address="100000/minute", rate_limit_token="100000/minute")
    ctx = Context.create(settings)
    seed(ctx)
    ctx.db.dispose()
    return settings


@pytest.fixture(scope="session")
def app(seeded_settings):
    return create_app(seeded_settings)


def issue_token(app, scope: str) -> str:
    """An access token from the app's own token endpoint, for a new client holding `scope`."""
    ctx = app.extensions["registry"]
    credentials = create_client(ctx, f"test-{uuid.uuid4().hex[:10]}", scope)
    response = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                      auth=(credentials.client.client_id, credentials.client_secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def tokens(app):
    """Tokens of the seeded app by scope, made on first use."""
    made: dict[str, str] = {}

    def token(scope: str) -> str:
        if scope not in made:
            made[scope] = issue_token(app, scope)
        return made[scope]

    return token


def client_with(app, token: str | None):
    """A test client that sends `token` with every request (anonymous for None)."""
    client = app.test_client()
    if token:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def client(app, tokens):
    """A partner system's client: directory:read."""
    return client_with(app, tokens("directory:read"))


@pytest.fixture
def anonymous(app):
    return app.test_client()


@pytest.fixture
def ctx(app) -> Context:
    return app.extensions["registry"]


@pytest.fixture
def fresh_ctx(backend, tmp_path) -> Context:
    """A migrated, empty database for tests that write."""
    context = Context.create(make_settings(fresh_database_url(backend, tmp_path), tmp_path))
    yield context
    context.db.dispose()


# -- browser tests: Debian's Chromium driven by Playwright against real gunicorn-served nodes, one per
# backend for the whole session, seeded with the demonstration directory --------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "bench" / "out" / "screenshots"


@pytest.fixture(scope="session")
def served_nodes(tmp_path_factory):
    """A seeded node per backend, started the first time a test asks for it."""
    started: dict[str, Node] = {}

    def node(backend: str) -> Node:
        if backend not in started:
            instance = tmp_path_factory.mktemp(f"web-{backend}")
            served = Node("local", instance, fresh_database_url(backend, instance))
            seed(served.ctx)
            started[backend] = served.start()
        return started[backend]

    yield node
    for served in started.values():
        served.stop()


@pytest.fixture(scope="session")
def browser():
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` (or `apt-get install -y chromium`) installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A browser context on one node that records every URL the browser asked for."""

    def __init__(self, browser, node: Node, **options):
        self.node = node
        self.context = browser.new_context(base_url=node.url, **options)
        self.requested: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.page = self.context.new_page()

    def elsewhere(self) -> list[str]:
        """Requests to anything but the registry (data: and blob: URLs excepted, which go nowhere)."""
        return [url for url in self.requested
                if not url.startswith((self.node.url + "/", "data:", "blob:"))]

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser):
    """visit(node, locale=..., viewport=..., java_script_enabled=...) -> Visit; closed after the test,
    which fails if the browser asked any other host for anything."""
    opened: list[Visit] = []

    def open_visit(node: Node, **options) -> Visit:
        opened.append(Visit(browser, node, **options))
        return opened[-1]

    yield open_visit
    for v in opened:
        assert v.elsewhere() == [], "the browser asked another host"
        v.close()


# -- mail: a real SMTP server process (aiosmtpd) delivering into a Maildir the tests read ---------------

class MailServer:
    def __init__(self, folder: Path, handler: str = "aiosmtpd.handlers.Mailbox"):
        import mailbox

        mailbox.Maildir(str(folder), create=True)  # with its cur, new and tmp folders
        self.folder, self.port = folder, free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        # The tests' folder on the path: a handler of tests/mail_handlers.py may be named.
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                        os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
                                         "-c", handler, str(folder)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("the SMTP server did not start")

    def messages(self, to: str) -> list:
        """The messages delivered to `to`, oldest first."""
        import mailbox

        box = mailbox.Maildir(str(self.folder), create=False)
        found = [m for m in box if to.lower() in (m["To"] or "").lower()]
        return sorted(found, key=lambda m: m.get_date())

    def wait_for(self, to: str, count: int = 1, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(to)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no mail for {to} after {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory):
    server = MailServer(tmp_path_factory.mktemp("mail") / "maildir")
    yield server
    server.stop()
