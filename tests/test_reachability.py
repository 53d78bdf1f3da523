"""Whether a contact point answers now: weekly hours in its time zone, public holidays, 24/7 lines,
night windows, clock changes, odd offsets and time zones the system does not know."""

import functools
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from registry.services.reachability import WEEKDAYS, reachability, summarise

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "reachability.json").read_text(encoding="utf-8"))
SCHEMA_VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())

WORKING_WEEK = ["mon", "tue", "wed", "thu", "fri"]


def weekly(*windows, days=WORKING_WEEK):
    return [{"days": days, "opens": opens, "closes": closes} for opens, closes in windows]


def desk(zone, *windows, days=WORKING_WEEK):
    return {"time_zone": zone, "weekly": weekly(*windows, days=days)}


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(zone, *parts, fold=0):
    return datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold)


def served(state) -> dict:
    document = state.as_json()
    assert not list(SCHEMA_VALIDATOR.iter_errors(document)), document
    return document


BISHKEK = desk("Asia/Bishkek", ("09:00", "18:00"))


# --- Fixed cases ----------------------------------------------------------------------------------------------

def test_a_bishkek_desk_on_a_weekday_afternoon_is_open_until_six():
    state = reachability(BISHKEK, "KG", utc(2026, 12, 4, 8, 5))  # a Friday
    assert served(state) == {
        "open": True, "always": False, "time_zone": "Asia/Bishkek", "local_time": "2026-12-04T14:05:00+06:00",
        "closes_at": "2026-12-04T18:00:00+06:00", "next_opening": None, "holiday": None, "holidays_known": True,
    }
    assert state.local_time == local("Asia/Bishkek", 2026, 12, 4, 14, 5)


def test_the_desk_closes_at_closing_time_and_opens_at_opening_time():
    assert reachability(BISHKEK, "KG", utc(2026, 12, 4, 11, 59, 59)).open is True
    closing = reachability(BISHKEK, "KG", utc(2026, 12, 4, 12, 0))
    assert closing.open is False and closing.closes_at is None
    assert served(closing)["next_opening"] == "2026-12-07T09:00:00+06:00"  # Friday evening: Monday morning
    assert reachability(BISHKEK, "KG", utc(2026, 12, 7, 3, 0)).open is True


@pytest.mark.parametrize("hours, country, at, holiday, next_opening", [
    (BISHKEK, "KG", utc(2026, 8, 31, 8, 5), "Independence Day", "2026-09-01T09:00:00+06:00"),
    (desk("Europe/Paris", ("09:00", "17:30")), "FR", utc(2026, 7, 14, 8, 0), "National Day",
     "2026-07-15T09:00:00+02:00"),
    (desk("Asia/Kolkata", ("10:00", "18:00")), "IN", utc(2026, 1, 26, 6, 0), "Republic Day",
     "2026-01-27T10:00:00+05:30"),
])
def test_a_public_holiday_closes_the_regular_hours(hours, country, at, holiday, next_opening):
    state = served(reachability(hours, country, at))
    assert state["open"] is False and state["closes_at"] is None
    assert state["holiday"] == holiday and state["holidays_known"] is True
    assert state["next_opening"] == next_opening


def test_a_holiday_on_a_friday_sends_the_next_opening_past_the_weekend():
    # 1 May 2026 (Labour Day in France) is a Friday.
    state = served(reachability(desk("Europe/Paris", ("09:00", "17:00")), "FR", utc(2026, 4, 30, 18, 0)))
    assert state["open"] is False and state["holiday"] is None
    assert state["next_opening"] == "2026-05-04T09:00:00+02:00"


def test_on_a_weekend_the_next_opening_is_monday_morning():
    state = served(reachability(BISHKEK, "KG", utc(2026, 12, 5, 8, 5)))  # a Saturday
    assert state["open"] is False and state["holiday"] is None
    assert state["next_opening"] == "2026-12-07T09:00:00+06:00"


def test_a_sunday_to_thursday_week():
    hours = desk("Asia/Riyadh", ("08:00", "15:00"), days=["sun", "mon", "tue", "wed", "thu"])
    assert reachability(hours, "SA", utc(2026, 12, 6, 6, 0)).open is True  # Sunday 09:00
    friday = served(reachability(hours, "SA", utc(2026, 12, 4, 9, 0)))
    assert friday["open"] is False and friday["next_opening"] == "2026-12-06T08:00:00+03:00"


