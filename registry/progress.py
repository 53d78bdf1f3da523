"""Progress of long work (seeding, reindexing, the first sync of a large origin, generating the
benchmark directory): the work calls `progress(done, total)`; the command line shows a bar on a
terminal and plain lines otherwise (every tenth of the work, at most every few seconds, so a log stays
readable)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# (done, total): total is None while unknown.
Progress = Callable[[int, "int | None"], None]


def silent(_done: int, _total: int | None) -> None:
    """For callers that show nothing (the API, the tests)."""


class Reporter:
    """A `Progress` that writes to `stream` (standard error): a bar redrawn in place on a terminal, a
    line per tenth of the work otherwise, and a last line with the rate when `close`d."""

    def __init__(self, label: str, stream: TextIO | None = None, *, min_seconds: float = 2.0):
        self.label, self.stream, self.min_seconds = label, stream or sys.stderr, min_seconds
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.last_shown = self.started - min_seconds  # the first news is shown at once
        self.done, self.total, self.next_tenth, self.told = 0, None, 1, False

    def __call__(self, done: int, total: int | None) -> None:
        self.told = True
        self.done, self.total = done, total
        now = time.monotonic()
        if self.terminal:
            if now - self.last_shown >= 0.1 or (total and done >= total):
                self._draw()
                self.last_shown = now
            return
        tenth = int(10 * done / total) if total else 0
        if (total and tenth >= self.next_tenth) or (not total and now - self.last_shown >= self.min_seconds):
            self.next_tenth = tenth + 1
            self.last_shown = now
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        """The last line, with the rate; nothing when no progress was ever told (the work was short)."""
        if not self.told:
            return
        seconds = time.monotonic() - self.started
        rate = f", {self.done / seconds:,.0f}/s" if seconds > 0 and self.done else ""
        end = f"{self.label}: {self.done:,} done in {seconds:.1f} s{rate}"
        self.stream.write(("\r\033[K" if self.terminal else "") + end + "\n")
        self.stream.flush()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.total:
            return f"{self.label}: {self.done:,}/{self.total:,} ({100 * self.done / self.total:.0f} %), {elapsed:.1f} s"
        return f"{self.label}: {self.done:,}, {elapsed:.1f} s"

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total) if self.total else 0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r\033[K[{bar}] {self._line()}")
        self.stream.flush()
