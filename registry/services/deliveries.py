"""Delivering webhook notifications: `deliver_once` is one round over the subscriptions.

A notification is thin: how many changes a subscription's filters let through at its owner's tier,
between two cursors, and the feed URL that lists them; never record content, so a receiver reads the
records with its own token and a notification that goes astray tells nothing. It is signed the
Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

Delivery is at least once. A notification is kept on its subscription until a receiver answers 2xx,
and every retry sends the same message id and body, so a receiver can drop repeats by `webhook-id`.
A failure (no connection, a timeout, any other status, a redirect) is retried with exponential
backoff and full jitter, later if the receiver's Retry-After asks; after MAX_FAILURES failures in a
row, or at once on a 410 Gone, the subscription is disabled (its cursor stays, so re-enabling it
resumes where it stopped).

One deliverer per subscription across processes: a subscription is claimed in a short write
transaction that moves `next_attempt_at` past the time a delivery can take (PostgreSQL skips rows
another deliverer has locked; SQLite's write transactions take turns), and the HTTP request runs
outside any transaction. A deliverer that dies leaves the claim to expire.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import orjson
from sqlalchemy import delete, func, or_, select
from standardwebhooks import Webhook

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.outbound import Outbound, OutboundError
from registry.permissions import Caller
from registry.services import feeds, watching
from registry.services.subscriptions import position, signing_secrets

EVENT_TYPE = "directory.changed"
RESPONSE_MAX_BYTES = 64 * 1024
# Changes counted in one notification; a longer backlog takes one notification per round.
NOTIFY_MAX = 1000
MAX_FAILURES = 10
# Retries wait up to 5 minutes after the first failure, doubling to at most 6 hours: ten failures in
# a row take about half a day to a day before the subscription is disabled.
RETRY_BASE, RETRY_MAX = 300, 6 * 3600
# A Retry-After is honoured up to a day; a larger one is taken as a day.
LONGEST_RETRY_AFTER = 24 * 3600
# Time a claim allows beyond the request timeout (reading the arrivals, writing the outcome).
CLAIM_MARGIN = 60
DELIVERY_LOG_KEEP = 1000


@dataclass
class Attempt:
    """What one delivery attempt did, for the CLI."""

    subscription_id: str
    url: str
    message_id: str
    attempt: int
    count: int
    status: int | None = None
    error: str | None = None
    duration_ms: int = 0
    disabled_reason: str | None = None
    next_attempt_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return self.__dict__ | {"delivered": self.delivered,
                                "next_attempt_at": self.next_attempt_at and iso(self.next_attempt_at)}


@dataclass(frozen=True)
class _Claim:
    id: str
    version: int
    owner: Caller
    url: str
    filters: dict
    cursor: int
    failures: int
    signing_secrets: list[str]
    pending: tuple[str, str, int] | None  # message id, body, cursor


@dataclass(frozen=True)
class _Notification:
    message_id: str
    body: bytes
    cursor: int
    count: int


def deliver_once(ctx: Context, now: datetime | None = None) -> list[Attempt]:
    """One round: every active, due subscription of an enabled client with something new for it gets
    one notification, or the retry of the one it has pending. `now` decides what is due (tests)."""
    now = now or utcnow()
    attempts, after_id = [], ""
    while (claim := _claim(ctx, now, after_id)) is not None:
        after_id = claim.id
        notification = _notification(ctx, claim, now)
        if notification is not None:
            attempts.append(_deliver(ctx, claim, notification, now))
    return attempts


def watch(ctx: Context, *, on_round: Callable[[list[Attempt]], None], stop: Callable[[], bool],
          sleep: Callable = time.sleep, **announce: Callable[[], None]) -> None:
    """Rounds every REGISTRY_SYNC_INTERVAL seconds until `stop()`, one such loop per database."""
    watching.watch(ctx, "deliver", work=lambda: deliver_once(ctx), on_round=on_round, stop=stop, sleep=sleep,
                   **announce)


def failure_counts(ctx: Context) -> dict[str, int]:
    """Subscriptions active, failing (active, last delivery failed) and disabled, and the attempts that
    failed in the last hour: what an operator watches."""
    subscription, delivery = models.Subscription, models.Delivery
    with ctx.db.read() as session:
        by_state = dict(session.execute(
            select(subscription.active, func.count()).group_by(subscription.active)).all())
        failing = session.scalar(select(func.count()).select_from(subscription)
                                 .where(subscription.active.is_(True), subscription.failures > 0))
        failed = session.scalar(select(func.count()).select_from(delivery)
                                .where(delivery.error.is_not(None), delivery.at >= utcnow() - timedelta(hours=1)))
    return {"active": by_state.get(True, 0), "failing": failing, "disabled": by_state.get(False, 0),
            "failed_last_hour": failed}


def _claim(ctx: Context, now: datetime, after_id: str) -> _Claim | None:
    """The next due subscription after `after_id` (in id order, so a round visits each once), claimed."""
    subscription, client = models.Subscription, models.Client
    with ctx.db.write() as session:
        last, _ = position(session)
        found = session.execute(
            select(subscription, client.scope).join(client, client.client_id == subscription.client_id)
            .where(subscription.active.is_(True), client.disabled.is_(False), subscription.id > after_id,
                   or_(subscription.next_attempt_at.is_(None), subscription.next_attempt_at <= now),
                   or_(subscription.pending_message_id.is_not(None), subscription.cursor < last))
            .order_by(subscription.id).limit(1)
            .with_for_update(of=subscription, skip_locked=True)).first()
        if found is None:
            return None
        row, scope = found
        row.next_attempt_at = now + timedelta(seconds=ctx.settings.federation_timeout + CLAIM_MARGIN)
        pending = (row.pending_message_id, row.pending_payload, row.pending_cursor) if row.pending_message_id else None
        return _Claim(id=row.id, version=row.version, owner=Caller(row.client_id, frozenset(scope.split())),
                      url=row.url, filters=row.filters, cursor=row.cursor, failures=row.failures,
                      signing_secrets=signing_secrets(ctx, row, now), pending=pending)


def _notification(ctx: Context, claim: _Claim, now: datetime) -> _Notification | None:
    """The pending notification, or a new one for the arrivals after the cursor that the filters and
    the owner's tier let through; None when there are none (the cursor then moves past them)."""
    if claim.pending is not None:
        message_id, body, cursor = claim.pending
        return _Notification(message_id, body.encode(), cursor, orjson.loads(body)["data"]["count"])
    arrival = models.Arrival
    with ctx.db.read() as session:
        last, epoch = position(session)
        # The feed's own rule, so the count is what the changes URL will show this client.
        numbers = session.scalars(
            _matching(claim.filters).with_only_columns(arrival.number)
            .where(arrival.number > claim.cursor, arrival.number <= last, feeds.visible_to(claim.owner))
            .order_by(arrival.number).limit(NOTIFY_MAX)).all()
    count, reached = len(numbers), (numbers[-1] if numbers else claim.cursor)
    if count == 0:
        _update(ctx, claim, cursor=last, next_attempt_at=None)
        return None
    body = _payload(ctx, claim, epoch, reached, count, now)
    notification = _Notification(f"msg_{secrets.token_urlsafe(18)}", body, reached, count)
    # Kept before it is sent: a retry, also by another process after this one died, sends the same message.
    stored = _update(ctx, claim, pending_message_id=notification.message_id, pending_payload=body.decode(),
                     pending_cursor=reached)
    return notification if stored else None


