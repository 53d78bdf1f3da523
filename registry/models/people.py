"""People who sign in to the pages (secretariat editors, vetted practitioners, administrators), their
second factors, invitations and browser sessions. Machines are OAuth clients (registry.models.auth)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class Person(Base):
    """An account, identified by its e-mail address (stored lowercased).

    It works once the invitee has set a password and enrolled a second factor. Sessions begun
    before `sessions_valid_after` are ended, so disabling an account or resetting its second factor
    signs it out everywhere at once."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # Space-separated roles, e.g. "editor:casc practitioner" (registry.permissions.ROLES).
    roles: Mapped[str] = mapped_column(Text)
    # The network that vouched for a practitioner (its editors invited them), if any.
    sponsor_network: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Hashes of the unused one-time recovery codes.
    recovery_codes: Mapped[list] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sessions_valid_after: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Passkey(Base):
    """A WebAuthn credential of a person."""

    __tablename__ = "passkeys"
    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # base64url
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Invitation(Base):
    """An invitation sent by e-mail: its link carries `id`, signed, and works once before `expires_at`."""

    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    roles: Mapped[str] = mapped_column(Text)
    sponsor_network: Mapped[str | None] = mapped_column(String(32))
    invited_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # "sent", or "failed" with the SMTP server's answer in mail_error (the invitation can be re-sent).
    mail_status: Mapped[str] = mapped_column(String(16), default="pending")
    mail_error: Mapped[str | None] = mapped_column(String(500))


class WebSession(Base):
    """A browser session, kept on the server; the cookie holds only a random id, stored hashed."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
