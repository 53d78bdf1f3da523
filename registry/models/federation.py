"""What a node knows of the federation: the origins it trusts, the peers it pulls from, where it
stands with each origin, and the items it quarantined."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class TrustedOrigin(Base):
    """An origin whose records this node accepts: its id namespace and its record-signing keys,
    fetched from its JWKS URL and pinned here (refreshed when an envelope names an unknown kid)."""

    __tablename__ = "trusted_origins"
    node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63), unique=True)
    jwks_url: Mapped[str] = mapped_column(Text)
    jwks: Mapped[dict] = mapped_column(JSON)
    keys_fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Peer(Base):
    """A node to pull from, with the client credentials it issued to us. The secret is encrypted
    with a key kept in the instance folder (it must be sent, so it cannot be hashed)."""

    __tablename__ = "peers"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncState(Base):
    """Where this node stands with one foreign origin. The cursor itself is the origin's row in
    `origin_sequences` (the last seq held), so the cursor and the copies move in one transaction."""

    __tablename__ = "sync_states"
    origin: Mapped[str] = mapped_column(String(63), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(63))
    source_last_seq: Mapped[int | None] = mapped_column(Integer)
    bootstrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When this node last held everything the source had; the lag in time is counted from it.
    caught_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    stale: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedItem(Base):
    """A validly signed version that was not applied: equivocation (same version, another body)
    or a body this node cannot hold. Kept with its envelope as evidence."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(63), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(192))
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(63))
    envelope: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Checkpoint(Base):
    """The freshest checkpoint of a foreign origin this node verified (registry.crypto.checkpoint), as
    signed: relayed to this node's consumers unchanged, and the signed truth of how far the origin is."""

    __tablename__ = "checkpoints"
    origin: Mapped[str] = mapped_column(String(63), primary_key=True)
    as_of_seq: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed: Mapped[str] = mapped_column(Text)
    # True once this node held exactly the checkpoint's records (its copies hashed to its digest).
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
