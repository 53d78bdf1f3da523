"""What one lookup costs in-process, with the code of this checkout and of a baseline checkout, in
the same run: each seeds a fresh SQLite database with its own demonstration directory and answers
the practitioner questions (tests/practitioner_questions.yaml) many times at the public and the
restricted tier, response cache not involved; p50 and p99 per lookup, and the ratio.

    .venv/bin/python bench/lookup_cost.py [--baseline-checkout DIR] [--repeat 20]

DIR is another checkout of the registry (e.g. `git worktree add /tmp/baseline <commit>`); questions
its code cannot read (an unknown term) are skipped for both.
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from questions import load_questions, seeded_context  # noqa: E402


def measure(questions: list[dict], repeat: int) -> dict:
    from registry.errors import RegistryError
    from registry.services import Page
    from registry.services.lookup import LookupQuery, lookup
    from registry.visibility import Tier

    with tempfile.TemporaryDirectory() as tmp:
        ctx = seeded_context(tmp)
        readable, timings = [], {"public": [], "restricted": []}
        for q in questions:
            try:
                lookup(ctx, LookupQuery(country=q["country"], crime_type=q["crime_type"],
                                        request_type=q["request_type"]), Page(1, 20), Tier.PUBLIC)
                readable.append(q)
            except RegistryError:
                pass
        for _ in range(repeat):
            for q in readable:
                for name, tier in (("public", Tier.PUBLIC), ("restricted", Tier.RESTRICTED)):
                    started = time.perf_counter()
                    lookup(ctx, LookupQuery(country=q["country"], crime_type=q["crime_type"],
                                            request_type=q["request_type"]), Page(1, 20), tier)
                    timings[name].append((time.perf_counter() - started) * 1000)
        return {"readable": ["/".join((q["country"], q["crime_type"], q["request_type"])) for q in readable],
                "timings": timings}


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-checkout", help="another checkout to measure beside this one")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--questions", default=str(ROOT / "tests" / "practitioner_questions.yaml"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    if args.child:
        json.dump(measure(questions, args.repeat), sys.stdout)
        return 0

    def named(q: dict) -> str:
        return q["country"] + "/" + q["crime_type"] + "/" + q["request_type"]

    def run(checkout: Path, only: list[str] | None = None) -> dict:
        chosen = questions if only is None else [q for q in questions if named(q) in only]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump({"questions": chosen}, f, allow_unicode=True)
        env = os.environ | {"PYTHONPATH": str(checkout)}
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--repeat", str(args.repeat),
                              "--questions", f.name], env=env, cwd=checkout, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    rows = []
    common = None
    if args.baseline_checkout:
        common = run(Path(args.baseline_checkout))["readable"]
        baseline = run(Path(args.baseline_checkout), common)
    current = run(ROOT, common)
    print(f"{len(current['readable'])} questions x {args.repeat}, ms per lookup (in-process, SQLite)")
    for tier in ("public", "restricted"):
        now = current["timings"][tier]
        line = f"{tier:<11} this checkout p50 {percentile(now, 50):.2f} p99 {percentile(now, 99):.2f}"
        if args.baseline_checkout:
            then = baseline["timings"][tier]
            line += (f" | baseline p50 {percentile(then, 50):.2f} p99 {percentile(then, 99):.2f}"
                     f" | ratio p50 {percentile(now, 50) / percentile(then, 50):.2f}")
        rows.append(line)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
