"""Webhook subscriptions: a partner system asks to be told when the directory changes.

A subscription belongs to the client that created it (another client's is "not found", so its
existence does not leak; an admin sees every one). It names a URL, filters (networks, countries,
record types) and starts at the current end of the arrival log: it is told of what arrives after.
Notifications are thin (how many changes, and the feed URL to read them from) and signed the
Standard Webhooks way with a secret shown only at creation and rotation; registry.services.deliveries
sends them.

The URL is checked with the outbound rules when it is set (http(s), no private address unless
allowed), and again at every delivery, since what a name resolves to can change.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from registry import models
from registry.context import Context
from registry.db import iso, utcnow
from registry.errors import Conflict, InvalidParameter, NotFound, PreconditionFailed, PreconditionRequired
from registry.outbound import OutboundError
from registry.permissions import Caller, allows, require
from registry.record_types import RECORD_TYPES
from registry.services import filters
from registry.services.feeds import encode_cursor

# After a rotation the previous secret signs beside the new one this long, so a receiver can switch
# over without losing a notification.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL_LENGTH = 2000
MAX_FILTER_VALUES = 50
MAX_DELIVERIES_SHOWN = 1000
FILTERS = ("networks", "countries", "types")


def create(ctx: Context, caller: Caller, url: str, networks: list[str], countries: list[str],
           types: list[str]) -> dict:
    """A new subscription of the caller's, with its secret (the only time it is shown)."""
    require(caller, "subscriptions:create")
    url = _checked_url(ctx, url)
    wanted = _resolve_filters(ctx, {"networks": networks, "countries": countries, "types": types})
    secret = _new_secret()
    with ctx.db.write() as session:
        _refuse_duplicate(session, caller.client_id, url, wanted, None)
        last, epoch = position(session)
        row = models.Subscription(
            id=f"sub_{secrets.token_hex(12)}", client_id=caller.client_id, url=url, filters=wanted,
            secret=ctx.secrets.encrypt(secret), active=True, cursor=last, failures=0,
            created_at=utcnow(), version=1)
        session.add(row)
        session.flush()
        return present(ctx, row, epoch) | {"secret": secret}


def list_subscriptions(ctx: Context, caller: Caller) -> list[dict]:
    """The caller's subscriptions; every client's for an admin."""
    require(caller, "subscriptions:manage")
    if allows(caller, "subscriptions:manage-any"):
        return all_subscriptions(ctx)
    with ctx.db.read() as session:
        _, epoch = position(session)
        rows = session.scalars(select(models.Subscription).where(models.Subscription.client_id == caller.client_id)
                               .order_by(models.Subscription.created_at, models.Subscription.id))
        return [present(ctx, row, epoch) for row in rows]


def all_subscriptions(ctx: Context) -> list[dict]:
    with ctx.db.read() as session:
        _, epoch = position(session)
        rows = session.scalars(select(models.Subscription).order_by(models.Subscription.client_id,
                                                                    models.Subscription.created_at))
        return [present(ctx, row, epoch) for row in rows]


def read(ctx: Context, caller: Caller, subscription_id: str) -> dict:
    with ctx.db.read() as session:
        row = _find(session, caller, subscription_id)
        return present(ctx, row, position(session)[1])


def update(ctx: Context, caller: Caller, subscription_id: str, changes: dict, expected_version: int | None) -> dict:
    """Change `url`, `networks`, `countries`, `types` or `active`. `active: true` re-enables a
    subscription the deliverer disabled, from where it stopped; `false` pauses it. A change drops
    the notification being retried: the next one is made afresh under the new settings."""
    require(caller, "subscriptions:manage")
    url = _checked_url(ctx, changes["url"]) if "url" in changes else None
    given = _resolve_filters(ctx, {name: changes[name] for name in FILTERS if name in changes})
    with ctx.db.write() as session:
        row = _find(session, caller, subscription_id)
        _check_version(row, expected_version)
        wanted = row.filters | given
        changed = wanted != row.filters or url not in (None, row.url)
        if changed:
            _refuse_duplicate(session, row.client_id, url or row.url, wanted, row.id)
        if url not in (None, row.url):
            row.url, row.failures = url, 0  # they were the old receiver's failures
        row.filters = wanted
        active = changes.get("active", row.active)
        if active != row.active:
            changed = True
            row.active, row.failures = active, 0
            row.disabled_reason = None if active else f"paused by the client {caller.client_id}"
        if changed:
            row.version += 1
            row.pending_message_id = row.pending_payload = row.pending_cursor = row.next_attempt_at = None
        session.flush()
        return present(ctx, row, position(session)[1])


def delete(ctx: Context, caller: Caller, subscription_id: str, expected_version: int | None) -> None:
    """Remove the subscription and its delivery log."""
    with ctx.db.write() as session:
        row = _find(session, caller, subscription_id)
        _check_version(row, expected_version)
        session.delete(row)


