"""OAuth2 clients: created by a secretariat admin, identified by id and secret.

The secret is shown once, at creation or rotation; only its SHA-256 is stored. Secrets are 256
random bits, so a fast hash is as safe as a slow one and keeps the token endpoint cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound
from registry.permissions import SCOPES, is_known_scope


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str
    scope: str
    disabled: bool
    created_at: datetime
    secret_rotated_at: datetime

    def as_dict(self) -> dict:
        return {"client_id": self.client_id, "name": self.name, "scope": self.scope, "disabled": self.disabled,
                "created_at": iso(self.created_at), "secret_rotated_at": iso(self.secret_rotated_at)}


@dataclass(frozen=True)
class Credentials:
    client: ClientInfo
    client_secret: str

    def as_dict(self) -> dict:
        return self.client.as_dict() | {"client_secret": self.client_secret}


def _info(row: models.Client) -> ClientInfo:
    return ClientInfo(row.client_id, row.name, row.scope, row.disabled, row.created_at, row.secret_rotated_at)


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(row: models.Client, secret: str) -> bool:
    return hmac.compare_digest(row.secret_hash, hash_secret(secret))


def known_networks(ctx: Context) -> set[str]:
    with ctx.db.read() as session:
        rows = session.scalars(select(models.Network.code).where(models.Network.deleted.is_(False)))
        return {code for code in rows if code}


def normalize_scope(ctx: Context, scope: str) -> str:
    """Validated, deduplicated, space-separated scopes; an unknown one is a 422 naming the known ones."""
    wanted = scope.split()
    if not wanted:
        raise InvalidParameter("scope", "give at least one scope")
    networks = known_networks(ctx)
    unknown = [s for s in wanted if not is_known_scope(s, networks)]
    if unknown:
        fixed = ", ".join(s for s in SCOPES if "<" not in s)
        publish = ", ".join(f"publish:{n}" for n in sorted(networks))
        raise InvalidParameter("scope", f"unknown scope {unknown[0]!r}; known scopes: {fixed}, {publish}")
    return " ".join(sorted(set(wanted)))


def create_client(ctx: Context, name: str, scope: str) -> Credentials:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InvalidParameter("name", "1 to 100 printable characters")
    scope = normalize_scope(ctx, scope)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with ctx.db.write() as session:
        if session.scalar(select(models.Client).where(models.Client.name == name)) is not None:
            raise Conflict(f"a client named {name!r} exists; choose another name")
        row = models.Client(client_id=secrets.token_hex(12), name=name, secret_hash=hash_secret(secret),
                            scope=scope, disabled=False, created_at=now, secret_rotated_at=now,
                            tokens_valid_after=now)
        session.add(row)
        session.flush()
        return Credentials(_info(row), secret)


def list_clients(ctx: Context) -> list[ClientInfo]:
    with ctx.db.read() as session:
        return [_info(row) for row in session.scalars(select(models.Client).order_by(models.Client.name))]


def _find(session, ref: str) -> models.Client:
    row = session.get(models.Client, ref) or session.scalar(select(models.Client).where(models.Client.name == ref))
    if row is None:
        raise NotFound(f"no client with id or name {ref!r}")
    return row


def get_client(ctx: Context, ref: str) -> ClientInfo:
    with ctx.db.read() as session:
        return _info(_find(session, ref))


def set_disabled(ctx: Context, ref: str, disabled: bool) -> ClientInfo:
    """Disabling also invalidates every token the client holds; enabling lets it ask for new ones."""
    with ctx.db.write() as session:
        row = _find(session, ref)
        if row.disabled != disabled:
            row.disabled = disabled
            row.tokens_valid_after = utcnow()
        return _info(row)


def rotate_secret(ctx: Context, ref: str) -> Credentials:
    """A new secret; the old one stops working at once, and so do tokens obtained with it."""
    secret = secrets.token_urlsafe(32)
    with ctx.db.write() as session:
        row = _find(session, ref)
        row.secret_hash = hash_secret(secret)
        row.secret_rotated_at = row.tokens_valid_after = utcnow()
        return Credentials(_info(row), secret)


def authenticate(ctx: Context, client_id: str, secret: str) -> models.Client | None:
    """The enabled client with this id and secret, or None."""
    with ctx.db.read() as session:
        row = session.get(models.Client, client_id)
    if row is None or row.disabled or not secret_matches(row, secret):
        return None
    return row
