"""Loading the demonstration directory in seed_data/ through the single write path.

Seed files name records by their local part ("kg-gpo"); the node's namespace is prefixed here.
See seed_data/README.md for the format.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from registry.services import Context
from registry.services.records import write_record

ACTOR = "seed"


@dataclass
class SeedReport:
    written: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        types = sorted(set(self.written) | set(self.unchanged))
        return {t: {"written": self.written[t], "unchanged": self.unchanged[t]} for t in types}


@dataclass(frozen=True)
class SeedRecord:
    record_type: str
    local_id: str
    owner_network: str
    body: dict


def read_seed(seed_path: str | Path, namespace: str) -> list[SeedRecord]:
    """Every seed record in write order: authorities, contact points, networks, notes."""
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
    return authorities + contact_points + networks + notes


def seed(ctx: Context) -> SeedReport:
    """Write the seed in one transaction; records already as seeded are left untouched."""
    report = SeedReport()
    records = read_seed(ctx.settings.seed_path, ctx.settings.namespace)
    with ctx.db.write() as session:
        for record in records:
            changed = write_seed_record(session, ctx, record)
            (report.written if changed else report.unchanged)[record.record_type] += 1
    return report


def write_seed_record(session, ctx: Context, record: SeedRecord, actor: str = ACTOR) -> bool:
    """Write one seed record as this node's own, through the single write path; True if it changed."""
    return write_record(
        session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(), origin=ctx.settings.node_id,
        record_type=record.record_type,
        record_id=f"{ctx.settings.namespace}:{record.local_id}", owner_network=record.owner_network,
        body=record.body, actor=actor,
    ).changed


def _load(path: Path) -> dict:
    # Dates stay strings, as in the JSON the API serves and the schemas describe.
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StringDatesLoader)


class _StringDatesLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