def rotate_secret(ctx: Context, caller: Caller, subscription_id: str) -> dict:
    """A new secret, returned this once; the one it replaces keeps signing beside it for a day."""
    secret = _new_secret()
    stored = ctx.secrets
    with ctx.db.write() as session:
        row = _find(session, caller, subscription_id)
        row.previous_secret, row.previous_secret_until = row.secret, utcnow() + ROTATION_OVERLAP
        row.secret = stored.encrypt(secret)
        session.flush()
        return present(ctx, row, position(session)[1]) | {"secret": secret}


def deliveries(ctx: Context, caller: Caller, subscription_id: str, limit: int) -> list[dict]:
    """The subscription's delivery attempts, newest first."""
    if not 1 <= limit <= MAX_DELIVERIES_SHOWN:
        raise InvalidParameter("limit", f"between 1 and {MAX_DELIVERIES_SHOWN}")
    with ctx.db.read() as session:
        row = _find(session, caller, subscription_id)
        _, epoch = position(session)
        found = session.scalars(select(models.Delivery).where(models.Delivery.subscription_id == row.id)
                                .order_by(models.Delivery.id.desc()).limit(limit))
        return [{"id": d.id, "message_id": d.message_id, "attempt": d.attempt, "at": iso(d.at),
                 "cursor": encode_cursor(ctx, epoch, d.cursor), "status": d.status,
                 "error": d.error, "duration_ms": d.duration_ms} for d in found]


def present(ctx: Context, row: models.Subscription, epoch: str) -> dict:
    """The subscription as its owner (or an admin) sees it: never a secret."""
    overlap = row.previous_secret_until if row.previous_secret else None
    return {"id": row.id, "client_id": row.client_id, "url": row.url, "filters": row.filters, "active": row.active,
            "disabled_reason": row.disabled_reason, "cursor": encode_cursor(ctx, epoch, row.cursor),
            "failures": row.failures, "next_attempt_at": row.next_attempt_at and iso(row.next_attempt_at),
            "previous_secret_until": iso(overlap) if overlap and overlap > utcnow() else None,
            "created_at": iso(row.created_at), "version": row.version}


def signing_secrets(ctx: Context, row: models.Subscription, now: datetime) -> list[str]:
    """The secrets to sign with now: the current one, and the previous one during its overlap."""
    stored = ctx.secrets
    found = [stored.decrypt(row.secret)]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
        found.append(stored.decrypt(row.previous_secret))
    return found


def _new_secret() -> str:
    # Standard Webhooks: "whsec_" and the base64 of the key; 256 bits like our other secrets.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_url(ctx: Context, url: str) -> str:
    url = url.strip()
    if not 1 <= len(url) <= MAX_URL_LENGTH:
        raise InvalidParameter("url", f"an http(s) URL of at most {MAX_URL_LENGTH} characters")
    try:
        ctx.outbound.check_url(url)
    except OutboundError as exc:  # refused by a rule, or a name that does not resolve
        raise InvalidParameter("url", str(exc)) from None
    return url


def _resolve_filters(ctx: Context, given: dict[str, list[str]]) -> dict[str, list[str]]:
    """Codes for what partners type (a network's name, a country in any language), sorted and unique."""
    resolvers = {"networks": lambda v: filters.network(ctx, v, "networks"),
                 "countries": lambda v: filters.country(ctx, v, "countries"),
                 "types": lambda v: filters.choice(v, list(RECORD_TYPES), "types", "record type")}
    for name, values in given.items():
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidParameter(name, f"at most {MAX_FILTER_VALUES} values")
    return {name: sorted({resolvers[name](v) for v in values}) for name, values in given.items()}


def _refuse_duplicate(session, client_id: str, url: str, wanted: dict, own_id: str | None) -> None:
    """Two subscriptions of one client to one URL with the same filters would notify it twice."""
    same = session.scalars(select(models.Subscription).where(models.Subscription.client_id == client_id,
                                                             models.Subscription.url == url))
    for other in same:
        if other.id != own_id and other.filters == wanted:
            raise Conflict(f"the subscription {other.id} already sends these notifications to {url}",
                           subscription_id=other.id)


def _find(session, caller: Caller, subscription_id: str) -> models.Subscription:
    require(caller, "subscriptions:manage")
    row = session.get(models.Subscription, subscription_id)
    if row is None or (row.client_id != caller.client_id and not allows(caller, "subscriptions:manage-any")):
        raise NotFound(f"no subscription {subscription_id!r}")
    return row


def _check_version(row: models.Subscription, expected_version: int | None) -> None:
    if expected_version is None:
        raise PreconditionRequired("Send If-Match with the subscription's current ETag (from a GET) so that a "
                                   "change made meanwhile is not overwritten.")
    if row.version != expected_version:
        raise PreconditionFailed(f"{row.id} is at version {row.version}, not {expected_version}: it changed since "
                                 "you read it. Read it again and send the new ETag.", current_version=row.version)


def position(session) -> tuple[int, str]:
    """The last arrival number and the log's epoch (what cursors are made of)."""
    counter = session.get(models.ArrivalCounter, 1)
    return (counter.last, counter.epoch) if counter else (0, "0")
