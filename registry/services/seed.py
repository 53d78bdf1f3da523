"""Loading the demonstration directory in seed_data/ through the single write path.

Seed files name records by their local part ("kg-gpo"); the node's namespace is prefixed here.
See seed_data/README.md for the format.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from registry import models
from registry.context import Context
from registry.db import id_chunks, utcnow
from registry.progress import Progress, silent
from registry.record_types import RECORD_TYPES
from registry.services.records import RecordWrite, write_records

ACTOR = "seed"


class Outcome(StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    # Changed or deleted by its publishers since it was seeded: theirs now, left alone.
    KEPT = "kept"
    # Held here as another origin's record: never this node's to seed.
    FOREIGN = "foreign"


@dataclass
class SeedReport:
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, record_type: str, outcome: Outcome) -> None:
        self.counts[record_type][outcome] += 1

    def total(self, outcome: Outcome) -> int:
        return sum(counter[outcome] for counter in self.counts.values())

    def as_dict(self) -> dict:
        return {t: {o.value: self.counts[t][o] for o in Outcome} for t in sorted(self.counts)}


@dataclass(frozen=True)
class SeedRecord:
    record_type: str
    local_id: str
    owner_network: str
    body: dict


def read_seed(seed_path: str | Path, namespace: str) -> list[SeedRecord]:
    """Every seed record in write order: authorities, contact points, networks, notes, procedures."""
    root = Path(seed_path)

    def qualify(local_id: str) -> str:
        return f"{namespace}:{local_id}"

    authorities, contact_points = [], []
    members = defaultdict(list)
    for path in sorted((root / "directory").glob("*.yaml")):
        for entry in _load(path)["authorities"]:
            entry = dict(entry)
            local_id, owner = entry.pop("id"), entry.pop("owner_network")
            for membership in entry.pop("memberships", []):
                member = {"authority_id": qualify(local_id), "role": membership["role"]}
                if "since" in membership:
                    member["since"] = membership["since"]
                members[membership["network"]].append(member)
            for cp in entry.pop("contact_points", []):
                cp = dict(cp)
                cp_id, cp_owner = cp.pop("id"), cp.pop("owner_network")
                contact_points.append(SeedRecord("contact_point", cp_id, cp_owner,
                                                 {"authority_id": qualify(local_id), **cp}))
            authorities.append(SeedRecord("authority", local_id, owner, entry))

    networks = []
    for path in sorted((root / "networks").glob("*.yaml")):
        entry = _load(path)
        local_id, owner = entry.pop("id"), entry.pop("owner_network")
        entry["members"] = sorted(members.pop(entry["code"], []), key=lambda m: m["authority_id"])
        networks.append(SeedRecord("network", local_id, owner, entry))
    if members:
        raise ValueError(f"memberships name networks without a file in networks/: {sorted(members)}")

    notes = []
    for entry in _load(root / "emergency_notes.yaml")["emergency_notes"]:
        entry = dict(entry)
        local_id, owner = entry.pop("id"), entry.pop("owner_network")
        if "authority_id" in entry["scope"]:
            entry["scope"] = {"authority_id": qualify(entry["scope"]["authority_id"])}
        notes.append(SeedRecord("emergency_note", local_id, owner, entry))
    procedures = []
    for entry in _load(root / "procedures.yaml")["procedures"]:
        entry = dict(entry)
        local_id, owner = entry.pop("id"), entry.pop("owner_network")
        procedures.append(SeedRecord("procedure", local_id, owner, entry))
    # Every seeded record with people, phones or addresses in it says it is demonstration data, to
    # peers and partners as well: they are fictional even where the institution is real. Procedures
    # hold none: they are sourced facts.
    marked = [SeedRecord(r.record_type, r.local_id, r.owner_network, {**r.body, "demonstration": True})
              for r in authorities + contact_points + networks + notes]
    return marked + procedures


def holds_demonstration_data(ctx: Context) -> bool:
    """Whether this node holds any record marked as demonstration data (its own or a copy)."""
    with ctx.db.read() as session:
        term = models.RecordTerm
        return session.scalar(select(exists().where(term.facet == "demonstration"))) or False


def seed(ctx: Context, *, reset: bool = False, progress: Progress = silent) -> SeedReport:
    """Write the seed in one transaction, through the single write path.

    A record is written when it is new, or when its current version is the one seeding last wrote
    and the seed now says something else (a newer demonstration directory). A record changed or
    deleted since it was seeded belongs to its publishers and is kept as they left it, unless
    `reset` (a demonstration node put back as shipped: their changes get a new version on top).
    """
    report = SeedReport()
    records = read_seed(ctx.settings.seed_path, ctx.settings.namespace)
    with ctx.db.write() as session:
        for number, (record, outcome) in enumerate(write_seed_records(session, ctx, records, reset=reset), 1):
            report.add(record.record_type, outcome)
            progress(number, len(records))
    return report


def write_seed_records(session: Session, ctx: Context, records: list[SeedRecord], *, reset: bool = False,
                       actor: str = ACTOR) -> list[tuple[SeedRecord, Outcome]]:
    """Write seed records in the session's transaction as this node's own, in one batch of the write path,
    unless they are no longer seeding's to write (`_not_seedings`); each record with its outcome. The rows
    they may replace are read first in a few queries rather than one by one."""
    held = _held(session, ctx, records)
    record_ids = [f"{ctx.settings.namespace}:{record.local_id}" for record in records]
    skipped = [_not_seedings(ctx, *held.get(record_id, (None, None)), reset=reset) for record_id in record_ids]
    writes = [RecordWrite(record.record_type, record_id, record.owner_network, record.body)
              for record, record_id, outcome in zip(records, record_ids, skipped, strict=True) if outcome is None]
    results = iter(write_records(session, ctx.taxonomy, writes, origin=ctx.settings.node_id, actor=actor,
                                 signing_keys=ctx.record_keys.signing_keys()))
    outcomes = []
    for record, record_id, outcome in zip(records, record_ids, skipped, strict=True):
        if outcome is None:
            result = next(results)
            seeded = held.get(record_id, (None, None))[1]
            if seeded is None:
                session.add(models.SeededVersion(record_id=record_id, version=result.row.version, seeded_at=utcnow()))
            else:
                seeded.version, seeded.seeded_at = result.row.version, utcnow()
            outcome = Outcome.WRITTEN if result.changed else Outcome.UNCHANGED
        outcomes.append((record, outcome))
    return outcomes


def write_seed_record(session: Session, ctx: Context, record: SeedRecord, *, reset: bool = False,
                      actor: str = ACTOR) -> Outcome:
    """Write one seed record as `write_seed_records` does."""
    return write_seed_records(session, ctx, [record], reset=reset, actor=actor)[0][1]


def _held(session: Session, ctx: Context, records: list[SeedRecord]) -> dict[str, tuple]:
    """record id -> (stored row, seeded version) of the records this node already holds."""
    ids: dict[str, list[str]] = defaultdict(list)
    for record in records:
        ids[record.record_type].append(f"{ctx.settings.namespace}:{record.local_id}")
    rows, seeded = {}, {}
    for record_type, wanted in ids.items():
        model = RECORD_TYPES[record_type].model
        for chunk in id_chunks(wanted):
            rows |= {row.id: row for row in session.scalars(select(model).where(model.id.in_(chunk)))}
            seeded |= {v.record_id: v for v in session.scalars(
                select(models.SeededVersion).where(models.SeededVersion.record_id.in_(chunk)))}
    return {record_id: (rows.get(record_id), seeded.get(record_id)) for record_id in rows.keys() | seeded.keys()}


def _not_seedings(ctx: Context, row, seeded, *, reset: bool) -> Outcome | None:
    """Why a held record is no longer seeding's to write (None: it is)."""
    if row is not None:
        if row.origin != ctx.settings.node_id:
            return Outcome.FOREIGN
        if not reset and (seeded is None or seeded.version != row.version):
            return Outcome.KEPT
    return None


def _load(path: Path) -> dict:
    # Dates stay strings, as in the JSON the API serves and the schemas describe.
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StringDatesLoader)


class _StringDatesLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
