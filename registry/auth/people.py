"""People: accounts by e-mail address, by invitation only, with roles that stand for scopes
(registry.permissions.ROLES), a password and a mandatory second factor.

An invitation is a row and a link carrying its id, signed with a key derived from the instance key; the
link works once, before the invitation expires. The invitee sets a password, then enrols a second factor
(a TOTP app, or a passkey); until then the password only leads to the enrolment. Disabling an account or
resetting its second factor ends its sessions at once (`sessions_valid_after`).

Every change here is written to the audit log with the person it concerns and who did it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from registry import mail, models
from registry.auth import passwords, second_factor
from registry.auth.clients import known_networks
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound, RegistryError
from registry.permissions import EDITOR_ROLE, ROLES, Caller, is_known_role, require, scopes_of
from registry.services import audit

EMAIL = r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}"


class AccountProblem(RegistryError):
    """A step of an account's life refused; `reason` is a short code the pages translate."""

    status = 422
    title = "Account step refused"

    def __init__(self, detail: str, reason: str, status: int | None = None):
        super().__init__(detail, reason=reason)
        self.reason = reason
        if status is not None:
            self.status = status


@dataclass(frozen=True)
class PersonInfo:
    id: int
    email: str
    roles: tuple[str, ...]
    sponsor_network: str | None
    disabled: bool
    has_password: bool
    second_factors: tuple[str, ...]
    created_at: datetime
    last_sign_in_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the account works: enabled, with a password and a second factor."""
        return not self.disabled and self.has_password and bool(self.second_factors)

    def caller(self) -> Caller:
        return Caller(person=self.email, scopes=scopes_of(self.roles))

    def as_dict(self) -> dict:
        return {"email": self.email, "roles": list(self.roles), "sponsor_network": self.sponsor_network,
                "disabled": self.disabled, "active": self.active, "second_factors": list(self.second_factors),
                "created_at": iso(self.created_at),
                "last_sign_in_at": iso(self.last_sign_in_at) if self.last_sign_in_at else None}


@dataclass(frozen=True)
class InvitationInfo:
    id: str
    email: str
    roles: tuple[str, ...]
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked: bool
    mail_status: str
    mail_error: str | None

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "open"

    def as_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "roles": list(self.roles), "invited_by": self.invited_by,
                "created_at": iso(self.created_at), "expires_at": iso(self.expires_at), "state": self.state,
                "mail_status": self.mail_status, "mail_error": self.mail_error}


@dataclass(frozen=True)
class Invited:
    invitation: InvitationInfo
    # The link to pass on; the mail carries it too when mail is configured and went out.
    link: str


def person_info(session, row: models.Person) -> PersonInfo:
    factors = []
    if row.totp_secret:
        factors.append("totp")
    if session.scalar(select(models.Passkey.credential_id).where(models.Passkey.person_id == row.id).limit(1)):
        factors.append("passkey")
    return PersonInfo(row.id, row.email, tuple(row.roles.split()), row.sponsor_network, row.disabled,
                      row.password_hash is not None, tuple(factors), row.created_at, row.last_sign_in_at)


def _invitation_info(row: models.Invitation) -> InvitationInfo:
    return InvitationInfo(row.id, row.email, tuple(row.roles.split()), row.invited_by, row.created_at,
                          row.expires_at, row.accepted_at, row.revoked, row.mail_status, row.mail_error)


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not re.fullmatch(EMAIL, email):
        raise InvalidParameter("email", f"{email!r} is not an e-mail address (name@domain.example)")
    return email


def normalize_roles(ctx: Context, roles) -> tuple[str, ...]:
    wanted = tuple(sorted(set(roles)))
    if not wanted:
        raise InvalidParameter("role", "give at least one role")
    networks = known_networks(ctx)
    unknown = [r for r in wanted if not is_known_role(r, networks)]
    if unknown:
        known = ", ".join([r for r in ROLES if "<" not in r] + [f"editor:{n}" for n in sorted(networks)])
        raise InvalidParameter("role", f"unknown role {unknown[0]!r}; known roles: {known}")
    return wanted


def audit_account(ctx: Context, actor: Caller | None, what: str, person: str, *, status: int = 200,
                  address: str | None = None, operator: bool = False) -> None:
    """An account event, method ACCOUNT: `what` happened to `person`'s account, done by `actor` (a person or
    client), by the node's operator (the CLI), or by the person themselves (neither)."""
    if operator:
        by = "by the operator"
    else:
        by = f"by {actor.actor}" if actor and actor.actor and actor.actor != person else None
    audit.record(ctx, client_id=actor.client_id if actor else None, person=person, address=address,
                 method="ACCOUNT", route=what, status=status, detail=by)


# Invitations

def _serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.secrets.derived_key("invitation links"), salt="invitation")


def invitation_link(ctx: Context, invitation_id: str) -> str:
    return f"{ctx.settings.public_url}/console/invitation/{_serializer(ctx).dumps(invitation_id)}"


