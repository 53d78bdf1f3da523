"""Verification rounds: asking each contact point of a network, by e-mail, whether its record is still true.

A contact point's state comes from its record (`verified_at`, part of the signed body) and from the node's
requests (table verification_requests):

- `confirmed`: verified within REGISTRY_VERIFY_PERIOD_DAYS;
- `bounced`: the last message to its current address bounced (refused at sending, or a delivery-status
  notification came back), unless it was verified since;
- `unanswered`: asked, reminded twice, and silent 14 days after the second reminder;
- `due`: anything else (older than the period or never verified, asked or not yet).

A round (`run`) asks each due contact point that is not being asked already, one message in its language
with a signed single-use link, and sends the reminders that are due (after 14 and 28 days). Confirming
through the link writes a new version of the record with `verified_at` through the single write path, so
peers receive it as any other change; "something changed" only files a proposal for the network's editors,
and nothing of it is published until one of them edits the record.

Only the records this node publishes (its own origin) are asked: a copy is verified by its origin. Every
time is taken from `now` when given, so rounds, reminders and expiry can be played with any clock.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import mailbox
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import Message

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select

from registry import mail, models
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound, PreconditionFailed, RegistryError
from registry.permissions import Caller, require
from registry.services import audit
from registry.services.networks import get_network
from registry.services.records import find_row, lock_origin, write_record

STATUSES = ("confirmed", "due", "unanswered", "bounced")
# Reminders go this long after the first message; the request counts as unanswered this long after the last.
REMINDERS = (timedelta(days=14), timedelta(days=28))
SILENCE = timedelta(days=14)
# The languages the messages and the page are written in; a contact point gets the first of its own.
MAIL_LANGUAGES = ("en", "fr", "ru", "es", "pt")
HEADER = "X-Registry-Verification"
PROPOSAL_TEXT_MAX = 4000
PROPOSAL_FIELDS = {"name": 200, "position": 200, "email": 254, "phone": 40}


class MailNotConfigured(Conflict):
    title = "Mail not configured"


class LinkProblem(RegistryError):
    """A verification link that cannot be used; `reason` (invalid, used, expired) is what the page translates."""

    title = "Verification link refused"

    def __init__(self, detail: str, reason: str, status: int):
        super().__init__(detail, reason=reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class State:
    record_id: str
    authority_id: str | None
    position: dict
    network: str
    email: str | None
    verified_at: date | None
    # The address that confirmed the current verified_at through a link (None: set by an editor or the seed).
    channel: str | None
    status: str
    asked_at: datetime | None = None
    reminders: int = 0
    open_request: bool = False
    failure: str | None = None

    def as_dict(self) -> dict:
        return {"record_id": self.record_id, "authority_id": self.authority_id, "position": self.position,
                "email": self.email, "status": self.status,
                "verified_at": self.verified_at.isoformat() if self.verified_at else None, "channel": self.channel,
                "asked_at": iso(self.asked_at) if self.asked_at else None, "reminders": self.reminders,
                "open_request": self.open_request, "failure": self.failure}


@dataclass
class RoundResult:
    """What a round or a reminder pass did, by record id."""

    asked: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Messages left for a later minute by REGISTRY_VERIFY_RATE.
    deferred: int = 0

    def as_dict(self) -> dict:
        return {"asked": self.asked, "reminded": self.reminded, "unanswered": self.unanswered,
                "bounced": self.bounced, "failed": self.failed, "deferred": self.deferred}


def address_of(body: dict) -> str | None:
    """Where a contact point is asked: its functional mailbox, else the person's own address."""
    return body.get("email") or (body.get("person") or {}).get("email")


def language_of(body: dict) -> str:
    return next((lang for lang in body.get("languages") or () if lang in MAIL_LANGUAGES), "en")


def _verified_at(body: dict) -> date | None:
    try:
        return date.fromisoformat(body["verified_at"]) if body.get("verified_at") else None
    except ValueError:
        return None


def _current_contact_points(session, ctx: Context, network: str, today: date):
    """The live, current contact points this node publishes for `network`."""
    cp = models.ContactPoint
    return session.scalars(select(cp).where(
        cp.origin == ctx.settings.node_id, cp.owner_network == network, cp.deleted.is_(False),
        or_(cp.valid_until.is_(None), cp.valid_until >= today), or_(cp.valid_from.is_(None), cp.valid_from <= today),
    ).order_by(cp.id)).all()


