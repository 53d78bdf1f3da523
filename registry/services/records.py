"""The single write path of federated records, and their representation.

`write_record` is the only code that changes a record: it checks the body, bumps the version,
writes the row and its projections, and appends the change-log row with the next gap-free
sequence number of the origin, all inside the caller's write transaction. Seeding, the write API
and federation all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry import models
from registry.contracts import common_pattern
from registry.db import utcnow
from registry.errors import InvalidRecord, NotFound, RegistryError
from registry.services import validation
from registry.services.record_types import RECORD_TYPES, parse_date, projected_columns
from registry.taxonomy import Taxonomy
from registry.visibility import Tier, redact


class IdConflict(RegistryError):
    status = 409
    title = "Id in use"


@dataclass(frozen=True)
class WriteResult:
    row: object
    changed: bool


def write_record(
    session: Session,
    taxonomy: Taxonomy,
    *,
    origin: str,
    record_type: str,
    record_id: str,
    owner_network: str,
    body: dict | None,
    actor: str,
    now: datetime | None = None,
) -> WriteResult:
    """Create, update or (with `body=None`) tombstone one record of `origin`.

    A write that would change nothing (same body, same owner, not deleted) is skipped: no new
    version, no change-log row. That makes seeding and retried writes idempotent.
    """
    kind = RECORD_TYPES[record_type]
    deleted = body is None
    counter = _lock_origin(session, origin)
    _refuse_id_of_another_type(session, record_type, record_id)
    if not deleted:
        errors = validation.body_errors(session, taxonomy, record_type, body)
        if errors:
            raise InvalidRecord(f"{record_type} {record_id}: {errors[0]['path']}: {errors[0]['message']}", errors)

    row = session.get(kind.model, record_id)
    if row is None and deleted:
        raise NotFound(f"no {record_type} {record_id!r}")
    if row is not None:
        if row.origin != origin:
            raise RegistryError(f"{record_id} belongs to origin {row.origin!r}; publish it there")
        unchanged = row.deleted if deleted else (not row.deleted and row.body == body
                                                 and row.owner_network == owner_network)
        if unchanged:
            return WriteResult(row, changed=False)
    else:
        row = kind.model(id=record_id, origin=origin)
        session.add(row)

    row.version = (row.version or 0) + 1
    row.owner_network = owner_network
    row.updated_at = now or utcnow()
    row.deleted = deleted
    row.body = {} if deleted else body
    projection = {} if deleted else kind.project(body)
    for column in projected_columns(kind):
        setattr(row, column, projection.get(column))
    _write_terms(session, record_id, set() if deleted else kind.terms(body))
    if record_type == "network":
        _write_members(session, row, [] if deleted else body["members"])

    counter.last_seq += 1
    session.add(models.ChangeLogEntry(
        origin=origin, seq=counter.last_seq, record_id=record_id, type=record_type, version=row.version,
        deleted=deleted, owner_network=owner_network, body=row.body, recorded_at=row.updated_at, actor=actor,
    ))
    session.flush()
    return WriteResult(row, changed=True)


def _lock_origin(session: Session, origin: str) -> models.OriginSequence:
    """Lock the origin's counter row for the rest of the transaction (created on first use).

    On SQLite the write transaction already holds the database's write lock (BEGIN IMMEDIATE);
    on PostgreSQL the row lock serializes writers of one origin, so seq order is commit order.
    The locked row is remembered for the transaction, so a batch of writes locks it once.
    """
    locked = session.info.setdefault("locked_origins", {})
    transaction = session.get_transaction()
    if (origin, transaction) in locked:
        return locked[origin, transaction]
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(models.OriginSequence).values(origin=origin, last_seq=0).on_conflict_do_nothing()
    )
    query = select(models.OriginSequence).where(models.OriginSequence.origin == origin).with_for_update()
    locked.clear()
    locked[origin, transaction] = counter = session.scalars(query).one()
    return counter


def _refuse_id_of_another_type(session: Session, record_type: str, record_id: str) -> None:
    others = [t for t in RECORD_TYPES.values() if t.name != record_type]
    query = union_all(*(select(literal(t.name)).where(t.model.id == record_id) for t in others))
    taken_by = session.scalars(query).first()
    if taken_by is not None:
        raise IdConflict(f"{record_id} is already the id of a {taken_by}")


def _write_terms(session: Session, record_id: str, terms: set[tuple[str, str]]) -> None:
    session.execute(delete(models.RecordTerm).where(models.RecordTerm.record_id == record_id))
    if terms:
        session.execute(insert(models.RecordTerm),
                        [{"record_id": record_id, "facet": f, "value": v} for f, v in sorted(terms)])


def _write_members(session: Session, network: models.Network, members: list[dict]) -> None:
    session.execute(delete(models.NetworkMember).where(models.NetworkMember.network_id == network.id))
    session.add_all(
        models.NetworkMember(network_id=network.id, network_code=network.code or network.body.get("code"),
                             authority_id=m["authority_id"], role=m["role"], since=parse_date(m.get("since")))
        for m in members
    )


def represent(record_type: str, row, tier: Tier) -> dict | None:
    """The record as served: common fields, then the body fields the caller's tier may see."""
    meta = {
        "id": row.id,
        "type": record_type,
        "origin": row.origin,
        "owner_network": row.owner_network,
        "version": row.version,
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
        "deleted": row.deleted,
    }
    if row.deleted:
        return meta
    body = redact(record_type, row.body, tier)
    return None if body is None else meta | body


def data_version(ctx) -> int:
    """A number that every write raises: the sum of the origins' change-log counters."""
    with ctx.db.read() as session:
        return session.scalar(select(func.coalesce(func.sum(models.OriginSequence.last_seq), 0)))


def get_row(session: Session, record_type: str, record_id: str):
    # Checked before the query: no database is asked about a string that cannot be an id.
    is_id = common_pattern("record_id").fullmatch(record_id)
    row = session.get(RECORD_TYPES[record_type].model, record_id) if is_id else None
    if row is None or row.deleted:
        raise NotFound(f"no {record_type.replace('_', ' ')} {record_id!r}")
    return row
