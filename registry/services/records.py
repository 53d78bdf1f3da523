"""The single write path of federated records, and their representation.

`write_record` is the only code that changes a record: it checks the body, bumps the version,
writes the row, its projections and its search documents, and appends the change-log row with the
next gap-free sequence number of the origin and the signed envelope of the version, all inside the
caller's write transaction. Seeding, the write API
and federation all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from joserfc.jwk import KeySet
from sqlalchemy import delete, func, insert, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry import models
from registry.contracts import common_pattern
from registry.db import CHANGED_RECORDS, iso, utcnow
from registry.errors import Conflict, ForeignRecord, Gone, InvalidRecord, NotFound, PreconditionFailed
from registry.federation import envelope
from registry.permissions import Caller
from registry.search import sql as search_index
from registry.services import validation
from registry.services.record_types import RECORD_TYPES, parse_date, projected_columns
from registry.taxonomy import Taxonomy
from registry.visibility import Tier, can_see, redact


class IdConflict(Conflict):
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
    signing_keys: KeySet,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> WriteResult:
    """Create, update or (with `body=None`) tombstone one record of `origin`, signing the new version
    with `signing_keys` (the origin's record-signing key).

    A write that would change nothing (same body, same owner, not deleted) is skipped: no new
    version, no change-log row. That makes seeding and retried writes idempotent.
    `expected_version`, when given, must be the stored version (checked under the origin's lock,
    so two writers holding the same version cannot both succeed).
    """
    kind = RECORD_TYPES[record_type]
    deleted = body is None
    counter = lock_origin(session, origin)
    _refuse_id_of_another_type(session, record_type, record_id)
    row = session.get(kind.model, record_id)
    if row is None and deleted:
        raise NotFound(f"no {record_type} {record_id!r}")
    if row is not None and row.origin != origin:
        raise ForeignRecord(record_id, row.origin)
    if expected_version is not None and (row is None or row.version != expected_version):
        current = "does not exist" if row is None else f"is at version {row.version}"
        raise PreconditionFailed(f"{record_id} {current}, not {expected_version}: someone changed it since "
                                 "you read it. Read it again, reapply your change, and send the new ETag.",
                                 current_version=None if row is None else row.version)
    if not deleted:
        errors = validation.body_errors(session, taxonomy, record_type, body)
        if errors:
            raise InvalidRecord(f"{record_type} {record_id}: {errors[0]['path']}: {errors[0]['message']}", errors)

    if row is not None:
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
    former_members: set[str] = set()
    if record_type == "network":
        former_members = _write_members(session, row, [] if deleted else body["members"])
    session.flush()
    search_index.index_record(session, record_type, row, former_members)

    counter.last_seq += 1
    session.info[CHANGED_RECORDS] = True
    signed = envelope.sign(signing_keys, origin=origin, seq=counter.last_seq, record_id=record_id,
                           record_type=record_type, version=row.version, deleted=deleted,
                           owner_network=owner_network, updated_at=iso(row.updated_at), body=row.body)
    session.add(models.ChangeLogEntry(
        origin=origin, seq=counter.last_seq, record_id=record_id, type=record_type, version=row.version,
        deleted=deleted, owner_network=owner_network, body=row.body, recorded_at=row.updated_at, actor=actor,
        envelope=signed,
    ))
    session.flush()
    return WriteResult(row, changed=True)


def sign_unsigned(session: Session, origin: str, signing_keys: KeySet) -> int:
    """Sign the change-log entries of `origin` written before envelopes existed (migration 0004);
    the number signed. Only for this node's own origin: a copy is signed by its origin or not kept."""
    log = models.ChangeLogEntry
    count = 0
    for entry in session.scalars(select(log).where(log.origin == origin, log.envelope.is_(None)).order_by(log.seq)):
        entry.envelope = envelope.sign(signing_keys, origin=origin, seq=entry.seq, record_id=entry.record_id,
                                       record_type=entry.type, version=entry.version, deleted=entry.deleted,
                                       owner_network=entry.owner_network, updated_at=iso(entry.recorded_at),
                                       body=entry.body)
        count += 1
    return count


def lock_origin(session: Session, origin: str) -> models.OriginSequence:
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


def _write_members(session: Session, network: models.Network, members: list[dict]) -> set[str]:
    """Replace the network's member rows; the ids of the authorities that were members before."""
    member = models.NetworkMember
    former = set(session.scalars(select(member.authority_id).where(member.network_id == network.id)))
    session.execute(delete(member).where(member.network_id == network.id))
    session.add_all(
        models.NetworkMember(network_id=network.id, network_code=network.code or network.body.get("code"),
                             authority_id=m["authority_id"], role=m["role"], since=parse_date(m.get("since")))
        for m in members
    )
    return former


def represent(record_type: str, row, tier: Tier) -> dict | None:
    """The record as served: common fields, then the body fields the caller's tier may see."""
    meta = {
        "id": row.id,
        "type": record_type,
        "origin": row.origin,
        "owner_network": row.owner_network,
        "version": row.version,
        "updated_at": iso(row.updated_at),
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


def find_row(session: Session, record_type: str, record_id: str):
    """The stored row, live or tombstone; NotFound when the id was never used for this type."""
    # Checked before the query: no database is asked about a string that cannot be an id.
    is_id = common_pattern("record_id").fullmatch(record_id)
    row = session.get(RECORD_TYPES[record_type].model, record_id) if is_id else None
    if row is None:
        raise NotFound(f"no {record_type.replace('_', ' ')} {record_id!r}")
    return row


def read_record(session: Session, record_type: str, record_id: str, caller: Caller) -> dict:
    """One record as `caller` may see it. A deleted one is Gone (with when and by whom) to a caller
    who could see it when it was live, and NotFound to anyone else, so its existence does not leak."""
    row = find_row(session, record_type, record_id)
    tier = caller.tier_for(row.owner_network)
    if not row.deleted:
        record = represent(record_type, row, tier)
        if record is None:
            raise NotFound(f"no {record_type.replace('_', ' ')} {record_id!r}")
        return record
    entries = session.scalars(select(models.ChangeLogEntry)
                              .where(models.ChangeLogEntry.origin == row.origin,
                                     models.ChangeLogEntry.record_id == record_id)
                              .order_by(models.ChangeLogEntry.seq.desc())).all()
    last_live = next((e.body for e in entries if not e.deleted), {})
    if not can_see(record_type, last_live, tier):
        raise NotFound(f"no {record_type.replace('_', ' ')} {record_id!r}")
    deletion = entries[0] if entries and entries[0].deleted else None
    raise Gone(f"{record_type.replace('_', ' ')} {record_id} was deleted"
               + (f" on {iso(deletion.recorded_at)} by {deletion.actor}." if deletion else "."),
               deleted_at=iso(row.updated_at), deleted_by=deletion.actor if deletion else None,
               version=row.version, origin=row.origin)