def invite(ctx: Context, inviter: Caller | None, email: str, roles, *, sponsor_network: str | None = None) -> Invited:
    """Invite `email` with `roles`. `inviter` None is the node's operator (the CLI). An admin may give any role;
    a network's editor may invite practitioners on the network's behalf (`sponsor_network`)."""
    email = normalize_email(email)
    roles = normalize_roles(ctx, roles)
    if inviter is not None:
        if set(roles) == {"practitioner"} and sponsor_network:
            require(inviter, "people:invite-practitioner", network=sponsor_network)
        else:
            require(inviter, "people:manage")
    if sponsor_network is None:
        sponsor_network = next((m.group(1) for r in roles if (m := EDITOR_ROLE.fullmatch(r))), None)
    now = utcnow()
    with ctx.db.write() as session:
        if session.scalar(select(models.Person).where(models.Person.email == email)) is not None:
            raise Conflict(f"{email} has an account already; change its roles instead")
        for open_one in session.scalars(select(models.Invitation).where(
                models.Invitation.email == email, models.Invitation.accepted_at.is_(None))):
            open_one.revoked = True  # the newest invitation is the one that counts
        row = models.Invitation(id=secrets.token_urlsafe(24), email=email, roles=" ".join(roles),
                                sponsor_network=sponsor_network, invited_by=inviter.actor if inviter else "operator",
                                created_at=now, expires_at=now + timedelta(seconds=ctx.settings.invitation_ttl),
                                revoked=False, mail_status="pending")
        session.add(row)
        session.flush()
        invitation_id = row.id
    audit_account(ctx, inviter, f"invited as {' '.join(roles)}", email, operator=inviter is None)
    return Invited(send_invitation(ctx, invitation_id), invitation_link(ctx, invitation_id))


def send_invitation(ctx: Context, invitation_id: str) -> InvitationInfo:
    """Mail the invitation link (again); the outcome is stored on the invitation, never raised."""
    with ctx.db.read() as session:
        row = session.get(models.Invitation, invitation_id)
        if row is None:
            raise NotFound(f"no invitation {invitation_id!r}")
        email, roles, expires_at = row.email, row.roles, row.expires_at
    if not mail.configured(ctx.settings):
        status, error = "not-sent", "REGISTRY_SMTP_URL is not set: pass the link on yourself"
    else:
        text = INVITATION_TEXT.format(roles=roles, link=invitation_link(ctx, invitation_id),
                                      expires=expires_at.strftime("%Y-%m-%d %H:%M UTC"), node=ctx.settings.public_url)
        try:
            mail.send(ctx.settings, email, "Your invitation to the contact-point registry", text)
            status, error = "sent", None
        except mail.MailNotSent as exc:
            status, error = "failed", str(exc)
    with ctx.db.write() as session:
        row = session.get(models.Invitation, invitation_id)
        row.mail_status, row.mail_error = status, error
        return _invitation_info(row)


INVITATION_TEXT = """You are invited to the contact-point registry at {node}, with the role(s): {roles}.

To accept, open this link, choose a password and set up a second factor (an authenticator app or a passkey):

{link}

The link works once, until {expires}. If you did not expect this invitation, ignore this message.
"""


def list_invitations(ctx: Context, *, open_only: bool = False) -> list[InvitationInfo]:
    with ctx.db.read() as session:
        rows = session.scalars(select(models.Invitation).order_by(models.Invitation.created_at.desc()))
        found = [_invitation_info(r) for r in rows]
    return [i for i in found if i.state == "open"] if open_only else found


def open_invitation(ctx: Context, token: str) -> InvitationInfo:
    """The invitation a link names, if the link can still be used; AccountProblem saying why not otherwise."""
    try:
        invitation_id = _serializer(ctx).loads(token, max_age=ctx.settings.invitation_ttl)
    except SignatureExpired:
        raise AccountProblem("This invitation link has expired; ask for a new one.", "invitation-expired",
                             410) from None
    except BadSignature:
        raise AccountProblem("This is not a valid invitation link.", "invitation-invalid", 404) from None
    with ctx.db.read() as session:
        row = session.get(models.Invitation, invitation_id)
        info = _invitation_info(row) if row else None
    if info is None:
        raise AccountProblem("This is not a valid invitation link.", "invitation-invalid", 404)
    if info.state == "accepted":
        raise AccountProblem("This invitation has been used already; sign in instead.", "invitation-used", 410)
    if info.state != "open":
        raise AccountProblem("This invitation has expired or was replaced; ask for a new one.",
                             "invitation-expired", 410)
    return info