def test_a_split_day_is_closed_over_lunch_and_touching_windows_make_one_opening():
    split = desk("Asia/Ho_Chi_Minh", ("08:00", "12:00"), ("13:30", "17:00"))
    lunch = served(reachability(split, "VN", utc(2026, 12, 3, 5, 30)))  # Thursday 12:30
    assert lunch["open"] is False and lunch["next_opening"] == "2026-12-03T13:30:00+07:00"
    assert served(reachability(split, "VN", utc(2026, 12, 3, 2, 0)))["closes_at"] == "2026-12-03T12:00:00+07:00"
    touching = desk("Asia/Ho_Chi_Minh", ("12:00", "17:00"), ("08:00", "12:00"))
    assert served(reachability(touching, "VN", utc(2026, 12, 3, 2, 0)))["closes_at"] == "2026-12-03T17:00:00+07:00"


NIGHTS = desk("Asia/Bishkek", ("22:00", "06:00"))


def test_a_night_window_runs_past_midnight_into_the_next_day():
    friday_night = served(reachability(NIGHTS, "KG", utc(2026, 12, 4, 21, 0)))  # Saturday 03:00
    assert friday_night["open"] is True and friday_night["closes_at"] == "2026-12-05T06:00:00+06:00"
    # Early Monday belongs to Sunday's night, which has no window.
    monday = served(reachability(NIGHTS, "KG", utc(2026, 12, 6, 21, 0)))
    assert monday["open"] is False and monday["next_opening"] == "2026-12-07T22:00:00+06:00"
    assert reachability(NIGHTS, "KG", utc(2026, 12, 7, 16, 0)).open is True  # Monday 22:00


def test_a_holiday_cancels_its_own_night_window_but_not_the_one_opened_the_evening_before():
    every_night = desk("Asia/Bishkek", ("22:00", "06:00"), days=list(WEEKDAYS))
    holiday_morning = served(reachability(every_night, "KG", utc(2026, 8, 30, 21, 0)))  # 31 August 03:00
    assert holiday_morning["open"] is True and holiday_morning["holiday"] == "Independence Day"
    assert holiday_morning["closes_at"] == "2026-08-31T06:00:00+06:00"
    holiday_night = served(reachability(every_night, "KG", utc(2026, 8, 31, 17, 0)))  # 31 August 23:00
    assert holiday_night["open"] is False and holiday_night["next_opening"] == "2026-09-01T22:00:00+06:00"
    assert reachability(every_night, "KG", utc(2026, 8, 31, 21, 0)).open is False  # 1 September 03:00


def test_a_window_of_a_whole_day():
    hours = desk("Asia/Bishkek", ("00:00", "00:00"), days=["sat"])
    saturday = served(reachability(hours, "KG", utc(2026, 12, 5, 8, 0)))
    assert saturday["open"] is True and saturday["closes_at"] == "2026-12-06T00:00:00+06:00"


def test_a_24_7_line_is_open_on_holidays_and_never_closes():
    state = served(reachability({"time_zone": "Asia/Bishkek", "always": True}, "KG", utc(2026, 8, 31, 20, 0)))
    assert state == {
        "open": True, "always": True, "time_zone": "Asia/Bishkek", "local_time": "2026-09-01T02:00:00+06:00",
        "closes_at": None, "next_opening": None, "holiday": None, "holidays_known": True,
    }
    on_the_day = served(reachability({"time_zone": "Asia/Bishkek", "always": True}, "KG", utc(2026, 8, 31, 8, 0)))
    assert on_the_day["open"] is True and on_the_day["holiday"] == "Independence Day"


def test_kathmandu_five_forty_five_ahead():
    hours = desk("Asia/Kathmandu", ("10:00", "17:00"), days=["sun", "mon", "tue", "wed", "thu", "fri"])
    before = served(reachability(hours, "NP", utc(2026, 12, 3, 4, 14)))
    assert before["local_time"] == "2026-12-03T09:59:00+05:45"
    assert before["open"] is False and before["next_opening"] == "2026-12-03T10:00:00+05:45"
    at_ten = served(reachability(hours, "NP", utc(2026, 12, 3, 4, 15)))
    assert at_ten["local_time"] == "2026-12-03T10:00:00+05:45"
    assert at_ten["open"] is True and at_ten["closes_at"] == "2026-12-03T17:00:00+05:45"
    saturday = served(reachability(hours, "NP", utc(2026, 12, 5, 6, 0)))
    assert saturday["open"] is False and saturday["next_opening"] == "2026-12-06T10:00:00+05:45"


