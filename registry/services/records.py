"""The single write path of federated records, and their representation.

`write_records` is the only code that changes a record: for each write it checks the body, bumps the
version, writes the row, its projections and its search documents, and appends the change-log row with
the next gap-free sequence number of the origin and the signed envelope of the version, all inside the
caller's write transaction. Seeding and the write API come through here (`write_record` is a batch of one).

`apply_copies` is its counterpart for the versions of other origins that sync brings: it applies the
origin-authoritative rule and stores a version with the origin's own seq and envelope. Both store
through `_store_version`, so a copy is held exactly as a local record is.

A batch is checked, signed and stored record by record, in order, so a record may rest on one written
before it in the same batch (a contact point on its authority): what a record's checks read comes from
the session, which writes pending rows before any query. The rows that only the batch itself reads back
(terms, search documents and their facets and words) are written once the whole batch is stored, a few
statements for all of it (`_Batch.finish`), before the call returns.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from joserfc.jwk import KeySet
from sqlalchemy import bindparam, delete, func, insert, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry import contracts, models
from registry.contracts import common_pattern
from registry.crypto import envelope
from registry.db import CHANGED_RECORDS, HELD, PENDING, id_chunks, iso, utcnow
from registry.errors import (
    Conflict,
    Forbidden,
    ForeignRecord,
    Gone,
    InvalidRecord,
    NotFound,
    PreconditionFailed,
    RegistryError,
)
from registry.permissions import Caller, allows
from registry.record_types import RECORD_TYPES, parse_date, projected_columns, record_terms

# The database's own search index is written in the writing transaction whatever the search backend:
# it stays consistent with the records, so a node whose Elasticsearch is gone searches at once without
# a reindex. Elasticsearch follows the change log after commit (registry.search.elastic).
from registry.search import sql as search_index
from registry.search.documents import MEMBER_NETWORKS, know_member_networks, move_member_networks
from registry.services import validation
from registry.services.arrivals import ARRIVAL_COUNTER, record_arrival
from registry.taxonomy import Taxonomy
from registry.visibility import Tier, can_see, redact


class IdConflict(Conflict):
    title = "Id in use"


@dataclass(frozen=True)
class WriteResult:
    row: object
    changed: bool


@dataclass(frozen=True)
class RecordWrite:
    """One write of a batch: a new body for `record_id` (None: its tombstone)."""

    record_type: str
    record_id: str
    owner_network: str
    body: dict | None
    # when given, must be the stored version (checked under the origin's lock, so two writers holding
    # the same version cannot both succeed)
    expected_version: int | None = None


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
    caller: Caller | None = None,
) -> WriteResult:
    """Create, update or (with `body=None`) tombstone one record of `origin`: `write_records` of one."""
    write = RecordWrite(record_type, record_id, owner_network, body, expected_version)
    return write_records(session, taxonomy, [write], origin=origin, actor=actor, signing_keys=signing_keys,
                         now=now, caller=caller)[0]


def write_records(session: Session, taxonomy: Taxonomy, writes: list[RecordWrite], *, origin: str, actor: str,
                  signing_keys: KeySet, now: datetime | None = None,
                  caller: Caller | None = None) -> list[WriteResult]:
    """Create, update or tombstone records of `origin`, in order, signing each new version with
    `signing_keys` (the origin's record-signing key); a result for each write.

    `caller`, for a write on someone's behalf (the write API), must hold the publish scope of every
    network the body newly speaks for (a role in it, a note scoped to it); None is the node itself
    (seeding, the operator's commands). Whoever writes, a body attaches only to authorities of its
    owner network (`validation.attachment_errors`).

    A write that would change nothing (same body, same owner, not deleted) is skipped: no new
    version, no change-log row. That makes seeding and retried writes idempotent. A write that fails
    its checks raises, and the writes before it in the batch stay stored in the transaction, as if
    they had been made one by one.
    """
    counter = lock_origin(session, origin)
    batch = _Batch(session, [(write.record_type, write.record_id, write.body) for write in writes])
    try:
        results = [_write(session, taxonomy, batch, counter, write, origin=origin, actor=actor,
                          signing_keys=signing_keys, now=now, caller=caller) for write in writes]
    except RegistryError:
        batch.finish()
        raise
    batch.finish()
    return results


def _write(session: Session, taxonomy: Taxonomy, batch: _Batch, counter: models.OriginSequence, write: RecordWrite,
           *, origin: str, actor: str, signing_keys: KeySet, now: datetime | None,
           caller: Caller | None) -> WriteResult:
    record_type, record_id, owner_network, body = write.record_type, write.record_id, write.owner_network, write.body
    expected_version = write.expected_version
    kind = RECORD_TYPES[record_type]
    deleted = body is None
    row = batch.stored(record_type, record_id)
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
        errors = (validation.body_errors(session, taxonomy, record_type, body)
                  or validation.attachment_errors(session, record_type, body, owner_network))
        if errors:
            raise InvalidRecord(f"{record_type} {record_id}: {errors[0]['path']}: {errors[0]['message']}", errors)
        if caller is not None:
            _check_network_claims(kind, row, body, caller)

    if row is not None:
        unchanged = row.deleted if deleted else (not row.deleted and row.body == body
                                                 and row.owner_network == owner_network)
        if unchanged:
            return WriteResult(row, changed=False)
    else:
        row = batch.create(record_type, record_id, origin)

    version = (row.version or 0) + 1
    updated_at = now or utcnow()
    stored_body = {} if deleted else body
    counter.last_seq += 1
    signed = envelope.sign(signing_keys, origin=origin, seq=counter.last_seq, record_id=record_id,
                           record_type=record_type, version=version, deleted=deleted,
                           owner_network=owner_network, updated_at=iso(updated_at), body=stored_body,
                           deleted_by=actor if deleted else None)
    _store_version(session, batch, row, record_type, version=version, owner_network=owner_network,
                   updated_at=updated_at, body=body, seq=counter.last_seq, signed=signed)
    session.add(_log_entry(envelope.claims_unverified(signed), signed, actor))
    return WriteResult(row, changed=True)


def _check_network_claims(kind, row, body: dict, caller: Caller) -> None:
    """A network's name on a record (a role in it, a note scoped to it) is that network's to give: a new
    claim needs its publish scope. Claims the record already made stay editable by its owner network."""
    held = set() if row is None or row.deleted else {network for _, network in kind.network_claims(row.body)}
    for path, network in kind.network_claims(body):
        if network not in held and not allows(caller, "network:claim", network=network):
            raise Forbidden(f"{path}: naming the network {network} (a role in it, a note scoped to it) needs the "
                            f"scope publish:{network}, which the token does not carry.", scope=f"publish:{network}")


class CopyOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUARANTINED = "quarantined"


def apply_copy(session: Session, claims: dict, signed: str, *, actor: str, log: bool,
               repair: bool = False) -> tuple[CopyOutcome, str | None]:
    """`apply_copies` of one version."""
    return apply_copies(session, [(claims, signed, actor)], log=log, repair=repair)[0]


def apply_copies(session: Session, copies: list[tuple[dict, str, str]], *, log: bool,
                 repair: bool = False) -> list[tuple[CopyOutcome, str | None]]:
    """Apply versions of foreign origins' records, in order, each given as (claims, envelope, actor).
    For each, as `_apply` says, its outcome, and why when quarantined."""
    batch = _Batch(session, [(claims["type"], claims["id"], None if claims["deleted"] else claims["body"])
                             for claims, _signed, _actor in copies])
    outcomes = [_apply(session, batch, claims, signed, actor=actor, log=log, repair=repair)
                for claims, signed, actor in copies]
    batch.finish()
    return outcomes


def _apply(session: Session, batch: _Batch, claims: dict, signed: str, *, actor: str, log: bool,
           repair: bool) -> tuple[CopyOutcome, str | None]:
    """Apply one version of a foreign origin's record by the origin-authoritative rule (docs/federation-protocol.md):
    a higher version applies, the same version with the same content is a duplicate, the same version
    with other content is equivocation (quarantined), a lower version is stale. The outcome, and why
    when quarantined.

    `claims` must come from `envelope.verify` of `signed` against the origin's trusted keys: this
    function does not check signatures, namespaces or sequence order (the puller does). With `log`,
    the version is appended to the origin's change log here whatever the outcome (so that this
    node relays the origin's feed without gaps) and the origin's counter moves to its seq; a version
    from a snapshot is not logged (the log here starts after the snapshot's as_of_seq). With `repair`
    (an operator's re-bootstrap after this node's copy was damaged), a copy of the same version with other
    content, or a higher version the origin never signed, is overwritten by the origin's.
    """
    record_type, record_id, origin = claims["type"], claims["id"], claims["origin"]
    try:
        row, id_conflict = batch.stored(record_type, record_id), None
    except IdConflict as exc:
        row, id_conflict = None, exc.detail
    if log:
        lock_origin(session, origin).last_seq = claims["seq"]
        session.add(_log_entry(claims, signed, actor))
    if row is not None and row.origin != origin:
        return _quarantine(session, claims, signed, actor, f"{record_id} is held here as a record of {row.origin}")
    if row is not None and claims["version"] < row.version and not repair:
        return CopyOutcome.STALE, None
    if row is not None and claims["version"] == row.version:
        if (row.deleted, envelope.body_hash(row.body), row.owner_network) == (
                claims["deleted"], claims["body_hash"], claims["owner_network"]):
            return CopyOutcome.DUPLICATE, None
        if not repair:
            return _quarantine(session, claims, signed, actor,
                               f"equivocation: version {row.version} of {record_id} is already held with other content "
                               f"(body_hash {envelope.body_hash(row.body)}, this one {claims['body_hash']})")
    reason = id_conflict or _unholdable(session, record_type, claims)
    if reason:
        return _quarantine(session, claims, signed, actor, reason)
    if row is None:
        row = batch.create(record_type, record_id, origin)
    _store_version(session, batch, row, record_type, version=claims["version"], owner_network=claims["owner_network"],
                   updated_at=datetime.fromisoformat(claims["updated_at"]),
                   body=None if claims["deleted"] else claims["body"], seq=claims["seq"], signed=signed)
    return CopyOutcome.APPLIED, None


def discard_copy(session: Session, record_type: str, row) -> None:
    """Remove a copy its origin no longer has (absent from a verified snapshot): it is dropped with
    its projections and search documents, as if it had never been received."""
    record_arrival(session, record_type, row, removed=True)
    row.deleted, row.body = True, {}
    batch = _Batch(session, [])
    batch.terms[row.id] = set()
    batch.replaced.add(row.id)
    former = _write_members(session, row, []) if record_type == "network" else set()
    batch.indexing.add(record_type, row, former)
    batch.finish()
    session.delete(row)
    session.flush()


def _unholdable(session: Session, record_type: str, claims: dict) -> str | None:
    """Why a signed version whose id is free for its type cannot be stored here, or None. Only the JSON
    Schema is checked, not the taxonomy or references: the origin decided those, and its references may
    arrive later."""
    if claims["deleted"]:
        return None
    errors = contracts.body_errors(record_type, claims["body"])
    if errors:
        return f"body does not match the {record_type} schema: {errors[0]['path']}: {errors[0]['message']}"
    if record_type == "network":
        holder = session.scalar(select(models.Network.id).where(models.Network.code == claims["body"]["code"],
                                                                models.Network.id != claims["id"]))
        if holder:
            return f"network code {claims['body']['code']!r} is held here by {holder}"
    return None


def _quarantine(session: Session, claims: dict, signed: str, actor: str, reason: str):
    session.add(models.QuarantinedItem(origin=claims["origin"], seq=claims["seq"], record_id=claims["id"],
                                       version=claims["version"], reason=reason, source=actor, envelope=signed,
                                       received_at=utcnow()))
    return CopyOutcome.QUARANTINED, reason


def _store_version(session: Session, batch: _Batch, row, record_type: str, *, version: int, owner_network: str,
                   updated_at: datetime, body: dict | None, seq: int, signed: str) -> None:
    """Write one version into the row, its projections and its search documents (body None: a tombstone),
    the terms and documents when the batch is done."""
    kind = RECORD_TYPES[record_type]
    deleted = body is None
    # A row stored for the first time has no terms, members or search document to replace yet.
    first = row.version is None
    row.version = version
    row.owner_network = owner_network
    row.updated_at = updated_at
    row.deleted = deleted
    row.body = {} if deleted else body
    row.seq = seq
    row.envelope = signed
    projection = {} if deleted else kind.project(body)
    for column in projected_columns(kind):
        setattr(row, column, projection.get(column))
    batch.terms[row.id] = set() if deleted else record_terms(kind, body)
    if not first:
        batch.replaced.add(row.id)
    former_members: set[str] = set()
    if record_type == "network":
        former_members = _write_members(session, row, [] if deleted else body["members"])
    batch.indexing.add(record_type, row, former_members, first=first)
    record_arrival(session, record_type, row)
    session.info[CHANGED_RECORDS] = True


def _log_entry(claims: dict, signed: str, actor: str) -> models.ChangeLogEntry:
    """The change-log row of one signed version, a local one or a copy: what the envelope says."""
    return models.ChangeLogEntry(
        origin=claims["origin"], seq=claims["seq"], record_id=claims["id"], type=claims["type"],
        version=claims["version"], deleted=claims["deleted"], owner_network=claims["owner_network"],
        body=claims["body"], recorded_at=datetime.fromisoformat(claims["updated_at"]), actor=actor, envelope=signed)


def sign_unsigned(session: Session, origin: str, signing_keys: KeySet) -> int:
    """Sign the change-log entries of `origin` written before envelopes existed (migration 0004);
    the number signed. Only for this node's own origin: a copy is signed by its origin or not kept."""
    log = models.ChangeLogEntry
    count = 0
    for entry in session.scalars(select(log).where(log.origin == origin, log.envelope.is_(None)).order_by(log.seq)):
        entry.envelope = envelope.sign(signing_keys, origin=origin, seq=entry.seq, record_id=entry.record_id,
                                       record_type=entry.type, version=entry.version, deleted=entry.deleted,
                                       owner_network=entry.owner_network, updated_at=iso(entry.recorded_at),
                                       body=entry.body, deleted_by=entry.actor if entry.deleted else None)
        row = session.get(RECORD_TYPES[entry.type].model, entry.record_id)
        if row is not None and row.version == entry.version:
            row.seq, row.envelope = entry.seq, entry.envelope
        count += 1
    return count


def forget_loaded(session: Session) -> None:
    """Write what is pending and drop every object the session holds (and what it read of the authorities'
    networks), so that a long transaction (a snapshot of 100,000 records) keeps its memory flat. The row
    locks stay with the transaction; the locked counters are read again when next needed."""
    session.flush()
    session.expunge_all()
    session.info.pop(HELD, None)
    session.info.pop(PENDING, None)
    session.info.pop(MEMBER_NETWORKS, None)
    session.info.pop("locked_origins", None)
    session.info.pop(ARRIVAL_COUNTER, None)


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
    query = select(models.OriginSequence).where(models.OriginSequence.origin == origin).with_for_update()
    counter = session.scalars(query).one_or_none()
    if counter is None:  # an origin's first write: create the row (or find it created meanwhile), then lock it
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(models.OriginSequence).values(origin=origin, last_seq=0).on_conflict_do_nothing()
        )
        counter = session.scalars(query).one()
    locked.clear()
    locked[origin, transaction] = counter
    return counter


# Built once: every write asks them.
_HOLDERS = union_all(*(select(literal(t.name), t.model.id).where(t.model.id.in_(bindparam("ids")))
                       for t in RECORD_TYPES.values()))
_ROWS = {t.name: select(t.model).where(t.model.id.in_(bindparam("ids"))) for t in RECORD_TYPES.values()}


class _Batch:
    """What a batch of writes shares: which tables hold its ids (read at once, with the rows it replaces,
    and the networks of the authorities its arrivals name), and the terms and search documents it writes
    once it is done (`finish`). `wanted`: the (type, id, body) of each write."""

    def __init__(self, session: Session, wanted: list[tuple[str, str, dict | None]]):
        self.session = session
        # id -> the record types whose table holds it, rows created by the batch included
        self.holders: dict[str, set[str]] = defaultdict(set)
        self.created: dict[tuple[str, str], object] = {}
        # record id -> its terms; the ids that may have terms already
        self.terms: dict[str, set[tuple[str, str]]] = {}
        self.replaced: set[str] = set()
        self.indexing = search_index.Indexing()
        self.loaded = self._read_holders(wanted)
        know_member_networks(session, _named_authorities(wanted))

    def _read_holders(self, wanted: list[tuple[str, str, dict | None]]) -> list:
        ids = sorted({record_id for _type, record_id, _body in wanted})
        for chunk in id_chunks(ids):
            for record_type, record_id in self.session.execute(_HOLDERS, {"ids": chunk}):
                self.holders[record_id].add(record_type)
        # The rows the batch writes over, read in a query per type (and kept: a session holds rows weakly).
        replaced = defaultdict(set)
        for record_type, record_id, _body in wanted:
            if record_type in self.holders.get(record_id, ()):
                replaced[record_type].add(record_id)
        loaded = []
        for record_type, record_ids in replaced.items():
            model = RECORD_TYPES[record_type].model
            missing = sorted(i for i in record_ids
                             if self.session.identity_map.get(self.session.identity_key(model, i)) is None)
            for chunk in id_chunks(missing):
                loaded += self.session.scalars(_ROWS[record_type], {"ids": chunk}).all()
        return loaded

    def stored(self, record_type: str, record_id: str):
        """The row of `record_id` (None when the id is free); IdConflict when a record of another type has it."""
        if (record_type, record_id) in self.created:
            return self.created[record_type, record_id]
        model = RECORD_TYPES[record_type].model
        held = self.session.identity_map.get(self.session.identity_key(model, record_id))
        if held is not None:
            return held
        holders = self.holders.get(record_id, set())
        if holders - {record_type}:
            raise IdConflict(f"{record_id} is already the id of a {min(holders - {record_type})}")
        return self.session.get(model, record_id) if holders else None

    def create(self, record_type: str, record_id: str, origin: str):
        row = RECORD_TYPES[record_type].model(id=record_id, origin=origin)
        self.session.add(row)
        self.created[record_type, record_id] = row
        self.holders[record_id].add(record_type)
        return row

    def finish(self) -> None:
        """Write the terms and search documents of what the batch stored."""
        session = self.session
        session.flush()
        if self.replaced:
            session.execute(_DELETE_TERMS, [{"id": record_id} for record_id in sorted(self.replaced)])
        terms = [{"record_id": record_id, "facet": f, "value": v}
                 for record_id, held in self.terms.items() for f, v in sorted(held)]
        if terms:
            session.execute(_INSERT_TERMS, terms)
        if self.indexing.written:
            search_index.index_records(session, self.indexing)
        self.terms, self.replaced, self.indexing = {}, set(), search_index.Indexing()


def _named_authorities(wanted: list[tuple[str, str, dict | None]]) -> set[str]:
    """The authorities whose networks the arrivals of these writes name (`arrivals.feed_filters`): the
    authorities written and those the other records attach to. A body its schema refuses names none."""
    named = set()
    for record_type, record_id, body in wanted:
        if record_type == "authority":
            named.add(record_id)
        elif isinstance(body, dict):
            with suppress(KeyError, TypeError):
                named.update(authority_id for _path, authority_id in RECORD_TYPES[record_type].attachments(body))
    return {authority_id for authority_id in named if isinstance(authority_id, str)}


_TERMS = models.RecordTerm.__table__
# Built once; the table, not the mapped class: a plain multi-row insert, without the ORM's bulk machinery.
_DELETE_TERMS = delete(_TERMS).where(_TERMS.c.record_id == bindparam("id"))
_INSERT_TERMS = insert(_TERMS)


def _write_members(session: Session, network: models.Network, members: list[dict]) -> set[str]:
    """Replace the network's member rows; the ids of the authorities that were members before."""
    member = models.NetworkMember
    former = dict(session.execute(select(member.authority_id, member.network_code)
                                  .where(member.network_id == network.id)).all())
    session.execute(delete(member).where(member.network_id == network.id))
    code = network.code or network.body.get("code")
    move_member_networks(session, code, former, {m["authority_id"] for m in members})
    session.add_all(
        models.NetworkMember(network_id=network.id, network_code=code, authority_id=m["authority_id"],
                             role=m["role"], since=parse_date(m.get("since")))
        for m in members
    )
    return set(former)


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


def data_version(ctx) -> tuple[int, int, int]:
    """Numbers that every change raises: the last arrival (every version stored, every copy dropped),
    the sum of the origins' change-log counters (which sync moves even when nothing arrives) and of the
    times their logs were trimmed (retention drops entries that cached feed pages still show).

    Read again only after a commit (`Database.until_next_commit`): on SQLite, a cached answer is served
    without a query."""
    return ctx.db.until_next_commit("data_version", partial(_read_data_version, ctx.db))


def _read_data_version(db) -> tuple[int, int, int]:
    sequence = models.OriginSequence
    arrivals = select(models.ArrivalCounter.last).where(models.ArrivalCounter.id == 1).scalar_subquery()
    with db.read() as session:
        arrived, seqs, trims = session.execute(select(func.coalesce(arrivals, 0),
                                                      func.coalesce(func.sum(sequence.last_seq), 0),
                                                      func.coalesce(func.sum(sequence.trims), 0))).one()
        return arrived, seqs, trims


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