def accept_invitation(ctx: Context, token: str, password: str, *, address: str | None = None) -> PersonInfo:
    """Create the account with its password; it works once a second factor is enrolled."""
    info = open_invitation(ctx, token)
    problem = passwords.password_problem(password, info.email)
    if problem:
        raise AccountProblem(f"The password cannot be used ({problem}).", f"password-{problem}")
    now = utcnow()
    with ctx.db.write() as session:
        row = session.get(models.Invitation, info.id)
        if row.accepted_at is not None:  # accepted meanwhile, by a second click
            raise AccountProblem("This invitation has been used already; sign in instead.", "invitation-used", 410)
        if session.scalar(select(models.Person).where(models.Person.email == row.email)) is not None:
            raise AccountProblem("This address has an account already; sign in instead.", "invitation-used", 410)
        row.accepted_at = now
        person = models.Person(email=row.email, roles=row.roles, sponsor_network=row.sponsor_network,
                               password_hash=passwords.hash_password(password), recovery_codes=[],
                               disabled=False, created_at=now, sessions_valid_after=now)
        session.add(person)
        session.flush()
        result = person_info(session, person)
    audit_account(ctx, None, "invitation accepted, password set", result.email, address=address)
    return result


# Accounts

def _find(session, ref: str | int) -> models.Person:
    row = session.get(models.Person, ref) if isinstance(ref, int) else session.scalar(
        select(models.Person).where(models.Person.email == str(ref).strip().lower()))
    if row is None:
        raise NotFound(f"no account {ref!r}")
    return row


def get_person(ctx: Context, ref: str | int) -> PersonInfo:
    with ctx.db.read() as session:
        return person_info(session, _find(session, ref))


def list_people(ctx: Context) -> list[PersonInfo]:
    with ctx.db.read() as session:
        return [person_info(session, r) for r in session.scalars(select(models.Person).order_by(models.Person.email))]


def set_disabled(ctx: Context, actor: Caller | None, ref: str | int, disabled: bool) -> PersonInfo:
    """Disabling ends the account's sessions at once; enabling lets it sign in again."""
    if actor is not None:
        require(actor, "people:manage")
    with ctx.db.write() as session:
        row = _find(session, ref)
        if row.disabled != disabled:
            row.disabled = disabled
            row.sessions_valid_after = utcnow()
        info = person_info(session, row)
    audit_account(ctx, actor, "disabled" if disabled else "enabled", info.email, operator=actor is None)
    return info


def set_roles(ctx: Context, actor: Caller | None, ref: str | int, roles) -> PersonInfo:
    if actor is not None:
        require(actor, "people:manage")
    roles = normalize_roles(ctx, roles)
    with ctx.db.write() as session:
        row = _find(session, ref)
        before = row.roles
        row.roles = " ".join(roles)
        if set(before.split()) - set(roles):  # a role taken away applies at once
            row.sessions_valid_after = utcnow()
        info = person_info(session, row)
    audit_account(ctx, actor, f"roles {before} -> {' '.join(roles)}", info.email, operator=actor is None)
    return info


def reset_second_factor(ctx: Context, actor: Caller | None, ref: str | int) -> PersonInfo:
    """Remove the TOTP secret, the recovery codes and the passkeys; the person must enrol again at the next
    sign-in (with the password), and is signed out everywhere now."""
    if actor is not None:
        require(actor, "people:manage")
    with ctx.db.write() as session:
        row = _find(session, ref)
        row.totp_secret, row.totp_last_step, row.recovery_codes = None, None, []
        for key in session.scalars(select(models.Passkey).where(models.Passkey.person_id == row.id)):
            session.delete(key)
        row.sessions_valid_after = utcnow()
        session.flush()
        info = person_info(session, row)
    audit_account(ctx, actor, "second factor reset", info.email, operator=actor is None)
    return info


# Enrolment of a second factor

def enrol_totp(ctx: Context, person_id: int, secret: str, code: str, *, address: str | None = None) -> list[str]:
    """Keep `secret` as the person's TOTP secret once `code` proves their app has it; the recovery codes,
    shown once. A person who has a second factor already replaces their TOTP secret this way."""
    step = second_factor.totp_step(secret, code, None)
    if step is None:
        raise AccountProblem("The code does not match; check the time on your device and type the newest code.",
                             "code-wrong")
    codes, hashes = second_factor.new_recovery_codes()
    with ctx.db.write() as session:
        row = _find(session, person_id)
        row.totp_secret, row.totp_last_step, row.recovery_codes = secret, step, hashes
        email = row.email
    audit_account(ctx, None, "second factor enrolled: authenticator app", email, address=address)
    return codes


def new_recovery_codes(ctx: Context, person_id: int) -> list[str]:
    codes, hashes = second_factor.new_recovery_codes()
    with ctx.db.write() as session:
        row = _find(session, person_id)
        row.recovery_codes = hashes
        email = row.email
    audit_account(ctx, None, "recovery codes renewed", email)
    return codes


def session_valid(ctx: Context, person_id: int, signed_in_at: datetime) -> PersonInfo | None:
    """The person of a session begun at `signed_in_at`, while the account works and the session was not
    ended by a change to it."""
    with ctx.db.read() as session:
        row = session.get(models.Person, person_id)
        if row is None or row.disabled or signed_in_at < row.sessions_valid_after:
            return None
        info = person_info(session, row)
    return info if info.active else None
