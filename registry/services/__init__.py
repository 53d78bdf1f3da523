"""The business layer. Never imports Flask: every function takes a `Context` (registry.context) and
plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
