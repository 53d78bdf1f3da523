"""What seeding the demonstration directory costs through the single write path, with record bodies checked
by jsonschema-rs first (as the registry does) and by `jsonschema` alone (the baseline), in the same run, each
on a fresh SQLite database: the median of a few runs, records per second, and the ratio.

    .venv/bin/python bench/seed_cost.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


class _NeverValid:
    """Stands in for the fast validator: every body goes on to `jsonschema`, as before it was used."""

    def is_valid(self, body) -> bool:
        return False


def seed_seconds() -> tuple[float, int]:
    from registry import migrations
    from registry.config import Settings
    from registry.context import Context
    from registry.progress import silent
    from registry.services.seed import Outcome, seed

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/seed.sqlite3"
        migrations.upgrade(url)
        ctx = Context.create(Settings.from_env({}, database_url=url, instance_path=tmp))
        started = time.perf_counter()
        report = seed(ctx, progress=silent)
        elapsed = time.perf_counter() - started
        ctx.db.dispose()
        return elapsed, report.total(Outcome.WRITTEN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from registry import contracts

    fast = contracts.fast_validator
    timings: dict[str, list[float]] = {"jsonschema alone (baseline)": [], "jsonschema-rs first": []}
    records = 0
    for _ in range(args.runs):
        contracts.fast_validator = lambda reference: _NeverValid()
        elapsed, records = seed_seconds()
        timings["jsonschema alone (baseline)"].append(elapsed)
        contracts.fast_validator = fast
        timings["jsonschema-rs first"].append(seed_seconds()[0])
    medians = {name: statistics.median(values) for name, values in timings.items()}
    baseline = medians["jsonschema alone (baseline)"]
    print(f"seeding {records} records, median of {args.runs} runs")
    for name, median in medians.items():
        print(f"{name:<30}{median:>7.2f} s {records / median:>7.0f} records/s {baseline / median:>6.2f}x")


if __name__ == "__main__":
    main()
