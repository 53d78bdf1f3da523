"""The business layer. Never imports Flask: every function takes a `Context` (registry.context) and
plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class Page:
    """Which slice of a result list to return; `number` counts from 1."""

    number: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class PageResult:
    items: list[dict]
    total: int
    page: Page


def today() -> date:
    return date.today()


def now() -> datetime:
    """The instant answers are computed for (who is reachable now), to the minute: an answer holds for the
    minute, and the response cache keeps it that long. Tests put the clock where they need it."""
    return datetime.now(UTC).replace(second=0, microsecond=0)
