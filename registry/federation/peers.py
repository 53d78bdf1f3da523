"""The nodes this node pulls from (docs/federation.md, Trust): a name, a base URL and the OAuth2 client
credentials that the peer issued to this node.

The secret has to be sent to the peer, so it cannot be hashed like our own clients' secrets; it is
encrypted with the instance folder's key (registry.crypto.stored_secrets).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound
from registry.federation.trust import NAME
from registry.outbound import OutboundError, RefusedURL


@dataclass(frozen=True)
class PeerInfo:
    name: str
    url: str
    client_id: str
    created_at: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class PeerCredentials:
    name: str
    url: str
    client_id: str
    client_secret: str


def add_peer(ctx: Context, name: str, url: str, client_id: str, client_secret: str) -> PeerInfo:
    if not NAME.fullmatch(name):
        raise InvalidParameter("name", "lowercase letters, digits and '-', starting with a letter")
    url = url.rstrip("/")
    try:
        ctx.outbound.check_url(url)
    except RefusedURL as exc:
        raise InvalidParameter("url", str(exc)) from None
    except OutboundError as exc:  # the host name does not resolve: a typo, or the resolver is down
        raise InvalidParameter("url", f"{exc}; check the host name (or add the peer again when name "
                                      "resolution works)") from None
    if not client_id or not client_secret:
        raise InvalidParameter("client_id", "give the client id and secret the peer issued to this node")
    with ctx.db.write() as session:
        if session.get(models.Peer, name) is not None:
            raise Conflict(f"a peer named {name!r} exists; remove it first or choose another name")
        row = models.Peer(name=name, url=url, client_id=client_id, client_secret=ctx.secrets.encrypt(client_secret),
                          created_at=utcnow())
        session.add(row)
        session.flush()
        return _info(row)


def list_peers(ctx: Context) -> list[PeerInfo]:
    with ctx.db.read() as session:
        return [_info(row) for row in session.scalars(select(models.Peer).order_by(models.Peer.name))]


def remove_peer(ctx: Context, name: str) -> None:
    """Stop pulling from the peer. Copies it brought stay; origins it offered are pulled from other peers."""
    with ctx.db.write() as session:
        row = session.get(models.Peer, name)
        if row is None:
            raise NotFound(f"no peer named {name!r}")
        session.delete(row)


def credentials(ctx: Context) -> list[PeerCredentials]:
    """Every peer with its secret decrypted, for the puller."""
    stored = ctx.secrets
    with ctx.db.read() as session:
        return [PeerCredentials(row.name, row.url, row.client_id, stored.decrypt(row.client_secret))
                for row in session.scalars(select(models.Peer).order_by(models.Peer.name))]


def _info(row: models.Peer) -> PeerInfo:
    return PeerInfo(name=row.name, url=row.url, client_id=row.client_id, created_at=iso(row.created_at))
