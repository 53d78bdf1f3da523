"""What writing through the single write path costs: seeding the demonstration directory (one transaction) and
direct writes of one record per transaction, each on a fresh SQLite database; with record bodies checked by
jsonschema-rs first (as the registry does) and by `jsonschema` alone (the baseline), in the same run; and, with
--baseline-checkout, the same measurements made by another checkout's code in the same run.

    .venv/bin/python bench/seed_cost.py [--runs 3] [--writes 300] [--baseline-checkout DIR]

DIR is another checkout of the registry (e.g. `git worktree add /tmp/baseline <commit>`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTHORITY = {"names": {"en": "Bench Office"}, "kind": "prosecution_service", "country": "KG",
             "competences": ["corruption"], "request_types": ["mla"], "languages": ["ru"], "status": "active",
             "channels": [{"kind": "email", "value": "bench@example.org", "visibility": "public"}]}


class _NeverValid:
    """Stands in for the fast validator: every body goes on to `jsonschema`, as before it was used."""

    def is_valid(self, body) -> bool:
        return False


def seed_seconds(writes: int = 0) -> tuple[float, int, float]:
    """Seconds to seed a fresh database, the records written, and then direct writes per second."""
    from registry import migrations
    from registry.config import Settings
    from registry.context import Context
    from registry.progress import silent
    from registry.services.records import write_record
    from registry.services.seed import Outcome, seed

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/seed.sqlite3"
        migrations.upgrade(url)
        ctx = Context.create(Settings.from_env({}, database_url=url, instance_path=tmp))
        started = time.perf_counter()
        report = seed(ctx, progress=silent)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        for number in range(writes):
            with ctx.db.write() as session:
                write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(), origin="local",
                             record_type="authority", record_id=f"local:bench-{number}", owner_network="casc",
                             body=AUTHORITY, actor="bench")
        rate = writes / (time.perf_counter() - started) if writes else 0.0
        ctx.db.dispose()
        return elapsed, report.total(Outcome.WRITTEN), rate


def measure(runs: int, writes: int) -> dict:
    from registry import contracts

    fast = contracts.fast_validator
    seconds: dict[str, list[float]] = {"jsonschema alone": [], "jsonschema-rs first": []}
    rates: list[float] = []
    records = 0
    for _ in range(runs):
        contracts.fast_validator = lambda reference: _NeverValid()
        elapsed, records, _ = seed_seconds()
        seconds["jsonschema alone"].append(elapsed)
        contracts.fast_validator = fast
        elapsed, _, rate = seed_seconds(writes)
        seconds["jsonschema-rs first"].append(elapsed)
        rates.append(rate)
    return {"records": records, "seed": {name: statistics.median(values) for name, values in seconds.items()},
            "direct": statistics.median(rates)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writes", type=int, default=300, help="direct writes, one record per transaction")
    parser.add_argument("--baseline-checkout", help="another checkout to measure beside this one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        json.dump(measure(args.runs, args.writes), sys.stdout)
        return

    def run(checkout: Path) -> dict:
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--runs", str(args.runs),
                              "--writes", str(args.writes)], env=os.environ | {"PYTHONPATH": str(checkout)},
                             cwd=checkout, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    measured = {"this checkout": run(ROOT)}
    if args.baseline_checkout:
        measured["baseline checkout"] = run(Path(args.baseline_checkout))
    records = measured["this checkout"]["records"]
    print(f"seeding {records} records (median of {args.runs} runs), then {args.writes} direct writes of one record "
          "per transaction")
    reference = measured["this checkout"]["seed"]["jsonschema alone"]
    for who, figures in measured.items():
        for validation, median in figures["seed"].items():
            print(f"{who:<18} {validation:<20} seed {median:>6.2f} s {records / median:>6.0f} records/s "
                  f"{reference / median:>5.2f}x")
        print(f"{who:<18} {'jsonschema-rs first':<20} direct writes {figures['direct']:>6.0f} records/s")
    if args.baseline_checkout:
        now, then = measured["this checkout"], measured["baseline checkout"]
        faster = then["seed"]["jsonschema-rs first"] / now["seed"]["jsonschema-rs first"]
        direct = now["direct"] / then["direct"]
        print(f"this checkout / baseline: seeding {faster:.2f}x faster, direct writes {direct:.2f}x")


if __name__ == "__main__":
    main()