def _latest_requests(session, network: str) -> dict[str, models.VerificationRequest]:
    req = models.VerificationRequest
    latest: dict[str, models.VerificationRequest] = {}
    for row in session.scalars(select(req).where(req.network == network).order_by(req.id)):
        latest[row.record_id] = row
    return latest


def _state(ctx: Context, row, request: models.VerificationRequest | None, today: date) -> State:
    body = row.body
    verified = _verified_at(body)
    address = address_of(body)
    fresh = verified is not None and verified > today - timedelta(days=ctx.settings.verify_period_days)
    asked_on = request.created_at.date() if request else None
    if request and request.outcome == "bounced" and request.email == address and not (
            verified and verified >= asked_on):
        status = "bounced"
    elif fresh:
        status = "confirmed"
    elif request and request.outcome == "unanswered" and request.email == address:
        status = "unanswered"
    else:
        status = "due"
    channel = request.email if request and request.outcome == "confirmed" and request.answered_at \
        and verified == request.answered_at.date() else None
    return State(row.id, body.get("authority_id"), body.get("position") or {}, row.owner_network, address, verified,
                 channel, status, asked_at=request.sent_at if request else None,
                 reminders=request.reminders if request else 0,
                 open_request=bool(request and request.outcome is None),
                 failure=request.failure if request else None)


def states(ctx: Context, network: str, *, now: datetime | None = None) -> list[State]:
    """Every current contact point the node publishes for `network`, the least recently verified first (never
    verified before all)."""
    today = (now or utcnow()).date()
    with ctx.db.read() as session:
        latest = _latest_requests(session, network)
        found = [_state(ctx, row, latest.get(row.id), today)
                 for row in _current_contact_points(session, ctx, network, today)]
    return sorted(found, key=lambda s: (s.verified_at is not None, s.verified_at or date.min, s.record_id))


def authority_state(ctx: Context, authority_id: str, *, now: datetime | None = None) -> str:
    """An authority's own state, from its record alone (authorities are not asked by mail)."""
    today = (now or utcnow()).date()
    with ctx.db.read() as session:
        row = find_row(session, "authority", authority_id)
        verified = None if row.deleted else _verified_at(row.body)
    fresh = verified is not None and verified > today - timedelta(days=ctx.settings.verify_period_days)
    return "confirmed" if fresh else "due"


def freshness(ctx: Context, caller: Caller, network: str, *, now: datetime | None = None) -> dict:
    """How true the network's directory is: how many of its contact points are confirmed, due, unanswered and
    bounced, and each of them, the least recently verified first. For its editors and admins."""
    code = get_network(ctx, network, caller)["code"]  # 404 for a network this node does not hold
    require(caller, "network:verify", network=code)
    now = now or utcnow()
    found = states(ctx, code, now=now)
    counts = {status: sum(1 for s in found if s.status == status) for status in STATUSES}
    return {"network": code, "date": now.date().isoformat(), "period_days": ctx.settings.verify_period_days,
            "total": len(found), "counts": counts, "contact_points": [s.as_dict() for s in found]}


# Links

def _serializer(ctx: Context) -> URLSafeSerializer:
    return URLSafeSerializer(ctx.secrets.derived_key("verification links"), salt="verification")