def test_kolkata_five_thirty_ahead():
    hours = desk("Asia/Kolkata", ("09:30", "18:00"))
    assert served(reachability(hours, "IN", utc(2026, 12, 3, 3, 59)))["local_time"] == "2026-12-03T09:29:00+05:30"
    assert reachability(hours, "IN", utc(2026, 12, 3, 3, 59)).open is False
    assert reachability(hours, "IN", utc(2026, 12, 3, 4, 0)).open is True
    assert reachability(hours, "IN", utc(2026, 12, 3, 12, 29)).open is True
    evening = served(reachability(hours, "IN", utc(2026, 12, 3, 12, 30)))
    assert evening["local_time"] == "2026-12-03T18:00:00+05:30"
    assert evening["open"] is False and evening["next_opening"] == "2026-12-04T09:30:00+05:30"


# Europe/Paris, 29 March 2026: at 01:00 UTC the clocks go from 02:00 (+01:00) to 03:00 (+02:00).
# 25 October 2026: at 01:00 UTC they go back from 03:00 (+02:00) to 02:00 (+01:00).
SUNDAY = ["sun"]


def test_spring_forward_a_night_window_over_the_skipped_hour_is_an_hour_shorter():
    hours = desk("Europe/Paris", ("01:00", "04:00"), days=SUNDAY)
    state = served(reachability(hours, "FR", utc(2026, 3, 29, 0, 30)))
    assert state["local_time"] == "2026-03-29T01:30:00+01:00"
    assert state["open"] is True and state["closes_at"] == "2026-03-29T04:00:00+02:00"
    assert reachability(hours, "FR", utc(2026, 3, 29, 1, 59)).open is True
    assert reachability(hours, "FR", utc(2026, 3, 29, 2, 0)).open is False


def test_spring_forward_an_opening_time_the_clocks_skip_opens_at_the_jump():
    hours = desk("Europe/Paris", ("02:30", "05:00"), days=SUNDAY)
    before = served(reachability(hours, "FR", utc(2026, 3, 29, 0, 59, 59)))
    assert before["open"] is False and before["next_opening"] == "2026-03-29T03:00:00+02:00"
    jump = served(reachability(hours, "FR", utc(2026, 3, 29, 1, 0)))
    assert jump["local_time"] == "2026-03-29T03:00:00+02:00"
    assert jump["open"] is True and jump["closes_at"] == "2026-03-29T05:00:00+02:00"


def test_spring_forward_a_window_inside_the_skipped_hour_does_not_happen():
    hours = desk("Europe/Paris", ("02:00", "03:00"), days=SUNDAY)
    state = served(reachability(hours, None, utc(2026, 3, 29, 0, 30)))
    assert state["open"] is False and state["next_opening"] == "2026-04-05T02:00:00+02:00"


def test_spring_forward_a_closing_time_the_clocks_skip_closes_at_the_jump():
    hours = desk("Europe/Paris", ("01:00", "02:30"), days=SUNDAY)
    state = served(reachability(hours, "FR", utc(2026, 3, 29, 0, 15)))
    assert state["open"] is True and state["closes_at"] == "2026-03-29T03:00:00+02:00"
    assert reachability(hours, "FR", utc(2026, 3, 29, 1, 0)).open is False


def test_fall_back_a_night_window_over_the_repeated_hour_is_an_hour_longer():
    hours = desk("Europe/Paris", ("01:00", "04:00"), days=SUNDAY)
    for moment in (utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30),
                   utc(2026, 10, 25, 2, 59)):
        state = served(reachability(hours, "FR", moment))
        assert state["open"] is True and state["closes_at"] == "2026-10-25T04:00:00+01:00"
    assert reachability(hours, "FR", utc(2026, 10, 25, 3, 0)).open is False


