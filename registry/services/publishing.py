"""Publishing: what a secretariat's client may do to records, over the write API.

Every operation checks, in this order: a token (401); the record exists and the caller may see it, as
for a GET (404); it is not a copy of another origin's record (409); the caller publishes for its
network (403); If-Match is there
(428); the body sets no field the registry sets (422); If-Match names the current version (412);
the new body is valid (422). Then it goes through the single
write path, so versions, the change log and (later) signatures follow as for any other write.
The version check happens under the origin's write lock: two writers holding the same ETag
cannot both succeed.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import models
from registry.context import Context
from registry.contracts import common_pattern
from registry.errors import (
    Conflict,
    ForeignRecord,
    Gone,
    InvalidRecord,
    NotFound,
    PreconditionRequired,
    Unauthenticated,
)
from registry.permissions import Caller, require
from registry.services.networks import network_id
from registry.services.records import find_row, lock_origin, read_record, represent, write_record

# Fields only the registry sets; a client that sends one gets a 422 saying so.
SERVER_FIELDS = ("id", "type", "origin", "version", "updated_at", "deleted", "signature", "envelope", "seq")
ID_PREFIX = {"authority": "a", "contact_point": "cp", "emergency_note": "note", "network": "net",
             "procedure": "proc"}


def _authenticated(caller: Caller) -> None:
    if not caller.authenticated:
        raise Unauthenticated("Publishing needs an access token with a publish:<network> scope.")


def _split_input(payload) -> tuple[str | None, dict]:
    """(owner_network or None, body) from a client's JSON, refusing fields the registry sets."""
    if not isinstance(payload, dict):
        raise InvalidRecord("The request body must be a JSON object.", [{"path": "$", "message": "not an object"}])
    for name in SERVER_FIELDS:
        if name in payload:
            raise InvalidRecord(f"{name} is set by the registry; leave it out of the request.",
                                [{"path": f"$.{name}", "message": "set by the registry"}])
    body = dict(payload)
    owner = body.pop("owner_network", None)
    if owner is not None and not (isinstance(owner, str) and common_pattern("network_code").fullmatch(owner)):
        raise InvalidRecord("owner_network must be a network code (lowercase letters, digits and '-', e.g. casc).",
                            [{"path": "$.owner_network", "message": "not a network code"}])
    return owner, body


def _require_version(expected_version: int | None) -> int:
    if expected_version is None:
        raise PreconditionRequired("Send If-Match with the record's current ETag (from a GET) so that a "
                                   "change made meanwhile by someone else is not overwritten.")
    return expected_version


def _write(session: Session, ctx: Context, caller: Caller, record_type: str, record_id: str, owner: str,
           body: dict | None, *, expected_version: int | None) -> dict:
    """One write of this node's record on the caller's behalf, through the single write path; the
    record as the caller sees it afterwards."""
    result = write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                          origin=ctx.settings.node_id, record_type=record_type, record_id=record_id,
                          owner_network=owner, body=body, actor=caller.actor, caller=caller,
                          expected_version=expected_version)
    return represent(record_type, result.row, caller.tier_for(result.row.owner_network))


def create(ctx: Context, caller: Caller, record_type: str, payload) -> dict:
    _authenticated(caller)
    owner, body = _split_input(payload)
    if owner is None:
        raise InvalidRecord("owner_network is required: the network whose secretariat maintains the record.",
                            [{"path": "$.owner_network", "message": "required"}])
    require(caller, "record:write", owner_network=owner)
    with ctx.db.write() as session:
        record_id = f"{ctx.settings.namespace}:{ID_PREFIX[record_type]}-{secrets.token_hex(5)}"
        return _write(session, ctx, caller, record_type, record_id, owner, body, expected_version=None)


def _writable_row(session: Session, ctx: Context, caller: Caller, record_type: str, record_id: str):
    """The row to change, after the checks every change shares: it exists for the caller as for a GET (a
    record the caller may not see is a 404 here too, so a write cannot tell it exists), it is this node's
    own, and the caller publishes for its network."""
    lock_origin(session, ctx.settings.node_id)
    with suppress(Gone):  # a deleted record the caller could see: a PUT may bring it back
        read_record(session, record_type, record_id, caller)
    row = find_row(session, record_type, record_id)
    if row.origin != ctx.settings.node_id:
        raise ForeignRecord(record_id, row.origin)
    require(caller, "record:write", owner_network=row.owner_network)
    return row


def replace(ctx: Context, caller: Caller, record_type: str, record_id: str, payload,
            expected_version: int | None) -> dict:
    """PUT: the new body in full. Also brings a deleted record back, with the next version."""
    _authenticated(caller)
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, record_type, record_id)
        version = _require_version(expected_version)
        owner, body = _split_input(payload)
        owner = owner or row.owner_network
        if owner != row.owner_network:
            require(caller, "record:write", owner_network=owner)
        return _write(session, ctx, caller, record_type, record_id, owner, body, expected_version=version)


def patch(ctx: Context, caller: Caller, record_type: str, record_id: str, merge_patch,
          expected_version: int | None) -> dict:
    """PATCH: a JSON Merge Patch (RFC 7396) of the live record's input form."""
    _authenticated(caller)
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, record_type, record_id)
        if row.deleted:
            raise NotFound(f"{record_id} is deleted; PUT a full body to bring it back")
        version = _require_version(expected_version)
        owner, changes = _split_input(merge_patch)
        owner = owner or row.owner_network
        if owner != row.owner_network:
            require(caller, "record:write", owner_network=owner)
        body = merge(row.body, changes)
        return _write(session, ctx, caller, record_type, record_id, owner, body, expected_version=version)