def _token(ctx: Context, request_id: int) -> str:
    # The same request always makes the same link, so a reminder repeats the first message's link and the
    # link is never stored: only its hash, to recognise it.
    return _serializer(ctx).dumps(request_id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(ctx: Context, request_id: int) -> str:
    return f"{ctx.settings.public_url}/verify/{_token(ctx, request_id)}"


# Sending

def _sent_in_last_minute(session, network: str, now: datetime) -> int:
    req = models.VerificationRequest
    since = now - timedelta(minutes=1)
    return session.scalar(select(func.count()).select_from(req).where(
        req.network == network, or_(req.sent_at > since, req.last_reminder_at > since)))


def _audit(ctx: Context, request: models.VerificationRequest, what: str, *, status: int = 200,
           detail: str | None = None, by: str | None = None) -> None:
    audit.record(ctx, client_id=None, person=by, address=None, method="VERIFY", route=f"verification {what}",
                 status=status, record_id=request.record_id,
                 detail=f"{request.network} {request.email}" + (f": {detail}" if detail else ""))


def _names(session, row) -> tuple[dict, dict]:
    authority = session.get(models.Authority, row.body.get("authority_id") or "")
    return row.body.get("position") or {}, (authority.body.get("names") or {}) if authority else {}


def _in(text: dict, lang: str) -> str:
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def _message(ctx: Context, request: models.VerificationRequest, position: dict, names: dict,
             reminder: bool) -> tuple[str, str]:
    words = MAIL[request.language]
    subject = (words["reminder"] + " " if reminder else "") + words["subject"]
    text = words["text"].format(position=_in(position, request.language), authority=_in(names, request.language),
                                network=request.network.upper(), link=link(ctx, request.id),
                                expires=request.expires_at.strftime("%Y-%m-%d"), node=ctx.settings.public_url)
    return subject, text


Sender = Callable[..., str]


def _deliver(ctx: Context, request_id: int, now: datetime, *, reminder: bool, send: Sender) -> str:
    """Send the request's message (or a reminder) and store the outcome: sent, bounced (refused for good) or
    failed (the server could not take it now; the next round tries again). Never raises a mail error."""
    with ctx.db.read() as session:
        request = session.get(models.VerificationRequest, request_id)
        row = find_row(session, request.record_type, request.record_id)
        position, names = _names(session, row)
        session.expunge(request)
    if reminder:
        request.expires_at = max(request.expires_at, now + timedelta(seconds=ctx.settings.verify_link_ttl))
    subject, text = _message(ctx, request, position, names, reminder)
    try:
        message_id = send(ctx.settings, request.email, subject, text, headers={HEADER: request.reference})
        outcome, error = "sent", None
    except mail.RecipientRefused as exc:
        outcome, error, message_id = "bounced", str(exc), None
    except mail.MailNotSent as exc:
        outcome, error, message_id = "failed", str(exc), None
    with ctx.db.write() as session:
        stored = session.get(models.VerificationRequest, request_id)
        stored.failure = error
        if outcome == "sent":
            stored.message_id = message_id
            if reminder:
                stored.reminders += 1
                stored.last_reminder_at, stored.expires_at = now, request.expires_at
            else:
                stored.sent_at = now
        elif outcome == "bounced":
            stored.outcome, stored.answered_at = "bounced", now
            if stored.sent_at is None:
                stored.sent_at = now
        session.flush()
        session.expunge(stored)
    what = {"sent": "reminder sent" if reminder else "request sent", "bounced": "bounced at sending",
            "failed": "not sent"}[outcome]
    _audit(ctx, stored, what, status=200 if outcome == "sent" else 502, detail=error)
    return outcome


def _new_request(session, ctx: Context, row, now: datetime) -> int:
    request = models.VerificationRequest(
        record_id=row.id, record_type="contact_point", network=row.owner_network, email=address_of(row.body),
        language=language_of(row.body), record_version=row.version, token_hash="-" + secrets.token_hex(20),
        reference=secrets.token_hex(16), created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.verify_link_ttl), reminders=0)
    session.add(request)
    session.flush()
    request.token_hash = _hash(_token(ctx, request.id))
    return request.id


def _needs_asking(ctx: Context, state: State, request: models.VerificationRequest | None, today: date) -> bool:
    """A due contact point is asked unless it is being asked already, or was asked within the period and that
    question ended (answered, bounced or unanswered) at the same address: the editors take it from there."""
    if state.status == "confirmed" or not state.email:
        return False
    if request is None or request.email != state.email:
        return True
    if request.outcome is None:
        return request.sent_at is None  # a message the mail server did not take is sent again
    return request.created_at.date() <= today - timedelta(days=ctx.settings.verify_period_days)


