"""The per-origin change log: the source of every feed, index and sync cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime
from registry.models.records import JSONBody


class ChangeLogEntry(Base):
    """One version of one record. `seq` is gap-free per origin and taken in the writing transaction."""

    __tablename__ = "change_log"
    origin: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(String(192), index=True)
    type: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    owner_network: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict] = mapped_column(JSONBody)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    # The origin's signed envelope of this version, exactly as signed (schemas/envelope.json).
    envelope: Mapped[str | None] = mapped_column(Text)


class OriginSequence(Base):
    """The last sequence number issued per origin; its row is the lock that keeps seq gap-free."""

    __tablename__ = "origin_sequences"
    origin: Mapped[str] = mapped_column(String(63), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    # How many times entries of this origin's log were dropped (retention, a relayed log restarted by a
    # snapshot): part of the data version, so that cached feed answers do not outlive the entries.
    trims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