def delete(ctx: Context, caller: Caller, record_type: str, record_id: str, expected_version: int | None) -> dict:
    """DELETE: a tombstone with the next version; the id is never reused for another record."""
    _authenticated(caller)
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, record_type, record_id)
        if row.deleted:
            raise NotFound(f"{record_id} is already deleted")
        return _write(session, ctx, caller, record_type, record_id, row.owner_network, None,
                      expected_version=_require_version(expected_version))


def restore(ctx: Context, caller: Caller, record_type: str, record_id: str, expected_version: int | None) -> dict:
    """Bring a withdrawn record back as it last was, with the next version. It makes no claim on a network
    that its last live version did not make, so only its owner network's publish scope is needed."""
    _authenticated(caller)
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, record_type, record_id)
        if not row.deleted:
            raise Conflict(f"{record_id} is not withdrawn")
        log = models.ChangeLogEntry
        last = session.scalar(select(log).where(log.origin == row.origin, log.record_id == record_id,
                                                log.deleted.is_(False)).order_by(log.seq.desc()).limit(1))
        if last is None:
            raise NotFound(f"{record_id} has no earlier version to restore")
        result = write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                              origin=ctx.settings.node_id, record_type=record_type, record_id=record_id,
                              owner_network=last.owner_network, body=last.body, actor=caller.actor,
                              expected_version=_require_version(expected_version))
        return represent(record_type, result.row, caller.tier_for(result.row.owner_network))


def put_member(ctx: Context, caller: Caller, network: str, authority_id: str, payload,
               expected_version: int | None) -> dict:
    """Add an authority to a network's member list, or change its role or date (a new network version)."""
    if not isinstance(payload, dict) or set(payload) - {"role", "since"}:
        raise InvalidRecord('The body is {"role": "member" | "observer" | "associate", "since": "YYYY-MM-DD"} '
                            "(since optional).", [{"path": "$", "message": "only role and since"}])
    member = {"authority_id": authority_id, **payload}
    return _change_members(ctx, caller, network, authority_id, expected_version, member)


def delete_member(ctx: Context, caller: Caller, network: str, authority_id: str,
                  expected_version: int | None) -> dict:
    return _change_members(ctx, caller, network, authority_id, expected_version, None)


def _change_members(ctx: Context, caller: Caller, network: str, authority_id: str,
                    expected_version: int | None, member: dict | None) -> dict:
    _authenticated(caller)
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, "network", network_id(session, network))
        if row.deleted:
            raise NotFound(f"network {network!r} is deleted")
        members = list(row.body["members"])
        index = next((i for i, m in enumerate(members) if m["authority_id"] == authority_id), None)
        if member is None:
            if index is None:
                raise NotFound(f"{authority_id} is not a member of {row.body['code']}")
            del members[index]
        elif index is None:
            members.append(member)
        else:
            members[index] = member
        body = row.body | {"members": members}
        return _write(session, ctx, caller, "network", row.id, row.owner_network, body,
                      expected_version=_require_version(expected_version))


def hand_over(ctx: Context, caller: Caller, record_id: str, last_day: date, successor: dict,
              expected_version: int) -> tuple[dict, dict]:
    """A contact person's post changes hands: the outgoing holder's record ends on `last_day` (valid_until)
    and a new record for `successor` (name, e-mail, phone) begins the next day, as one write transaction:
    both versions are written, or neither. Returns (outgoing, successor) as the caller sees them."""
    if not isinstance(successor, dict) or not (successor.get("name") or "").strip():
        raise InvalidRecord("The successor's name is required.", [{"path": "$.person.name", "message": "required"}])
    with ctx.db.write() as session:
        row = _writable_row(session, ctx, caller, "contact_point", record_id)
        if row.deleted or row.body.get("kind") != "person":
            raise NotFound(f"{record_id} is not a live contact person")
        if date.fromisoformat(row.body["valid_from"]) > last_day:
            raise InvalidRecord(f"The last day in post must be on or after {row.body['valid_from']}, when the post "
                                "began.", [{"path": "$.valid_until", "message": "before valid_from"}])
        outgoing = _write(session, ctx, caller, "contact_point", record_id, row.owner_network,
                          row.body | {"valid_until": last_day.isoformat()}, expected_version=expected_version)
        new_body = {k: v for k, v in row.body.items() if k not in ("valid_until", "verified_at")}
        new_body |= {"person": {k: v.strip() for k, v in successor.items() if v and v.strip()},
                     "valid_from": (last_day + timedelta(days=1)).isoformat()}
        new_id = f"{ctx.settings.namespace}:{ID_PREFIX['contact_point']}-{secrets.token_hex(5)}"
        # The successor's record makes no claim the post's record does not hold already (its roles in the
        # networks): the node's own write, in the editor's name.
        incoming = write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                                origin=ctx.settings.node_id, record_type="contact_point", record_id=new_id,
                                owner_network=row.owner_network, body=new_body, actor=caller.actor)
        return outgoing, represent("contact_point", incoming.row, caller.tier_for(row.owner_network))


def merge(target, patch):
    """RFC 7396 JSON Merge Patch: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out