def run(ctx: Context, network: str, *, now: datetime | None = None, due_only: bool = False,
        send: Sender = mail.send, caller: Caller | None = None) -> RoundResult:
    """A verification round for `network`: the reminders and silences that are due (unless `due_only`), then
    one message to each due contact point not being asked already, within REGISTRY_VERIFY_RATE messages a
    minute (the rest is `deferred`). Running it again the same day sends nothing new. `caller` None is the
    operator (the CLI)."""
    if caller is not None:
        require(caller, "network:verify", network=network)
    if not mail.configured(ctx.settings):
        raise MailNotConfigured("REGISTRY_SMTP_URL is not set: verification messages cannot be sent.")
    now = now or utcnow()
    result = RoundResult() if due_only else remind(ctx, network, now=now, send=send, caller=caller)
    today = now.date()
    with ctx.db.write() as session:
        if session.scalar(select(models.Network.id).where(models.Network.code == network)) is None:
            raise NotFound(f"no network {network!r}")
        budget = ctx.settings.verify_rate - _sent_in_last_minute(session, network, now)
        latest = _latest_requests(session, network)
        wanted = []
        for row in _current_contact_points(session, ctx, network, today):
            request = latest.get(row.id)
            state = _state(ctx, row, request, today)
            if _needs_asking(ctx, state, request, today):
                reuse = request is not None and request.outcome is None and request.email == state.email
                wanted.append(request.id if reuse else (row, None))
        ids = []
        for item in wanted:
            if len(ids) >= budget:
                result.deferred += 1
                continue
            ids.append(item if isinstance(item, int) else _new_request(session, ctx, item[0], now))
    for request_id in ids:
        outcome = _deliver(ctx, request_id, now, reminder=False, send=send)
        record_id = _record_of(ctx, request_id)
        {"sent": result.asked, "bounced": result.bounced, "failed": result.failed}[outcome].append(record_id)
    return result


def _record_of(ctx: Context, request_id: int) -> str:
    with ctx.db.read() as session:
        return session.get(models.VerificationRequest, request_id).record_id


def remind(ctx: Context, network: str, *, now: datetime | None = None, send: Sender = mail.send,
           caller: Caller | None = None) -> RoundResult:
    """Remind the open requests of `network` 14 and 28 days after their message, and mark those still silent
    14 days after the second reminder unanswered."""
    if caller is not None:
        require(caller, "network:verify", network=network)
    now = now or utcnow()
    result = RoundResult()
    req = models.VerificationRequest
    reminders, silent = [], []
    with ctx.db.write() as session:
        budget = ctx.settings.verify_rate - _sent_in_last_minute(session, network, now)
        for request in session.scalars(select(req).where(req.network == network, req.outcome.is_(None),
                                                         req.sent_at.is_not(None)).order_by(req.id)):
            if request.reminders >= len(REMINDERS):
                if now >= request.last_reminder_at + SILENCE:
                    request.outcome, request.answered_at = "unanswered", now
                    silent.append(request)
            elif now >= request.sent_at + REMINDERS[request.reminders]:
                if len(reminders) < budget:
                    reminders.append(request.id)
                else:
                    result.deferred += 1
        session.flush()
        for request in silent:
            session.expunge(request)
    for request in silent:
        _audit(ctx, request, "unanswered", status=410)
        result.unanswered.append(request.record_id)
    for request_id in reminders:
        outcome = _deliver(ctx, request_id, now, reminder=True, send=send)
        {"sent": result.reminded, "bounced": result.bounced, "failed": result.failed}[outcome].append(
            _record_of(ctx, request_id))
    return result


def ask(ctx: Context, caller: Caller, record_id: str, *, now: datetime | None = None,
        send: Sender = mail.send) -> str:
    """The console's one click for one contact point: a reminder of its open request, else a new request.
    Returns what happened: sent, bounced or failed."""
    now = now or utcnow()
    if not mail.configured(ctx.settings):
        raise MailNotConfigured("REGISTRY_SMTP_URL is not set: verification messages cannot be sent.")
    req = models.VerificationRequest
    with ctx.db.write() as session:
        row = find_row(session, "contact_point", record_id)
        require(caller, "network:verify", network=row.owner_network)
        if row.origin != ctx.settings.node_id or row.deleted or not address_of(row.body):
            raise Conflict(f"{record_id} is not a live contact point of this node with an e-mail address")
        request = session.scalar(select(req).where(req.record_id == record_id).order_by(req.id.desc()).limit(1))
        reminder = bool(request and request.outcome is None and request.sent_at is not None
                        and request.email == address_of(row.body))
        request_id = request.id if reminder else _new_request(session, ctx, row, now)
    return _deliver(ctx, request_id, now, reminder=reminder, send=send)


