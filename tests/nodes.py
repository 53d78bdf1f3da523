"""Real nodes for the federation tests: each one a gunicorn process (`registry serve`) with its own
instance folder and database, driven through the `registry` command as an operator would.

Records are published at a node through the single write path on the node's own database (the
served process sees them at once), which keeps scenarios short; everything between nodes goes over
HTTP between the processes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import select

from registry import models
from registry.auth.clients import create_client
from registry.config import Settings
from registry.context import Context
from registry.federation import peers, puller, status, trust
from registry.record_types import RECORD_TYPES
from registry.services.records import write_record

REGISTRY = str(Path(sys.executable).parent / "registry")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, node_id: str, instance: Path, database_url: str, host: str = "127.0.0.1", **env: str):
        self.node_id = node_id
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.instance = instance
        self.env = os.environ | {
            "REGISTRY_NODE_ID": node_id, "REGISTRY_INSTANCE_PATH": str(instance),
            "REGISTRY_DATABASE_URL": database_url, "REGISTRY_PORT": str(self.port), "REGISTRY_WORKERS": "1",
            "REGISTRY_FEDERATION_ALLOW_HOSTS": "127.0.0.1", "REGISTRY_FEDERATION_TIMEOUT": "2",
            "REGISTRY_RATE_LIMIT_CLIENT": "100000/minute", "REGISTRY_RATE_LIMIT_ADDRESS": "100000/minute",
            "REGISTRY_RATE_LIMIT_TOKEN": "100000/minute", "REGISTRY_RESPONSE_CACHE_SIZE": "0",
            "REGISTRY_PUBLIC_URL": self.url,
        } | env
        self.ctx = Context.create(Settings.from_env(self.env))
        self.server: subprocess.Popen | None = None
        # The origins this node is meant to hold: its own and those it trusts.
        self.origins = {node_id}

    def start(self) -> Node:
        self.cli("db", "upgrade")
        self.server = subprocess.Popen([REGISTRY, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/.well-known/registry-node", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or a worker still booting on a busy machine
                time.sleep(0.2)
        self.server.terminate()  # a node that never answered must not outlive the test
        self.server.wait(timeout=30)
        raise RuntimeError(f"{self.node_id} did not start")

    def stop(self) -> None:
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=30)
        self.ctx.db.dispose()

    def cli(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([REGISTRY, *args], env=self.env, capture_output=True, text=True, timeout=180)
        if check:
            assert result.returncode == 0, f"registry {' '.join(args)} at {self.node_id}: {result.stderr}"
        return result

    def sync(self, check: bool = True) -> list[puller.OriginReport]:
        """One round of pulling, in this process (`registry sync --once` runs the same function; a
        few tests run the command itself)."""
        reports = puller.sync_once(self.ctx, sleep=lambda seconds: time.sleep(min(seconds, 1)))
        if check:
            failed = [r.error for r in reports if r.error or r.skipped]
            assert not failed, f"{self.node_id}: {failed}"
        return reports

    def status(self) -> dict[str, dict]:
        return {s["origin"]: s for s in status.sync_status(self.ctx)}

    def client(self, name: str, scope: str, cli: bool = False) -> tuple[str, str]:
        if not cli:
            credentials = create_client(self.ctx, name, scope)
            return credentials.client.client_id, credentials.client_secret
        out = self.cli("clients", "create", "--name", name, "--scope", scope).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return fields["client_id"].strip(), fields["client_secret"].strip()

    def trust(self, other: Node, cli: bool = False) -> None:
        """Trust `other`'s origin, by the command an operator runs (`cli`) or the service under it."""
        self.origins.add(other.node_id)
        jwks_url = f"{other.url}/.well-known/registry-keys.json"
        if cli:
            self.cli("origins", "trust", other.node_id, "--namespace", other.node_id, "--jwks-url", jwks_url)
        else:
            trust.trust_origin(self.ctx, other.node_id, other.node_id, jwks_url)

    def add_peer(self, other: Node, url: str | None = None, cli: bool = False) -> None:
        client_id, secret = other.client(f"peer-{self.node_id}-{os.urandom(4).hex()}", "federation:read", cli=cli)
        if cli:
            self.cli("peers", "add", other.node_id, "--url", url or other.url, "--client-id", client_id,
                     "--client-secret", secret)
        else:
            peers.add_peer(self.ctx, other.node_id, url or other.url, client_id, secret)

    def token(self, scope: str) -> str:
        client_id, secret = self.client(f"t-{os.urandom(4).hex()}", scope)
        answer = requests.post(f"{self.url}/oauth/token", data={"grant_type": "client_credentials", "scope": scope},
                               auth=(client_id, secret), timeout=10)
        return answer.json()["access_token"]

    # -- publishing at this node, through the single write path ----------------------------------

    def write(self, record_type: str, local_id: str, body: dict | None, owner_network: str) -> None:
        with self.ctx.db.write() as session:
            write_record(session, self.ctx.taxonomy, signing_keys=self.ctx.record_keys.signing_keys(),
                         origin=self.node_id, record_type=record_type, record_id=f"{self.node_id}:{local_id}",
                         owner_network=owner_network, body=body, actor="test")

    # -- what it holds ---------------------------------------------------------------------------

    def digest(self, origin: str) -> tuple[int, str]:
        """(records, SHA-256) over the current envelopes of `origin`'s records held here, by id: equal on
        two nodes exactly when they hold the same versions, signed by the origin, byte for byte."""
        held = []
        with self.ctx.db.read() as session:
            for record_type in RECORD_TYPES.values():
                model = record_type.model
                held += session.execute(select(model.id, model.envelope).where(model.origin == origin)).all()
        digest = hashlib.sha256()
        for record_id, signed in sorted(held):
            digest.update(f"{record_id}\n{signed}\n".encode())
        return len(held), digest.hexdigest()

    def log_seqs(self, origin: str) -> list[int]:
        log = models.ChangeLogEntry
        with self.ctx.db.read() as session:
            return list(session.scalars(select(log.seq).where(log.origin == origin).order_by(log.seq)))

    def record(self, record_type: str, record_id: str):
        with self.ctx.db.read() as session:
            return session.get(RECORD_TYPES[record_type].model, record_id)