def _payload(ctx: Context, claim: _Claim, epoch: str, reached: int, count: int, now: datetime) -> bytes:
    """The notification: no record content, only where to read the changes (the filters as the feed takes them)."""
    after, upto = (feeds.encode_cursor(ctx, epoch, number) for number in (claim.cursor, reached))
    wanted = claim.filters
    query = [("after", after), *(("network", n) for n in wanted["networks"]),
             *(("country", c) for c in wanted["countries"]), *(("type", t) for t in wanted["types"])]
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": iso(now), "data": {
        "subscription_id": claim.id, "after": after, "cursor": upto, "count": count,
        "changes": f"{ctx.settings.public_url}/api/v1/feeds/changes?{urlencode(query)}"}})


def _matching(wanted: dict):
    return feeds.FeedFilters(**{name: tuple(values) for name, values in wanted.items()}).apply(select(models.Arrival))


def _deliver(ctx: Context, claim: _Claim, notification: _Notification, now: datetime) -> Attempt:
    # The real time, whatever `now` says: receivers refuse a timestamp far from their clock (5 minutes).
    sent_at = datetime.fromtimestamp(int(time.time()), UTC)
    text = notification.body.decode()
    headers = {"Content-Type": "application/json", "webhook-id": notification.message_id,
               "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": " ".join(Webhook(secret).sign(notification.message_id, sent_at, text)
                                             for secret in claim.signing_secrets)}
    attempt = Attempt(claim.id, claim.url, notification.message_id, claim.failures + 1, notification.count)
    retry_after = None
    started = time.monotonic()
    try:
        response = ctx.outbound.request("POST", claim.url, headers=headers,
                                                               body=notification.body, max_bytes=RESPONSE_MAX_BYTES)
        attempt.status = response.status
        if not 200 <= response.status < 300:
            text = response.body[:200].decode("utf-8", "replace")
            excerpt = " ".join("".join(c if c.isprintable() else " " for c in text).split())
            attempt.error = f"answered {response.status}" + (f": {excerpt}" if excerpt else "")
            retry_after = Outbound.retry_after(response)
    except OutboundError as exc:
        attempt.status, attempt.error, retry_after = exc.status, str(exc), exc.retry_after
    attempt.duration_ms = round((time.monotonic() - started) * 1000)
    _record(ctx, claim, notification, attempt, retry_after, now)
    return attempt