# The link's page

@dataclass(frozen=True)
class Opened:
    request_id: int
    email: str
    network: str
    language: str
    record_id: str
    version: int
    body: dict
    authority_names: dict


def open_link(ctx: Context, token: str, *, now: datetime | None = None) -> Opened:
    """The request a link names and its contact point as it stands, if the link can still be used; LinkProblem
    saying why not otherwise."""
    now = now or utcnow()
    try:
        request_id = _serializer(ctx).loads(token)
    except BadSignature:
        raise LinkProblem("This is not a valid verification link.", "invalid", 404) from None
    if not isinstance(request_id, int):
        raise LinkProblem("This is not a valid verification link.", "invalid", 404)
    with ctx.db.read() as session:
        request = session.get(models.VerificationRequest, request_id)
        if request is None or not hmac.compare_digest(request.token_hash, _hash(token)):
            raise LinkProblem("This is not a valid verification link.", "invalid", 404)
        # A late answer to a request that went unanswered is still welcome while the link lasts.
        if request.outcome not in (None, "unanswered"):
            raise LinkProblem("This verification link has been used already.", "used", 410)
        if request.expires_at <= now:
            raise LinkProblem("This verification link has expired.", "expired", 410)
        row = find_row(session, request.record_type, request.record_id)
        if row.deleted:
            raise LinkProblem("This contact point has been withdrawn.", "used", 410)
        _, names = _names(session, row)
        return Opened(request.id, request.email, request.network, request.language, row.id, row.version,
                      dict(row.body), names)


def confirm(ctx: Context, token: str, expected_version: int, *, now: datetime | None = None) -> int:
    """"All correct": a new version of the record with `verified_at` today, signed and in the change log like
    any other write, in the name of `verification:<address>`. The link is used up. Returns the new version.
    PreconditionFailed when the record changed since the page was shown (the holder confirms what they saw)."""
    now = now or utcnow()
    opened = open_link(ctx, token, now=now)
    actor = f"verification:{opened.email}"
    with ctx.db.write() as session:
        lock_origin(session, ctx.settings.node_id)  # two clicks at once: the second finds the request used
        request = session.get(models.VerificationRequest, opened.request_id)
        if request.outcome not in (None, "unanswered"):
            raise LinkProblem("This verification link has been used already.", "used", 410)
        row = find_row(session, request.record_type, request.record_id)
        if row.version != expected_version:
            raise PreconditionFailed(f"{row.id} changed since the page was shown; check it again.",
                                     current_version=row.version)
        body = row.body | {"verified_at": now.date().isoformat()}
        result = write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                              origin=ctx.settings.node_id, record_type=request.record_type, record_id=row.id,
                              owner_network=row.owner_network, body=body, actor=actor, now=now)
        request.outcome, request.answered_at = "confirmed", now
        version = result.row.version
        session.flush()
        session.expunge(request)
    _audit(ctx, request, "confirmed", by=opened.email,
           detail=f"verified_at {now.date().isoformat()}, version {version}")
    return version


