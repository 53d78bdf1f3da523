"""What telling whether a contact point answers now costs, per call: `reachability` for a weekday desk
(open, and closed over the weekend, when the next opening is searched), for a 24/7 line, and `summarise`
for a typical authority (a desk, an alternate and a 24/7 line), with the caches warm (as in a running
server) and cold (the first answer for a country and year, which builds its holiday table).

    .venv/bin/python bench/reachability_cost.py [--country KG] [--number 20000] [--cold 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from datetime import UTC, datetime

WEEKDAY_AFTERNOON = datetime(2026, 12, 4, 8, 5, tzinfo=UTC)  # a Friday, 14:05 in Bishkek
SATURDAY = datetime(2026, 12, 5, 8, 5, tzinfo=UTC)

DESK = {"time_zone": "Asia/Bishkek",
        "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "18:00"}]}
ALTERNATE = {"time_zone": "Asia/Bishkek",
             "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "17:00"}]}
LINE = {"time_zone": "Asia/Bishkek", "always": True}
AUTHORITY = [
    {"hours": DESK,
     "roles": [{"network": "casc", "role": "contact_point"}, {"network": "globe", "role": "contact_point"}]},
    {"hours": ALTERNATE, "roles": [{"network": "casc", "role": "alternate"}]},
    {"hours": LINE, "roles": [{"network": "casc", "role": "24_7"}]},
]


def cases(country: str) -> dict:
    from registry.services.reachability import reachability, summarise

    return {
        "reachability, desk open": lambda: reachability(DESK, country, WEEKDAY_AFTERNOON),
        "reachability, desk closed (weekend)": lambda: reachability(DESK, country, SATURDAY),
        "reachability, 24/7 line": lambda: reachability(LINE, country, WEEKDAY_AFTERNOON),
        "summarise, 3 contact points": lambda: summarise(AUTHORITY, country, WEEKDAY_AFTERNOON),
        "summarise, 3 contact points (weekend)": lambda: summarise(AUTHORITY, country, SATURDAY),
    }


def warm_microseconds(call, number: int) -> float:
    call()
    best = min(timeit.repeat(call, number=number, repeat=5))
    return best / number * 1e6


def cold_microseconds(call, calls: int) -> float:
    from registry.services import reachability

    timings = []
    for _ in range(calls):
        reachability._holidays.cache_clear()
        reachability._coverage.cache_clear()
        reachability._window.cache_clear()
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--country", default="KG", help="the authority's country (ISO 3166-1 alpha-2)")
    parser.add_argument("--number", type=int, default=20000, help="calls per timing, warm cache (best of 5)")
    parser.add_argument("--cold", type=int, default=200, help="calls, each on an emptied holiday cache (median)")
    args = parser.parse_args()

    started = time.perf_counter()
    import holidays  # noqa: F401  (its import, once per process, is not part of a call)

    print(f"importing holidays: {(time.perf_counter() - started) * 1000:.0f} ms, once per process")
    print(f"country {args.country}, microseconds per call")
    print(f"{'':<40}{'warm':>10}{'cold':>10}")
    for name, call in cases(args.country).items():
        cold = cold_microseconds(call, args.cold)
        warm = warm_microseconds(call, args.number)
        print(f"{name:<40}{warm:>10.1f}{cold:>10.1f}")


if __name__ == "__main__":
    main()