def test_fall_back_a_window_of_the_repeated_hour_covers_both_passes():
    hours = desk("Europe/Paris", ("02:00", "03:00"), days=SUNDAY)
    first = served(reachability(hours, "FR", utc(2026, 10, 25, 0, 30)))
    second = served(reachability(hours, "FR", utc(2026, 10, 25, 1, 30)))
    assert first["local_time"] == "2026-10-25T02:30:00+02:00" and second["local_time"] == "2026-10-25T02:30:00+01:00"
    assert first["open"] is True and second["open"] is True
    assert first["closes_at"] == second["closes_at"] == "2026-10-25T03:00:00+01:00"
    before = served(reachability(hours, "FR", utc(2026, 10, 24, 23, 59)))
    assert before["open"] is False and before["next_opening"] == "2026-10-25T02:00:00+02:00"


def test_fall_back_a_closing_time_shown_twice_closes_at_its_second_showing():
    hours = desk("Europe/Paris", ("01:00", "02:30"), days=SUNDAY)
    # 02:45 on the first pass is past the closing time, but the window does not split in two.
    state = served(reachability(hours, "FR", utc(2026, 10, 25, 0, 45)))
    assert state["open"] is True and state["closes_at"] == "2026-10-25T02:30:00+01:00"
    assert reachability(hours, "FR", utc(2026, 10, 25, 1, 30)).open is False


def test_office_hours_across_a_clock_change_weekend():
    hours = desk("Europe/Paris", ("09:00", "18:00"))
    saturday = served(reachability(hours, "FR", utc(2026, 3, 28, 11, 0)))
    assert saturday["local_time"] == "2026-03-28T12:00:00+01:00"
    assert saturday["next_opening"] == "2026-03-30T09:00:00+02:00"
    autumn = served(reachability(hours, "FR", utc(2026, 10, 24, 10, 0)))
    assert autumn["next_opening"] == "2026-10-26T09:00:00+01:00"


@pytest.mark.parametrize("country", [None, "XX", "ZZ", "kg", "KGZ", ""])
def test_a_country_without_known_holidays_is_said_so(country):
    state = served(reachability(BISHKEK, country, utc(2026, 8, 31, 8, 5)))
    known = country == "kg"  # the code is read in either case
    assert state["holidays_known"] is known
    assert state["open"] is not known and state["holiday"] == ("Independence Day" if known else None)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "../etc/passwd", "", "Europe/Paris\x00", "UTC/+5"])
def test_a_time_zone_the_system_does_not_know_is_an_unknown_state(zone):
    state = served(reachability(desk(zone, ("09:00", "18:00")), "FR", utc(2026, 12, 4, 8, 5)))
    assert state == {
        "open": None, "always": False, "time_zone": zone, "local_time": None, "closes_at": None,
        "next_opening": None, "holiday": None, "holidays_known": False,
    }
    line = served(reachability({"time_zone": zone, "always": True}, "FR", utc(2026, 12, 4, 8, 5)))
    assert line["open"] is True and line["local_time"] is None


@pytest.mark.parametrize("hours", [
    {}, {"time_zone": "Asia/Bishkek"}, {"time_zone": "Asia/Bishkek", "weekly": []},
    {"time_zone": "Asia/Bishkek", "weekly": [{"days": ["mon"], "opens": "9:00", "closes": "18:00"}]},
    {"time_zone": "Asia/Bishkek", "weekly": [{"days": ["monday"], "opens": "09:00", "closes": "18:00"}]},
    {"time_zone": 42, "always": True},
])
def test_hours_that_cannot_be_read_are_an_unknown_state(hours):
    state = served(reachability(hours, "KG", utc(2026, 12, 4, 8, 5)))
    assert state["open"] is (True if hours.get("always") else None)


def test_the_instant_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        reachability(BISHKEK, "KG", datetime(2026, 12, 4, 14, 5))


def test_the_instant_may_be_given_in_any_zone():
    hours = desk("Europe/Paris", ("02:00", "03:00"), days=SUNDAY)
    second_pass = local("Europe/Paris", 2026, 10, 25, 2, 30, fold=1)
    assert reachability(hours, "FR", second_pass) == reachability(hours, "FR", utc(2026, 10, 25, 1, 30))
    assert reachability(BISHKEK, "KG", local("America/New_York", 2026, 12, 4, 3, 5)).as_json() == (
        reachability(BISHKEK, "KG", utc(2026, 12, 4, 8, 5)).as_json())