def propose_change(ctx: Context, token: str, text: str, fields: dict, *, now: datetime | None = None) -> int:
    """"Something changed": a proposal for the network's editors, published nowhere. The link is used up.
    Returns the proposal's id."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise InvalidParameter("text", "say what changed")
    if len(text) > PROPOSAL_TEXT_MAX:
        raise InvalidParameter("text", f"at most {PROPOSAL_TEXT_MAX} characters")
    kept = {}
    for name, length in PROPOSAL_FIELDS.items():
        value = (fields.get(name) or "").strip()
        if len(value) > length:
            raise InvalidParameter(name, f"at most {length} characters")
        if value:
            kept[name] = value
    opened = open_link(ctx, token, now=now)
    with ctx.db.write() as session:
        request = session.get(models.VerificationRequest, opened.request_id, with_for_update=True)
        if request.outcome not in (None, "unanswered"):
            raise LinkProblem("This verification link has been used already.", "used", 410)
        proposal = models.ChangeProposal(request_id=request.id, record_id=request.record_id, network=request.network,
                                         submitted_by=request.email, text=text, fields=kept, submitted_at=now,
                                         status="open")
        session.add(proposal)
        request.outcome, request.answered_at = "changed", now
        session.flush()
        proposal_id = proposal.id
        session.expunge(request)
    _audit(ctx, request, "change proposed", by=opened.email, detail=f"proposal {proposal_id}")
    return proposal_id


# The editors' side of proposals

def _proposal_dict(row: models.ChangeProposal) -> dict:
    return {"id": row.id, "record_id": row.record_id, "network": row.network, "submitted_by": row.submitted_by,
            "text": row.text, "fields": row.fields, "submitted_at": row.submitted_at, "status": row.status,
            "reviewed_by": row.reviewed_by, "reviewed_at": row.reviewed_at}


def proposals(ctx: Context, caller: Caller, network: str, *, status: str | None = "open") -> list[dict]:
    require(caller, "network:verify", network=network)
    cp = models.ChangeProposal
    query = select(cp).where(cp.network == network)
    if status:
        query = query.where(cp.status == status)
    with ctx.db.read() as session:
        return [_proposal_dict(r) for r in session.scalars(query.order_by(cp.submitted_at, cp.id))]


def review(ctx: Context, caller: Caller, proposal_id: int, accept: bool, *, now: datetime | None = None) -> dict:
    """An editor's decision. Accepting says the editor took the proposal into the record (with the console's
    edit form) and checked the rest: the record is marked verified today in the editor's name. Dismissing
    changes no record."""
    now = now or utcnow()
    with ctx.db.write() as session:
        proposal = session.get(models.ChangeProposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        require(caller, "record:write", owner_network=proposal.network)
        if proposal.status != "open":
            raise Conflict(f"proposal {proposal_id} was {proposal.status} already")
        proposal.status = "accepted" if accept else "dismissed"
        proposal.reviewed_by, proposal.reviewed_at = caller.actor, now
        if accept:
            row = find_row(session, "contact_point", proposal.record_id)
            if row.origin == ctx.settings.node_id and not row.deleted:
                write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                             origin=ctx.settings.node_id, record_type="contact_point", record_id=row.id,
                             owner_network=row.owner_network, body=row.body | {"verified_at": now.date().isoformat()},
                             actor=caller.actor, caller=caller, now=now)
        session.flush()
        result = _proposal_dict(proposal)
    audit.record(ctx, client_id=caller.client_id, person=caller.person, address=None, method="VERIFY",
                 route=f"proposal {result['status']}", status=200, record_id=result["record_id"],
                 detail=f"proposal {proposal_id} from {result['submitted_by']}")
    return result


# Bounces

@dataclass(frozen=True)
class Bounce:
    record_id: str
    email: str
    diagnostic: str


def _parts(message: Message, content_type: str) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def _original_headers(report: Message) -> Message | None:
    for part in _parts(report, "message/rfc822"):
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
    for part in _parts(report, "text/rfc822-headers"):
        return email.message_from_string(part.get_payload(decode=True).decode("utf-8", "replace"))
    return None


def _failure(report: Message) -> str | None:
    """The diagnostic of the first recipient whose delivery failed, or None when none did (a delay or a
    delivery report is no bounce)."""
    for part in _parts(report, "message/delivery-status"):
        for block in part.get_payload() or []:
            if str(block.get("Action", "")).strip().lower() == "failed":
                return " ".join(str(block.get("Diagnostic-Code") or block.get("Status") or "failed").split())[:500]
    return None


def read_bounces(ctx: Context, *, now: datetime | None = None, maildir: str | None = None) -> list[Bounce]:
    """Read the delivery-status notifications (RFC 3464) in REGISTRY_BOUNCE_MAILDIR: each failed delivery of a
    verification message marks its request bounced. A message read is marked seen and left in the mailbox, so
    reading again finds only the new ones."""
    now = now or utcnow()
    folder = maildir or ctx.settings.bounce_maildir
    if not folder:
        raise InvalidParameter("maildir", "REGISTRY_BOUNCE_MAILDIR is not set")
    try:
        box = mailbox.Maildir(folder, factory=None, create=False)
        keys = box.keys()
    except OSError as exc:
        raise InvalidParameter("maildir", f"{folder}: {exc}") from None
    found = []
    req = models.VerificationRequest
    for key in keys:
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        if message.get_content_type() == "multipart/report" and \
                (message.get_param("report-type") or "").lower() == "delivery-status":
            original, diagnostic = _original_headers(message), _failure(message)
            if original is not None and diagnostic is not None:
                reference = (original.get(HEADER) or "").strip()
                message_id = (original.get("Message-ID") or "").strip()
                with ctx.db.write() as session:
                    request = session.scalar(select(req).where(or_(
                        req.reference == reference if reference else False,
                        req.message_id == message_id if message_id else False)).limit(1))
                    if request is not None and request.outcome in (None, "unanswered"):
                        request.outcome, request.answered_at, request.failure = "bounced", now, diagnostic
                        session.flush()
                        session.expunge(request)
                    else:
                        request = None
                if request is not None:
                    _audit(ctx, request, "bounced", status=502, detail=diagnostic)
                    found.append(Bounce(request.record_id, request.email, diagnostic))
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    return found


# The messages, in each language a contact point may be asked in.
MAIL = {
    "en": {
        "subject": "Is your entry in the contact-point registry still correct?",
        "reminder": "Reminder:",
        "text": """Dear colleague,

