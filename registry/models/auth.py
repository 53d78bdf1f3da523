"""OAuth2 clients, revoked tokens and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class Client(Base):
    """A system or secretariat that obtains access tokens with the client-credentials grant.

    Only a hash of the secret is kept. Tokens issued before `tokens_valid_after` are refused, so
    disabling a client or rotating its secret cuts off the tokens it already holds.
    """

    __tablename__ = "oauth_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tokens_valid_after: Mapped[datetime] = mapped_column(UTCDateTime())


class RevokedToken(Base):
    """An access token revoked before its expiry (RFC 7009), kept until it would have expired."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEntry(Base):
    """One write or write attempt, accepted or refused, through the API or the CLI.

    Refusals of callers without a valid token (bad tokens, failed client authentication, rate-limited
    anonymous traffic) from one address are counted in one entry per minute and kind of refusal
    (`repeated`, up to `last_at`), so that a flood cannot fill the log."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_id: Mapped[str | None] = mapped_column(String(64))
    # The person (e-mail address) who acted through the pages, or whose account an action concerned.
    person: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(500))
    record_id: Mapped[str | None] = mapped_column(String(192))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(500))
    repeated: Mapped[int] = mapped_column(Integer, default=1)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The X-Request-ID of the request (of its first occurrence, for a repeated refusal).
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_audit_log_client_at", "client_id", "at"),
        Index("ix_audit_log_record", "record_id"),
        Index("ix_audit_log_address_at", "address", "at"),
    )