def test_without_an_instant_the_answer_is_for_now():
    before = datetime.now(UTC)
    state = reachability({"time_zone": "Asia/Bishkek", "always": True}, "KG")
    assert before <= state.local_time <= datetime.now(UTC)


# --- An authority's contact points ----------------------------------------------------------------------------

AUTHORITY = [
    {"hours": BISHKEK,
     "roles": [{"network": "casc", "role": "contact_point"}, {"network": "globe", "role": "contact_point"}]},
    {"hours": desk("Asia/Bishkek", ("09:00", "17:00")), "roles": [{"network": "casc", "role": "alternate"}]},
    {"hours": {"time_zone": "Asia/Bishkek", "always": True}, "roles": [{"network": "casc", "role": "24_7"}]},
]


def test_on_a_weekday_afternoon_the_desks_answer():
    summary = summarise(AUTHORITY, "KG", utc(2026, 12, 4, 8, 5))
    assert summary.any_open is True and summary.only_24_7_now is False
    assert summary.open_roles == ("24_7", "alternate", "contact_point") and summary.next_opening is None
    assert [point.open for point in summary.contact_points] == [True, True, True]


def test_at_six_thirty_the_alternate_has_gone_home():
    summary = summarise(AUTHORITY, "KG", utc(2026, 12, 4, 11, 30))
    assert summary.open_roles == ("24_7", "contact_point") and summary.only_24_7_now is False


def test_at_the_weekend_and_on_holidays_only_the_24_7_line_answers():
    for moment in (utc(2026, 12, 5, 8, 5), utc(2026, 8, 31, 8, 5)):
        summary = summarise(AUTHORITY, "KG", moment)
        assert summary.any_open is True and summary.only_24_7_now is True and summary.open_roles == ("24_7",)
    document = summarise(AUTHORITY, "KG", utc(2026, 12, 5, 8, 5)).as_json()
    assert document["next_opening"] == "2026-12-07T09:00:00+06:00"
    assert [point["open"] for point in document["contact_points"]] == [False, False, True]


def test_without_a_24_7_line_nobody_answers_at_night():
    summary = summarise(AUTHORITY[:2], "KG", utc(2026, 12, 4, 20, 0))
    assert summary.any_open is False and summary.only_24_7_now is False
    assert summary.as_json()["next_opening"] == "2026-12-07T09:00:00+06:00"


def test_a_desk_in_an_unknown_time_zone_is_not_taken_for_closed():
    lost = [{"hours": desk("Mars/Olympus", ("09:00", "18:00")), "roles": []}]
    assert summarise(lost, "KG", utc(2026, 12, 5, 8, 5)).any_open is None
    summary = summarise(lost + AUTHORITY[2:], "KG", utc(2026, 12, 5, 8, 5))
    assert summary.any_open is True and summary.only_24_7_now is False
    assert summarise([], "KG", utc(2026, 12, 5, 8, 5)).any_open is False


# --- Properties over instants, zones and hours ----------------------------------------------------------------

ZONES = ["Asia/Kathmandu", "Asia/Kolkata", "Europe/Paris", "America/New_York", "Australia/Lord_Howe",
         "Pacific/Chatham", "Asia/Bishkek", "Africa/Abidjan"]
COUNTRIES = [None, "XX", "FR", "KG", "IN", "NP", "US", "AU", "NZ", "CI"]

# Up to December 2035: the package knows India's holidays to 2035, and answers look two weeks ahead.
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 1), timezones=st.just(UTC))


def clock_changes(zone: str) -> list[datetime]:
    """The instants the zone's clocks change from 2020 to 2035, to the second."""
    tz, found = ZoneInfo(zone), []
    moment = datetime(2020, 1, 1, tzinfo=UTC)
    while moment < datetime(2036, 1, 1, tzinfo=UTC):
        low, high = moment, moment + timedelta(days=1)
        if low.astimezone(tz).utcoffset() != high.astimezone(tz).utcoffset():
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment += timedelta(days=1)
    return found


CLOCK_CHANGES = {zone: clock_changes(zone) for zone in ZONES}

# Times around clock changes (01:00–03:00 in most of these zones, 02:45 on the Chatham Islands) turn up often.
clock_times = st.one_of(
    st.sampled_from(["00:00", "01:00", "01:30", "02:00", "02:15", "02:30", "02:45", "03:00", "03:45", "09:00",
                     "18:00", "22:00"]),
    st.builds(lambda hour, minute: f"{hour:02d}:{minute:02d}", st.integers(0, 23), st.integers(0, 59)),
)
windows = st.fixed_dictionaries({"days": st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
                                 "opens": clock_times, "closes": clock_times})