The {network} network keeps its directory of contact points true by asking each of them, once a year,
whether their entry is still correct. This message concerns:

    {position}, {authority}

Please open this link, check the entry and answer with one click ("All correct") or tell us what changed:

{link}

No account is needed. The link works once, until {expires}.

Contact-point registry, {node}
""",
    },
    "fr": {
        "subject": "Votre fiche dans le registre des points de contact est-elle toujours exacte ?",
        "reminder": "Rappel :",
        "text": """Madame, Monsieur,

Le réseau {network} tient à jour son répertoire des points de contact en demandant à chacun, une fois par an,
si sa fiche est toujours exacte. Ce message concerne :

    {position}, {authority}

Veuillez ouvrir ce lien, vérifier la fiche et répondre d'un clic (« Tout est exact ») ou nous dire ce qui a changé :

{link}

Aucun compte n'est nécessaire. Le lien ne sert qu'une fois, jusqu'au {expires}.

Registre des points de contact, {node}
""",
    },
    "ru": {
        "subject": "Актуальна ли ваша запись в реестре контактных лиц?",
        "reminder": "Напоминание:",
        "text": """Уважаемый коллега!

Сеть {network} поддерживает актуальность своего справочника контактных лиц, раз в год спрашивая каждое из них,
верна ли его запись. Это сообщение касается:

    {position}, {authority}

Пожалуйста, откройте ссылку, проверьте запись и ответьте одним нажатием («Всё верно») или сообщите, что изменилось:

{link}

Учётная запись не нужна. Ссылка действует один раз, до {expires}.

Реестр контактных лиц, {node}
""",
    },
    "es": {
        "subject": "¿Sigue siendo correcta su ficha en el registro de puntos de contacto?",
        "reminder": "Recordatorio:",
        "text": """Estimado/a colega:

La red {network} mantiene al día su directorio de puntos de contacto preguntando a cada uno, una vez al año,
si su ficha sigue siendo correcta. Este mensaje se refiere a:

    {position}, {authority}

Abra este enlace, revise la ficha y responda con un clic («Todo es correcto») o díganos qué ha cambiado:

{link}

No se necesita ninguna cuenta. El enlace sirve una sola vez, hasta el {expires}.

Registro de puntos de contacto, {node}
""",
    },
    "pt": {
        "subject": "A sua entrada no registo de pontos de contacto continua correta?",
        "reminder": "Lembrete:",
        "text": """Caro/a colega,

A rede {network} mantém atualizado o seu diretório de pontos de contacto perguntando a cada um, uma vez por ano,
se a sua entrada continua correta. Esta mensagem diz respeito a:

    {position}, {authority}

Abra esta ligação, verifique a entrada e responda com um clique («Está tudo correto») ou diga-nos o que mudou:

{link}

Não é necessária nenhuma conta. A ligação funciona uma vez, até {expires}.

Registo de pontos de contacto, {node}
""",
    },
}
