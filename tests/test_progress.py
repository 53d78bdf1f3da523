"""Progress of long command-line work: a bar on a terminal, plain lines in a log, a last line with the
rate; seeding and reindexing report it on standard error."""

from __future__ import annotations

import io
import os
import subprocess

from conftest import fresh_database_url
from nodes import REGISTRY

from registry.progress import Reporter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_tenth_and_a_last_line_with_the_rate():
    out = io.StringIO()
    with Reporter("work", out) as progress:
        for done in range(1, 1001):
            progress(done, 1000)
    lines = out.getvalue().splitlines()
    assert [line.split("(")[1].split(")")[0] for line in lines[:-1]] == [f"{n} %" for n in range(10, 101, 10)]
    assert lines[-1].startswith("work: 1,000 done in ") and lines[-1].endswith("/s")
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out = Terminal()
    with Reporter("work", out) as progress:
        progress(5, 10)
        progress(10, 10)
    text = out.getvalue()
    assert "\r\033[K[###############---------------] work: 5/10 (50 %)" in text
    assert "[##############################] work: 10/10 (100 %)" in text and text.endswith("/s\n")


def test_work_that_never_told_its_progress_prints_nothing():
    out = io.StringIO()
    Reporter("work", out).close()
    assert out.getvalue() == ""


def test_seed_and_reindex_report_their_progress_on_standard_error(backend, tmp_path):
    env = os.environ | {"REGISTRY_DATABASE_URL": fresh_database_url(backend, tmp_path),
                        "REGISTRY_INSTANCE_PATH": str(tmp_path)}
    seeded = subprocess.run([REGISTRY, "seed"], env=env, capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    assert "seed: records: " in seeded.stderr and "(100 %)" in seeded.stderr and "authority: " in seeded.stdout
    reindexed = subprocess.run([REGISTRY, "reindex"], env=env, capture_output=True, text=True, timeout=300)
    assert reindexed.returncode == 0, reindexed.stderr
    assert "reindex: records: " in reindexed.stderr and "(100 %)" in reindexed.stderr
    assert "documents indexed" in reindexed.stdout