@st.composite
def cases(draw, always=True):
    """Hours in one of the zones, and an instant: any, or within a day of one of the zone's clock changes."""
    zone = draw(st.sampled_from(ZONES))
    if always and draw(st.integers(0, 5)) == 0:
        hours = {"time_zone": zone, "always": True}
    else:
        hours = {"time_zone": zone, "weekly": draw(st.lists(windows, min_size=1, max_size=3))}
    at = draw(instants)
    if CLOCK_CHANGES[zone] and draw(st.booleans()):
        at = draw(st.sampled_from(CLOCK_CHANGES[zone])) + timedelta(seconds=draw(st.integers(-26 * 3600, 26 * 3600)))
    return hours, draw(st.sampled_from(COUNTRIES)), at


PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _clock(value: str) -> time:
    return time.fromisoformat(value)


@functools.cache
def _holiday_dates(country, year) -> frozenset:
    return frozenset(holidays.country_holidays(country, years=year))


def _holiday(country, day) -> bool:
    return country not in (None, "XX") and day in _holiday_dates(country, day.year)


def wall_clock_says_open(hours, country, at) -> bool:
    """Reading the hours off the local wall clock, the way a person would: today's windows and the part
    after midnight of yesterday's, neither opened on a holiday."""
    now = at.astimezone(ZoneInfo(hours["time_zone"]))
    today, clock = now.date(), now.time().replace(tzinfo=None)
    yesterday = today - timedelta(days=1)
    for window in hours["weekly"]:
        opens, closes = _clock(window["opens"]), _clock(window["closes"])
        if WEEKDAYS[today.weekday()] in window["days"] and not _holiday(country, today) and (
                opens <= clock < closes or (closes <= opens and clock >= opens)):
            return True
        if WEEKDAYS[yesterday.weekday()] in window["days"] and not _holiday(country, yesterday) and (
                closes <= opens and clock < closes):
            return True
    return False


def near_a_clock_change(zone: str, at: datetime) -> bool:
    tz = ZoneInfo(zone)
    return (at - timedelta(hours=3)).astimezone(tz).utcoffset() != (at + timedelta(hours=3)).astimezone(tz).utcoffset()


@PROPERTIES
@given(case=cases())
def test_the_local_time_is_the_instant_in_the_zone(case):
    hours, country, at = case
    state = reachability(hours, country, at)
    zone = ZoneInfo(hours["time_zone"])
    # Compared in UTC: an aware datetime in a repeated hour (fold=1) never equals one of another zone.
    assert state.local_time.astimezone(UTC) == at and state.local_time.tzinfo is zone
    assert state.local_time.utcoffset() == at.astimezone(zone).utcoffset()
    assert served(state)["local_time"] == at.astimezone(zone).isoformat(timespec="seconds")
    assert state.holidays_known is (country not in (None, "XX"))


@PROPERTIES
@given(case=cases(), fraction=st.integers(1, 999))
def test_open_until_closes_at_and_closed_until_next_opening(case, fraction):
    hours, country, at = case
    state = reachability(hours, country, at)
    served(state)
    if state.always:
        assert state.open is True and state.closes_at is None and state.next_opening is None
        return
    assert state.open is not None
    if state.open:
        assert state.next_opening is None
        if state.closes_at is not None:
            assert state.closes_at > at
            assert reachability(hours, country, at + (state.closes_at - at) * fraction / 1000).open is True
            assert reachability(hours, country, state.closes_at).open is False
    else:
        assert state.closes_at is None
        if state.next_opening is not None:
            assert at < state.next_opening <= at + timedelta(days=16)
            assert reachability(hours, country, at + (state.next_opening - at) * fraction / 1000).open is False
            opening = reachability(hours, country, state.next_opening)
            assert opening.open is True and opening.holiday is None


@PROPERTIES
@given(case=cases(always=False))
def test_away_from_clock_changes_open_is_what_the_wall_clock_says(case):
    hours, country, at = case
    assume(not near_a_clock_change(hours["time_zone"], at))
    state = reachability(hours, country, at)
    assert state.open is wall_clock_says_open(hours, country, at)
