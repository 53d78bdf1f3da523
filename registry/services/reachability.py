"""Whether a contact point answers at a given instant, read from its `hours` and its authority's country.

The rules:

- Weekly hours are wall-clock hours in the contact point's IANA time zone. A window whose closing time
  is not after its opening time spans midnight (22:00–06:00 closes at 06:00 the next day; 09:00–09:00
  lasts a whole day): the part after midnight belongs to the day the window opened on. Windows that
  touch or overlap make one opening, so `closes_at` is the end of the whole stretch the desk is open.
- Public holidays of the authority's country close the regular hours: no window opens on a holiday,
  wherever it would end. A night window that opened the evening before a holiday runs to its end.
  Holidays come from the `holidays` package, in English where it has English names. A country it
  does not cover (or no country) means holidays are not considered, and the answer says so
  (`holidays_known` false).
- 24/7 lines (`"always": true`) are never closed, holidays included.
- A time zone this system does not know (misspelt, or newer than its tz database) never raises: the
  state of weekly hours is unknown (`open` null, no local time); a 24/7 line is still open.
- Clock changes: a window opens at the first instant the local clock shows its opening time and closes
  at the last instant the clock shows its closing time, so a window never splits in two. A time the
  clocks skip (02:30 on a spring-forward night in Paris) is taken as the instant of the jump: at 03:00
  the clock is past 02:30, so the desk is open, and a window lying wholly in the skipped hour does not
  happen that night. A time the clocks show twice (02:30 on a fall-back night) opens at its first
  showing and closes at its second.
- The next opening is searched two weeks ahead, past weekends and holidays; none within that is null.
  An opening that lasts beyond that horizon has a null `closes_at`.

The instant is always a parameter (an aware datetime): the functions read no clock unless it is left out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 14

_WEEKDAY_INDEX = {day: index for index, day in enumerate(WEEKDAYS)}
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Reachability:
    """A contact point's state at one instant. Datetimes are aware, in the contact point's zone.

    `open` is None when the weekly hours cannot be read (unknown time zone, malformed hours)."""

    open: bool | None
    always: bool
    time_zone: str
    local_time: datetime | None
    closes_at: datetime | None = None
    next_opening: datetime | None = None
    holiday: str | None = None
    holidays_known: bool = False

    def as_json(self) -> dict:
        """The `reachability` object of the API (schemas/reachability.json)."""
        return {
            "open": self.open,
            "always": self.always,
            "time_zone": self.time_zone,
            "local_time": _iso(self.local_time),
            "closes_at": _iso(self.closes_at),
            "next_opening": _iso(self.next_opening),
            "holiday": self.holiday,
            "holidays_known": self.holidays_known,
        }


@dataclass(frozen=True, slots=True)
class AuthorityReachability:
    """An authority's contact points at one instant, in the order given.

    `any_open` is None when none is open and the state of at least one is unknown. `only_24_7_now` is
    true when a 24/7 line is the only way in now: no contact point with regular hours is open (and
    the state of each is known) while one with `always` hours exists. `next_opening` is the earliest
    next opening of the regular hours when none of them is open."""

    any_open: bool | None
    only_24_7_now: bool
    next_opening: datetime | None
    open_roles: tuple[str, ...]
    contact_points: tuple[Reachability, ...]

    def as_json(self) -> dict:
        return {
            "any_open": self.any_open,
            "only_24_7_now": self.only_24_7_now,
            "next_opening": _iso(self.next_opening),
            "open_roles": list(self.open_roles),
            "contact_points": [point.as_json() for point in self.contact_points],
        }


def reachability(hours: Mapping, country: str | None, at: datetime | None = None) -> Reachability:
    """The state at `at` (an aware datetime; now when left out) of a contact point with these `hours`
    (the record body's `hours` object) in an authority of `country` (ISO 3166-1 alpha-2)."""
    at = _instant(at)
    key = _hours_key(hours)
    if key is None:
        return _reachability(hours, country, at)
    return _shared(key, country, at)


def _hours_key(hours) -> tuple | None:
    """The hours as a hashable value, or None when they are not of the expected shape."""
    try:
        weekly = hours.get("weekly")
        slots = None if weekly is None else tuple((tuple(slot["days"]), slot["opens"], slot["closes"])
                                                    for slot in weekly)
        return hours.get("time_zone"), hours.get("always"), slots
    except (AttributeError, KeyError, TypeError):
        return None


@functools.lru_cache(maxsize=4096)
def _shared(key: tuple, country: str | None, at: datetime) -> Reachability:
    # Contact points of one country mostly keep the same hours, and a lookup page asks about many of them
    # at the same instant (answers are computed to the minute): each distinct case is worked out once.
    time_zone, always, slots = key
    hours = {"time_zone": time_zone, "always": always,
             "weekly": None if slots is None else [{"days": list(d), "opens": o, "closes": c} for d, o, c in slots]}
    return _reachability({k: v for k, v in hours.items() if v is not None}, country, at)


def _reachability(hours: Mapping, country: str | None, at: datetime) -> Reachability:
    time_zone = hours.get("time_zone") if isinstance(hours, Mapping) else None
    time_zone = time_zone if isinstance(time_zone, str) else ""
    always = isinstance(hours, Mapping) and hours.get("always") is True
    zone = _zone(time_zone)
    if zone is None:
        return Reachability(open=True if always else None, always=always, time_zone=time_zone, local_time=None)

    local = at.astimezone(zone)
    today = local.date()
    calendar = _Calendar(country)
    holiday = calendar.holiday(today)
    if always:
        return Reachability(open=True, always=True, time_zone=time_zone, local_time=local, holiday=holiday,
                            holidays_known=calendar.known)

    week = _week(hours.get("weekly"))
    if week is None:
        return Reachability(open=None, always=False, time_zone=time_zone, local_time=local)

    closes_at = next_opening = None
    is_open = False
    for start, end, bounded in _openings(week, zone, calendar, today - timedelta(days=1),
                                         today + timedelta(days=HORIZON_DAYS)):
        if end <= at:
            continue
        if start <= at:
            is_open = True
            closes_at = end.astimezone(zone) if bounded else None
        else:
            next_opening = start.astimezone(zone)
        break
    return Reachability(open=is_open, always=False, time_zone=time_zone, local_time=local, closes_at=closes_at,
                        next_opening=next_opening, holiday=holiday, holidays_known=calendar.known)


def summarise(contact_points: Iterable[Mapping], country: str | None,
              at: datetime | None = None) -> AuthorityReachability:
    """The state at `at` of an authority's contact points, each a mapping with `hours` and `roles`
    (a contact point record body will do)."""
    at = _instant(at)
    points = [(point, reachability(point.get("hours") or {}, country, at)) for point in contact_points]
    regular = [state for _, state in points if not state.always]
    lines = [state for _, state in points if state.always]
    if any(state.open for _, state in points):
        any_open: bool | None = True
    elif any(state.open is None for _, state in points):
        any_open = None
    else:
        any_open = False
    regular_open = any(state.open for state in regular)
    regular_known = all(state.open is not None for state in regular)
    openings = [state.next_opening for state in regular if state.next_opening is not None]
    roles = {role.get("role") for point, state in points if state.open
             for role in point.get("roles") or () if isinstance(role, Mapping)}
    return AuthorityReachability(
        any_open=any_open,
        only_24_7_now=bool(lines) and not regular_open and regular_known,
        next_opening=None if regular_open or not openings else min(openings, key=lambda moment: moment.astimezone(UTC)),
        open_roles=tuple(sorted(role for role in roles if isinstance(role, str))),
        contact_points=tuple(state for _, state in points),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(at: datetime | None) -> datetime:
    if at is None:
        return _now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant must be an aware datetime")
    # In UTC: an instant given in a repeated hour (fold=1) would never compare equal to one of another zone.
    return at.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    # A malformed key is a ValueError, a key naming a folder of the tz database an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# --- Weekly hours -------------------------------------------------------------------------------------------

# Per weekday (Monday first), the windows opening that day: (opens, closes, days later it closes), by opens.
_Week = tuple[tuple[tuple[time, time, int], ...], ...]


def _week(weekly) -> _Week | None:
    """The weekly hours by weekday, or None when they cannot be read."""
    if not isinstance(weekly, list) or not weekly:
        return None
    days: list[list[tuple[time, time, int]]] = [[] for _ in WEEKDAYS]
    for window in weekly:
        if not isinstance(window, Mapping) or not isinstance(window.get("days"), list) or not window["days"]:
            return None
        opens, closes = window.get("opens"), window.get("closes")
        opens = _time(opens) if isinstance(opens, str) else None
        closes = _time(closes) if isinstance(closes, str) else None
        if opens is None or closes is None:
            return None
        for day in window["days"]:
            index = _WEEKDAY_INDEX.get(day) if isinstance(day, str) else None
            if index is None:
                return None
            days[index].append((opens, closes, 0 if closes > opens else 1))
    return tuple(tuple(sorted(windows)) for windows in days)


@functools.lru_cache(maxsize=2048)
def _time(value: str) -> time | None:
    match = _TIME.fullmatch(value)
    return time(int(match[1]), int(match[2])) if match else None


def _openings(week: _Week, zone: ZoneInfo, calendar: _Calendar, first: date,
              last: date) -> Iterator[tuple[datetime, datetime, bool]]:
    """The openings (UTC start, UTC end, whether the end is known) of the windows that open from day
    `first` to day `last`, in order, touching and overlapping windows merged. Computed lazily: an answer
    reads them only up to the first opening that ends after its instant, a few days at most in a week
    with hours."""
    current: tuple[datetime, datetime] | None = None
    day = first
    while day <= last:
        windows = week[day.weekday()]
        if windows and calendar.holiday(day) is None:
            for opens, closes, later in windows:
                start, end = _window(zone, day, opens, closes, later)
                if start >= end:
                    continue
                if current is not None and start <= current[1]:
                    current = (current[0], max(current[1], end))
                    continue
                if current is not None:
                    yield current[0], current[1], True
                current = (start, end)
        day += timedelta(days=1)
    if current is not None:
        # A window of a day beyond the horizon might extend this opening.
        yield current[0], current[1], False


# Most contact points of a zone keep the same few hours, and every answer of a day asks for the same days:
# their instants are worth keeping.
@functools.lru_cache(maxsize=4096)
def _window(zone: ZoneInfo, day: date, opens: time, closes: time, later: int) -> tuple[datetime, datetime]:
    """The UTC instants a window opening on `day` opens and closes."""
    return _first_showing(day, opens, zone), _last_showing(day + timedelta(days=later), closes, zone)


def _first_showing(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) the local clock shows `at` on `day`, or the jump over it."""
    earlier = datetime.combine(day, at, tzinfo=zone)
    later = earlier.replace(fold=1)
    if earlier.utcoffset() < later.utcoffset():
        return _jump(earlier, later)
    return earlier.astimezone(UTC)


def _last_showing(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The last instant (UTC) the local clock shows `at` on `day`, or the jump over it."""
    earlier = datetime.combine(day, at, tzinfo=zone)
    later = earlier.replace(fold=1)
    if earlier.utcoffset() < later.utcoffset():
        return _jump(earlier, later)
    return later.astimezone(UTC)


def _jump(read_before: datetime, read_after: datetime) -> datetime:
    """The instant the clocks jump over a wall time they skip. zoneinfo reads the skipped time with the
    offset before the jump (fold 0) or after it (fold 1); the jump lies between the two readings, found
    to the second by bisection."""
    zone = read_before.tzinfo
    offset = read_before.utcoffset()
    low = int(read_after.timestamp())  # an instant still on the offset before the jump
    high = int(read_before.timestamp())  # an instant already on the offset after it
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


# --- Public holidays ----------------------------------------------------------------------------------------

class _Calendar:
    """A country's public holidays, year by year as the days asked for need them."""

    __slots__ = ("country", "known")

    def __init__(self, country: str | None):
        code = country.upper() if isinstance(country, str) else ""
        self.known = bool(_COUNTRY.fullmatch(code)) and _coverage(code).covered
        self.country = code if self.known else None

    def holiday(self, day: date) -> str | None:
        if self.country is None:
            return None
        return _holidays(self.country, day.year).get(day)


@dataclass(frozen=True, slots=True)
class _Coverage:
    covered: bool
    language: str | None = None  # None: the package's default language for the country


@functools.lru_cache(maxsize=512)
def _coverage(country: str) -> _Coverage:
    holidays = _holidays_package()
    try:
        table = holidays.country_holidays(country, years=())
    except NotImplementedError:
        return _Coverage(covered=False)
    return _Coverage(covered=True, language="en_US" if "en_US" in table.supported_languages else None)


@functools.lru_cache(maxsize=1024)
def _holidays(country: str, year: int) -> Mapping[date, str]:
    holidays = _holidays_package()
    # expand=False and a copy: the cached table is never filled in behind a reader's back.
    table = holidays.country_holidays(country, years=year, language=_coverage(country).language, expand=False)
    return MappingProxyType(dict(table))


def _holidays_package():
    # Imported on first use: the package takes about 90 ms to import, and most processes never need it.
    import holidays

    return holidays
