"""What partner systems follow: this node's arrival log, and their webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class Arrival(Base):
    """One version of one record as it arrived at this node, whatever its origin: written by the
    publishing path and by sync alike, numbered in commit order. The partner feed is read from here
    (the change log is per origin, and a snapshot brings copies without change-log entries)."""

    __tablename__ = "arrivals"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(63))
    seq: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(192))
    type: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    # True when a copy was dropped because its origin's snapshot no longer had it.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_network: Mapped[str] = mapped_column(String(32))
    # Filters of the partner feed, fixed at arrival: the country, and every network the record
    # belongs to (owner, memberships, roles) between spaces (" casc globe ").
    country: Mapped[str | None] = mapped_column(String(2))
    networks: Mapped[str] = mapped_column(Text)
    # The tier needed to see the record (registry.visibility.record_tier), fixed at arrival; a deletion
    # keeps the tier of the record's last live version. Feeds filter on it before a page is cut.
    tier: Mapped[int] = mapped_column(Integer)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The origin's envelope of this version, byte for byte (none for a removed copy).
    envelope: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_arrivals_record", "record_id"),)


class ArrivalCounter(Base):
    """The last arrival number; its single row is locked by every writing transaction, so numbers
    are taken in commit order (a partner's cursor never skips a later-committed lower number)."""

    __tablename__ = "arrival_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)
    # Random, set when the log starts: a cursor of another database (or of this one before it was
    # rebuilt) names another epoch and is refused.
    epoch: Mapped[str] = mapped_column(String(16))


class Subscription(Base):
    """A partner's webhook: where to notify, for which records, with which secret (encrypted; the
    previous one keeps signing beside the new one for a day after a rotation)."""

    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # The arrival number up to which the partner has been notified.
    cursor: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Raised by every change of url, filters or active (what If-Match is checked against); the
    # deliverer's bookkeeping (cursor, failures) does not raise it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The notification being delivered, kept until a receiver takes it: every retry sends the same
    # message id and body, so a receiver that got it once can drop the repeats.
    pending_message_id: Mapped[str | None] = mapped_column(String(64))
    pending_payload: Mapped[str | None] = mapped_column(Text)
    pending_cursor: Mapped[int | None] = mapped_column(Integer)


class Delivery(Base):
    """One attempt to deliver one notification: the log a partner (and an admin) can read."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    cursor: Mapped[int] = mapped_column(Integer)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