def _record(ctx: Context, claim: _Claim, notification: _Notification, attempt: Attempt, retry_after: float | None,
            now: datetime) -> None:
    """Log the attempt and, unless the subscription changed meanwhile, move it on or put it off."""
    with ctx.db.write() as session:
        row = session.get(models.Subscription, claim.id)
        if row is None:  # deleted while the request ran: no log left to write to
            return
        session.add(models.Delivery(subscription_id=row.id, message_id=attempt.message_id, attempt=attempt.attempt,
                                    at=utcnow(), cursor=notification.cursor, status=attempt.status,
                                    error=attempt.error, duration_ms=attempt.duration_ms))
        _prune_log(session, row.id)
        if row.version != claim.version:  # its new url or filters start afresh (the change dropped this message)
            return
        if attempt.delivered:
            row.cursor = max(row.cursor, notification.cursor)
            row.failures = 0
            row.pending_message_id = row.pending_payload = row.pending_cursor = row.next_attempt_at = None
            return
        row.failures += 1
        if attempt.status == 410 or row.failures >= MAX_FAILURES:
            row.active, row.next_attempt_at = False, None
            row.disabled_reason = ("the receiver answered 410 Gone" if attempt.status == 410 else
                                   f"{row.failures} deliveries in a row failed, the last: {attempt.error}")
            attempt.disabled_reason = row.disabled_reason
            return
        row.next_attempt_at = attempt.next_attempt_at = now + timedelta(seconds=_backoff(row.failures, retry_after))


def _backoff(failures: int, retry_after: float | None) -> float:
    # Full jitter: receivers that failed together (one outage) do not all come back at the same moment.
    delay = random.uniform(0, min(RETRY_BASE * 2 ** (failures - 1), RETRY_MAX))
    return max(delay, min(retry_after or 0, LONGEST_RETRY_AFTER))


def _update(ctx: Context, claim: _Claim, *, cursor: int | None = None, **values) -> bool:
    """Set `values` (and move the cursor forward to `cursor`) unless the subscription changed since
    it was claimed; whether it was set."""
    with ctx.db.write() as session:
        row = session.get(models.Subscription, claim.id)
        if row is None or row.version != claim.version:
            return False
        if cursor is not None:
            row.cursor = max(row.cursor, cursor)
        for name, value in values.items():
            setattr(row, name, value)
        return True


def _prune_log(session, subscription_id: str) -> None:
    delivery = models.Delivery
    oldest_kept = session.scalar(select(delivery.id).where(delivery.subscription_id == subscription_id)
                                 .order_by(delivery.id.desc()).offset(DELIVERY_LOG_KEEP - 1).limit(1))
    if oldest_kept is not None:
        session.execute(delete(delivery).where(delivery.subscription_id == subscription_id,
                                               delivery.id < oldest_kept))
