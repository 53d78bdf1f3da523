"""Feeds for partner systems: every change this node holds, in arrival order, and the
whole directory at one cursor, each at the caller's visibility tier.

A cursor is opaque to partners: the node id, the arrival log's epoch and an arrival number sealed
with a key of this node (AES-SIV: the same position always gives the same cursor, and nobody else can
read or forge one), in base64url. Visibility is applied before the page is cut, and a cursor moves
only over what the caller may see: neither the cursors nor the pages tell how many arrivals above
the caller's tier came in between. A cursor of another node, or of this node's database before it
was rebuilt, is a 410 that says to bootstrap again from the directory feed.

The envelope rule: an item carries the origin's signed envelope only when the caller may see the
whole record (the restricted tier, or a publisher of its network), since the envelope holds every
field. Below that, the item carries the record redacted to the caller's tier and no envelope: a
signature over fields the caller may not read cannot be checked, and a redacted copy cannot carry one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from sqlalchemy import or_, select

from registry import models
from registry.context import Context
from registry.crypto.envelope import claims_unverified
from registry.db import iso
from registry.errors import CursorGone, InvalidParameter
from registry.permissions import Caller
from registry.record_types import RECORD_TYPES
from registry.services import filters
from registry.services.records import represent
from registry.visibility import Tier

MAX_LIMIT = 1000
DIRECTORY_BATCH = 1000


@dataclass(frozen=True)
class FeedFilters:
    """What a partner follows (resolved codes; see `resolve_filters`): an arrival passes when it
    belongs to any of the networks, any of the countries and any of the types given."""

    networks: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    def apply(self, query):
        arrival = models.Arrival
        if self.networks:
            query = query.where(or_(*(arrival.networks.contains(f" {code} ") for code in self.networks)))
        if self.countries:
            query = query.where(arrival.country.in_(self.countries))
        if self.types:
            query = query.where(arrival.type.in_(self.types))
        return query


def resolve_filters(ctx: Context, networks: list[str] | None, countries: list[str] | None,
                    types: list[str] | None) -> FeedFilters:
    """Filters as partners type them (a network's code or name, a country in any spelling, record types)."""
    return FeedFilters(
        networks=tuple(sorted({filters.network(ctx, n) for n in networks or []})),
        countries=tuple(sorted({filters.country(ctx, c) for c in countries or []})),
        types=tuple(sorted({filters.choice(t, list(RECORD_TYPES), "type", "record type") for t in types or []})))


def _cursor_cipher(ctx: Context) -> AESSIV:
    cipher = _CURSOR_CIPHERS.get(ctx.settings.instance_path)
    if cipher is None:
        key = ctx.secrets.derived_key("feed-cursors", length=64)
        cipher = _CURSOR_CIPHERS[ctx.settings.instance_path] = AESSIV(key)
    return cipher


_CURSOR_CIPHERS: dict[str, AESSIV] = {}


def encode_cursor(ctx: Context, epoch: str, number: int) -> str:
    head = f"{ctx.settings.node_id}.{epoch}."
    sealed = _cursor_cipher(ctx).encrypt(number.to_bytes(8, "big"), [head.encode()])
    return base64.urlsafe_b64encode(head.encode() + sealed).rstrip(b"=").decode()


def decode_cursor(ctx: Context, cursor: str, epoch: str) -> int:
    """The arrival number of a cursor this node issued; CursorGone for another node's or epoch's."""
    invalid = InvalidParameter("after", "a cursor this feed returned (next_cursor)")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        node_id, cursor_epoch, sealed = raw.split(b".", 2)
        node_id, cursor_epoch = node_id.decode(), cursor_epoch.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if node_id != ctx.settings.node_id or cursor_epoch != epoch:
        issuer = "another node" if node_id != ctx.settings.node_id else "an earlier database of this node"
        raise CursorGone(f"this cursor was issued by {issuer}; bootstrap again from /api/v1/feeds/directory.ndjson "
                         "and follow the changes from the cursor it ends with.",
                         bootstrap="/api/v1/feeds/directory.ndjson")
    try:
        opened = _cursor_cipher(ctx).decrypt(sealed, [f"{node_id}.{cursor_epoch}.".encode()])
    except InvalidTag:
        raise invalid from None
    return int.from_bytes(opened, "big")


def visible_to(caller: Caller):
    """The arrivals `caller` may see, as a clause: those of a tier up to the caller's, and every one of the
    networks it publishes for (a deletion has the tier of the record's last live version)."""
    arrival = models.Arrival
    clause = arrival.tier <= int(caller.tier)
    if caller.published_networks:
        clause = or_(clause, arrival.owner_network.in_(sorted(caller.published_networks)))
    return clause


def changes(ctx: Context, caller: Caller, after: str | None, limit: int, wanted: FeedFilters) -> dict:
    """Up to `limit` arrivals after the cursor that pass the filters and that the caller may see, oldest
    first. The next cursor is the last item's, or the one given when there is none."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"between 1 and {MAX_LIMIT}")
    arrival = models.Arrival
    with ctx.db.read() as session:
        last, epoch = _position(session)
        start = 0 if after is None else decode_cursor(ctx, after, epoch)
        if start > last:
            raise InvalidParameter("after", "a cursor this feed returned (it points past the end of the log)")
        query = wanted.apply(select(arrival).where(arrival.number > start, visible_to(caller))
                             .order_by(arrival.number).limit(limit + 1))
        found = session.scalars(query).all()
        more = len(found) > limit
        found = found[:limit]
        items = [item for item in (visible_item(ctx, caller, a, epoch) for a in found) if item is not None]
    reached = found[-1].number if found else start
    return {"items": items, "next_cursor": encode_cursor(ctx, epoch, reached), "has_more": more}


def directory_etag(ctx: Context, caller: Caller) -> str:
    """Changes with every arrival and differs between every two views of the directory (each tier, and
    each set of networks a publisher sees in full), so a 304 never crosses from one view to another."""
    with ctx.db.read() as session:
        last, epoch = _position(session)
    view = hashlib.blake2b(" ".join([caller.tier.name, *sorted(caller.published_networks)]).encode(),
                           digest_size=6).hexdigest()
    return f'"{ctx.settings.node_id}-{epoch}-{last}-{view}"'


def directory(ctx: Context, caller: Caller) -> Iterator[bytes]:
    """NDJSON: every live record at the caller's tier (with its envelope where the tier allows),
    read in one transaction, then `{"cursor": ..., "count": ...}` to follow the changes from."""
    with ctx.db.read() as session:
        if session.bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        last, epoch = _position(session)
        count = 0
        for record_type in RECORD_TYPES.values():
            model = record_type.model
            rows = session.scalars(select(model).where(model.deleted.is_(False)).order_by(model.id)
                                   .execution_options(yield_per=DIRECTORY_BATCH))
            for row in rows:
                line = _line(caller, record_type.name, row, row.envelope)
                if line is not None:
                    count += 1
                    yield orjson.dumps(line) + b"\n"
                session.expunge(row)
        yield orjson.dumps({"cursor": encode_cursor(ctx, epoch, last), "count": count}) + b"\n"


def _position(session) -> tuple[int, str]:
    counter = session.get(models.ArrivalCounter, 1)
    return (counter.last, counter.epoch) if counter else (0, "0")


def visible_item(ctx: Context, caller: Caller, arrival: models.Arrival, epoch: str) -> dict | None:
    """One arrival that `visible_to(caller)` lets through, as the caller may see it. The origin's seq
    comes with the envelope only: between the versions a caller below the restricted tier sees, the
    origin's seq would count those it may not see."""
    head = {"cursor": encode_cursor(ctx, epoch, arrival.number), "arrived_at": iso(arrival.arrived_at),
            "origin": arrival.origin, "id": arrival.record_id, "type": arrival.type,
            "version": arrival.version, "deleted": arrival.deleted, "removed": arrival.removed}
    if arrival.envelope is None:
        return head | {"record": None}
    claims = claims_unverified(arrival.envelope)
    row = SimpleNamespace(id=arrival.record_id, origin=arrival.origin, owner_network=arrival.owner_network,
                          version=arrival.version, updated_at=datetime.fromisoformat(claims["updated_at"]),
                          deleted=arrival.deleted, body=claims["body"])
    line = _line(caller, arrival.type, row, arrival.envelope)
    if line is None:  # the tier column and the body disagree (a policy changed since): show nothing
        return None
    if "envelope" in line:
        head["seq"] = arrival.seq
    return head | line


def _line(caller: Caller, record_type: str, row, signed: str | None) -> dict | None:
    tier = caller.tier_for(row.owner_network)
    record = represent(record_type, row, tier)
    if record is None:
        return None
    line = {"record": record}
    if tier is Tier.RESTRICTED and signed:
        line["envelope"] = signed
    return line


