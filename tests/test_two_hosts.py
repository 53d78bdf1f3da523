"""More than one host: two `registry serve` processes on different ports over one PostgreSQL database
and one Redis (as two hosts behind a load balancer would be; they share the instance folder's keys as a
mounted volume would), and the background loops running once per database whoever starts them.

Serving from two hosts needs a database server: that test runs on PostgreSQL only (an SQLite file
belongs to one host). The loops' exclusion is checked on both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
import requests
from conftest import fresh_database_url
from nodes import REGISTRY, free_port

from registry.auth.clients import create_client
from registry.config import Settings
from registry.context import Context
from registry.services.seed import seed

REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _serve(env: dict, port: int, log) -> subprocess.Popen:
    server = subprocess.Popen([REGISTRY, "serve"], env=env | {"REGISTRY_PORT": str(port)}, stdout=log, stderr=log,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting its workers
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError(f"registry serve on {port} did not start")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_two_hosts_share_the_database_the_cache_stays_true_and_limits_are_shared(tmp_path):
    database_url = fresh_database_url("postgresql", tmp_path)
    instance = tmp_path / "shared-instance"
    # Counters of this run alone in the shared Redis: flask-limiter keys them by the limit, and a window
    # of a random length makes it this run's.
    limit = f"8/{3600 + uuid.uuid4().int % 100_000} seconds"
    env = os.environ | {
        "REGISTRY_DATABASE_URL": database_url, "REGISTRY_INSTANCE_PATH": str(instance), "REGISTRY_WORKERS": "1",
        "REGISTRY_PUBLIC_URL": "http://registry.example.org", "REGISTRY_RATE_LIMIT_STORAGE_URL": REDIS_URL,
        "REGISTRY_RATE_LIMIT_ADDRESS": limit, "REGISTRY_RATE_LIMIT_CLIENT": "100000/minute",
        "REGISTRY_RATE_LIMIT_TOKEN": "100000/minute",
    }
    ctx = Context.create(Settings.from_env(env))
    seed(ctx)
    credentials = create_client(ctx, f"casc-editor-{uuid.uuid4().hex[:6]}", "publish:casc directory:read")
    ctx.db.dispose()
    ports = free_port(), free_port()
    with open(tmp_path / "hosts.log", "wb") as log:
        hosts = [_serve(env, port, log) for port in ports]
    try:
        one, two = (f"http://127.0.0.1:{port}" for port in ports)
        token = requests.post(f"{one}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(credentials.client.client_id, credentials.client_secret),
                              timeout=10).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        path = "/api/v1/authorities/local:kg-gpo"
        # Host two caches the answer, host one takes a write, host two serves the write at once.
        before = requests.get(two + path, headers=bearer, timeout=10)
        assert before.status_code == 200 and requests.get(two + path, headers=bearer, timeout=10).json() == \
            before.json()
        body = before.json()
        acronym = f"GPO-{uuid.uuid4().hex[:4].upper()}"
        put = requests.patch(one + path, json={"acronym": acronym}, timeout=10,
                             headers=bearer | {"If-Match": before.headers["ETag"]})
        assert put.status_code == 200, put.text
        after = requests.get(two + path, headers=bearer, timeout=10)
        assert after.json()["acronym"] == acronym and after.json()["version"] == body["version"] + 1

        # The anonymous address limit counts the requests to both hosts together.
        statuses = []
        for n in range(12):
            statuses.append(requests.get((one, two)[n % 2] + "/api/v1/networks", timeout=10).status_code)
        allowed = int(limit.split("/")[0])
        assert statuses[:allowed] == [200] * allowed and set(statuses[allowed:]) == {429}, statuses
    finally:
        for host in hosts:
            _stop(host)


def _watcher(command: str, env: dict, log_path) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 (the child holds it; closed at the end of the test)
    return subprocess.Popen([REGISTRY, *command.split(), "--watch"], env=env, stdout=log, stderr=log,
                            start_new_session=True)


def _wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("command", ["sync", "deliver"])
def test_one_watch_loop_of_a_kind_works_the_others_stand_by_and_take_over(backend, tmp_path, command):
    database_url = fresh_database_url(backend, tmp_path)
    env = os.environ | {"REGISTRY_DATABASE_URL": database_url, "REGISTRY_SYNC_INTERVAL": "1"}
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _watcher(command, env | {"REGISTRY_INSTANCE_PATH": str(tmp_path / "a")}, first_log)
    second = None
    try:
        assert _wait_for(lambda: "is the one working" in first_log.read_text()), first_log.read_text()
        second = _watcher(command, env | {"REGISTRY_INSTANCE_PATH": str(tmp_path / "b")}, second_log)
        assert _wait_for(lambda: "standing by" in second_log.read_text()), second_log.read_text()
        time.sleep(2)  # a few of the first's rounds: the second still only stands by
        assert "is the one working" not in second_log.read_text()
        os.killpg(first.pid, signal.SIGKILL)  # a crash: the lock dies with its holder
        first.wait(timeout=10)
        assert _wait_for(lambda: "is the one working" in second_log.read_text(), 10), second_log.read_text()
        os.killpg(second.pid, signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
