"""Verification rounds: the messages that ask a contact point to confirm its record, and the changes its
holders propose in answer. `verified_at` itself lives in the signed record; these rows are the node's own
bookkeeping of who was asked, when, and what came of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class VerificationRequest(Base):
    """One question to one contact point, by e-mail: its link carries `id`, signed; the link's hash is kept to
    find the request from the link. Open while `outcome` is None; reminders are counted on the row."""

    __tablename__ = "verification_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(192), index=True)
    record_type: Mapped[str] = mapped_column(String(32))
    network: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    # The record's version when it was asked: what the holder was shown.
    record_version: Mapped[int] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The value of the X-Registry-Verification header, to match a delivery-status notification to the request.
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # None until a message was handed over (the mail server was unreachable: the next run sends it).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # confirmed, changed, bounced or unanswered; None while open.
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    failure: Mapped[str | None] = mapped_column(String(500))


class ChangeProposal(Base):
    """What a contact point's holder says has changed; nothing of it is published until an editor of the
    network reviews it and edits the record."""

    __tablename__ = "change_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("verification_requests.id", ondelete="SET NULL"))
    record_id: Mapped[str] = mapped_column(String(192), index=True)
    network: Mapped[str] = mapped_column(String(32), index=True)
    submitted_by: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text)
    # The optional fields of the form ({"email": ..., "phone": ..., "name": ...}), as typed.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # open, accepted (reviewed and taken into the record by an editor) or dismissed.
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
