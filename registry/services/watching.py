"""The background loops (`registry sync --watch`, `registry deliver --watch`): a round every
REGISTRY_SYNC_INTERVAL seconds until stopped, and one such loop of a kind per database. Several hosts
may start one for availability: the first holds the database's lock and works, the others stand by
and take over within a second of its end (a crash included: the lock dies with its holder)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from registry.context import Context

STANDBY_CHECK_SECONDS = 1.0


def watch(ctx: Context, name: str, *, work: Callable[[], Any], on_round: Callable[[Any], None],
          stop: Callable[[], bool], sleep: Callable = time.sleep, on_standby: Callable[[], None] | None = None,
          on_lead: Callable[[], None] | None = None) -> None:
    """Run `work()` every interval and give its result to `on_round`, while holding the lock `name`;
    `on_standby` is called when another process holds it, `on_lead` when this one takes it."""
    announced = False
    while not stop():
        with ctx.db.exclusive(f"watch-{name}") as held:
            if held:
                if on_lead is not None:
                    on_lead()
                while not stop():
                    on_round(work())
                    pause(ctx.settings.sync_interval, stop, sleep)
                return
        if on_standby is not None and not announced:
            on_standby()
            announced = True
        pause(STANDBY_CHECK_SECONDS, stop, sleep)


def pause(seconds: float, stop: Callable[[], bool], sleep: Callable = time.sleep) -> None:
    """Wait `seconds`, a second at a time so that a stop request is honoured promptly."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        sleep(min(1.0, deadline - time.monotonic()))
