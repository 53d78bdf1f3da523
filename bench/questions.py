"""The practitioner question set (tests/practitioner_questions.yaml) asked of a seeded directory:
how many questions get the expected authority first, a wrong one first, or no answer.

    .venv/bin/python bench/questions.py [--questions PATH]

Runs in-process on a fresh SQLite database seeded from seed_data/. Pointed at another checkout
(PYTHONPATH=../old python bench/questions.py --questions tests/practitioner_questions.yaml) it
gives the figures of that version beside these.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load_questions(path) -> list[dict]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["questions"]


def seeded_context(tmp: str):
    """A context on a fresh SQLite database in `tmp`, seeded from seed_data/ (the code imported is
    whichever checkout PYTHONPATH names)."""
    from registry import migrations
    from registry.config import Settings
    from registry.context import Context
    from registry.services.seed import seed

    url = f"sqlite:///{tmp}/questions.sqlite3"
    migrations.upgrade(url)
    ctx = Context.create(Settings.from_env({}, database_url=url, instance_path=tmp))
    seed(ctx)
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default=str(ROOT / "tests" / "practitioner_questions.yaml"))
    parser.add_argument("--verbose", action="store_true", help="print every question and its first answer")
    args = parser.parse_args()
    questions = load_questions(args.questions)

    from registry.errors import RegistryError
    from registry.services import Page
    from registry.services.lookup import LookupQuery, lookup
    from registry.visibility import Tier

    with tempfile.TemporaryDirectory() as tmp:
        ctx = seeded_context(tmp)
        right = wrong = none = 0
        for q in questions:
            try:
                answer = lookup(ctx, LookupQuery(country=q["country"], crime_type=q["crime_type"],
                                                 request_type=q["request_type"]), Page(1, 5), Tier.PUBLIC)
                first = answer["results"][0]["authority"]["id"].split(":", 1)[1] if answer["results"] else None
            except RegistryError as exc:
                first = f"({exc.status})"
            if first == q["first"]:
                right += 1
            elif first is None or first.startswith("("):
                none += 1
            else:
                wrong += 1
            if args.verbose:
                print(f"{'ok ' if first == q['first'] else 'NO '} {q['country']} / {q['crime_type']} / "
                      f"{q['request_type']}: {first} (expected {q['first']})")
    print(f"questions {len(questions)}  right first {right}  wrong first {wrong}  no answer {none}")


if __name__ == "__main__":
    sys.exit(main())
