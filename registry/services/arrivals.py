"""The arrival log: every record version this node stores, numbered in commit order.

`record_arrival` is called by the single write path (`records._store_version`, for local writes
and applied copies alike) and when a copy is dropped; partner feeds and webhook notifications read
the log by number. Each arrival carries the filters partners ask for (country, networks), computed
now, with the tier needed to see it: a tombstone keeps those of the record's last live version, so a
partner following one country learns of its deletions too, and only those who could see the record
learn that it is gone.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry import models
from registry.db import held_row, utcnow
from registry.search.documents import member_networks
from registry.visibility import Tier, record_tier

# Where a transaction keeps the counter it locked (see records.forget_loaded).
ARRIVAL_COUNTER = "registry_arrival_counter"


def record_arrival(session: Session, record_type: str, row, *, removed: bool = False) -> int:
    """Append the row's current version to the arrival log; its number."""
    counter = _lock_counter(session)
    counter.last += 1
    if row.deleted or removed:
        previous = session.scalars(select(models.Arrival).where(models.Arrival.record_id == row.id)
                                   .order_by(models.Arrival.number.desc()).limit(1)).first()
        country = previous.country if previous else None
        networks = set(previous.networks.split()) if previous else set()
        # Without an earlier arrival nothing says who could see the record: only the top tier.
        tier = previous.tier if previous else int(Tier.RESTRICTED)
    else:
        country, networks = feed_filters(session, record_type, row)
        tier = int(record_tier(record_type, row.body))
    networks.add(row.owner_network)
    session.add(models.Arrival(
        number=counter.last, origin=row.origin, seq=row.seq, record_id=row.id, type=record_type,
        version=row.version, deleted=row.deleted or removed, removed=removed, owner_network=row.owner_network,
        country=country, networks=f" {' '.join(sorted(networks))} ", tier=tier, arrived_at=utcnow(),
        envelope=None if removed else row.envelope))
    return counter.last


def feed_filters(session: Session, record_type: str, row) -> tuple[str | None, set[str]]:
    """The country of a live record and the networks it belongs to, as partners filter by them."""
    def memberships(authority_id: str | None) -> set[str]:
        return set() if authority_id is None else set(member_networks(session, authority_id))

    if record_type == "network":
        return None, {row.code}
    if record_type == "authority":
        return row.country, memberships(row.id)
    if record_type == "procedure":
        return row.country, {row.owner_network}
    if record_type == "contact_point":
        authority = held_row(session, models.Authority, row.authority_id)
        roles = {role["network"] for role in row.body.get("roles", [])}
        return (authority.country if authority else None), roles | memberships(row.authority_id)
    authority = held_row(session, models.Authority, row.scope_authority_id) if row.scope_authority_id else None
    country = row.scope_country or (authority.country if authority else None)
    return country, {row.scope_network} - {None} | memberships(row.scope_authority_id)


def _lock_counter(session: Session) -> models.ArrivalCounter:
    """The counter row, locked for the rest of the transaction (once per transaction)."""
    transaction = session.get_transaction()
    cached = session.info.get(ARRIVAL_COUNTER)
    if cached and cached[0] is transaction:
        return cached[1]
    query = select(models.ArrivalCounter).where(models.ArrivalCounter.id == 1).with_for_update()
    # The counter depends on nothing pending: what the write added is flushed once, with the arrival.
    with session.no_autoflush:
        counter = session.scalars(query).one_or_none()
        if counter is None:  # the node's first arrival: create the row (or find it created meanwhile), lock it
            dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
            session.execute(dialect.insert(models.ArrivalCounter).values(id=1, last=0, epoch=secrets.token_hex(4))
                            .on_conflict_do_nothing())
            counter = session.scalars(query).one()
    session.info[ARRIVAL_COUNTER] = (transaction, counter)
    return counter


def record_arrivals_if_empty(session: Session) -> int:
    """Give every record held an arrival, when the log is empty but records exist (a database from
    before the arrival log); the number recorded. Oldest first, so the numbers follow history."""
    from registry.record_types import RECORD_TYPES

    if session.scalar(select(models.Arrival.number).limit(1)) is not None:
        return 0
    rows = [(row.updated_at, row.id, record_type.name, row) for record_type in RECORD_TYPES.values()
            for row in session.scalars(select(record_type.model))]
    for _updated_at, _id, record_type, row in sorted(rows, key=lambda r: (r[0], r[1])):
        record_arrival(session, record_type, row)
    return len(rows)
