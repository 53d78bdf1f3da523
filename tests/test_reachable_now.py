"""Who answers now, in the lookup's API answer and on its page, at fixed instants (the clock is put where the
test needs it): a working day in Bishkek, Kyrgyzstan's Independence Day, a weekend, and `urgent` putting
those who answer first. The API and the page read the same answer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from conftest import client_with
from test_api import assert_valid
from test_people import make_person, signed_in_client

import registry.services
import registry.web.display

KG = "/api/v1/lookup?country=KG"


@pytest.fixture
def at(monkeypatch):
    def put(moment: datetime) -> None:
        monkeypatch.setattr(registry.services, "now", lambda: moment)
    return put


def gpo(client, path: str = KG) -> dict:
    answer = client.get(path).get_json()
    assert_valid("lookup.json", answer)
    return next(r for r in answer["results"] if r["authority"]["id"] == "local:kg-gpo")


def states(entry: dict) -> dict[str, dict]:
    return {point["id"]: state for point, state in zip(entry["contact_points"], entry["reachability"]["contact_points"],
                                                       strict=True)}


def test_a_working_afternoon_in_bishkek(app, tokens, at):
    at(datetime(2026, 12, 4, 8, 5, tzinfo=UTC))  # Friday 14:05 in Bishkek (UTC+6)
    entry = gpo(client_with(app, tokens("directory:read")))
    desk = states(entry)["local:kg-gpo-ibraimov"]
    assert desk == {"open": True, "always": False, "time_zone": "Asia/Bishkek",
                    "local_time": "2026-12-04T14:05:00+06:00", "closes_at": "2026-12-04T18:00:00+06:00",
                    "next_opening": None, "holiday": None, "holidays_known": True}
    assert states(entry)["local:kg-gpo-duty"]["always"] is True
    assert entry["reachability"]["any_open"] is True and entry["reachability"]["only_24_7_now"] is False


def test_on_a_public_holiday_only_the_24_7_line_answers(app, tokens, at):
    at(datetime(2026, 8, 31, 6, 0, tzinfo=UTC))  # Monday 12:00 in Bishkek, Independence Day
    entry = gpo(client_with(app, tokens("directory:read")))
    desk = states(entry)["local:kg-gpo-ibraimov"]
    assert desk["open"] is False and desk["holiday"] == "Independence Day"
    assert desk["next_opening"] == "2026-09-01T09:00:00+06:00"
    assert entry["reachability"]["only_24_7_now"] is True and entry["reachability"]["open_roles"] == ["24_7"]


def test_at_the_weekend_the_desk_opens_on_monday_and_urgent_puts_who_answers_first(app, tokens, at):
    at(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))  # Saturday 16:00 in Bishkek
    client = client_with(app, tokens("directory:read"))
    entry = gpo(client)
    assert states(entry)["local:kg-gpo-ibraimov"]["next_opening"] == "2026-12-07T09:00:00+06:00"
    urgent = gpo(client, KG + "&urgent=true")
    assert [s["open"] for s in urgent["reachability"]["contact_points"]] == [True, False]
    assert urgent["contact_points"][0]["id"] == "local:kg-gpo-duty"


def test_anonymous_callers_learn_nothing_of_the_hours(anonymous, at):
    at(datetime(2026, 12, 4, 8, 5, tzinfo=UTC))
    assert "reachability" not in gpo(anonymous)


@pytest.mark.parametrize(("moment", "english", "russian"), [
    (datetime(2026, 12, 4, 8, 5, tzinfo=UTC), "Open now — 2:05\u202fPM there, closes 6:00\u202fPM",
     "Открыто — там сейчас 14:05, закрывается в 18:00"),
    (datetime(2026, 8, 31, 6, 0, tzinfo=UTC), "Closed — public holiday (Independence Day), 12:00\u202fPM there; "
     "opens Tuesday 09:00",
     "Закрыто — праздничный день (Independence Day), там сейчас 12:00; откроется: вторник 09:00"),
])
def test_the_page_says_what_the_api_says(app, at, moment, english, russian):
    """A signed-in practitioner's lookup page, in English and in Russian, at the same instants."""
    ctx = app.extensions["registry"]
    email = f"reach-{moment:%m%d}@example.org"
    _, secret = make_person(ctx, email, "practitioner")
    client = signed_in_client(app, email, secret)
    at(moment)
    page = client.get("/lookup?country=KG", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.sub(r"\s+", " ", english) in re.sub(r"\s+", " ", page)
    if moment.month == 8:
        assert "Only the 24/7 line answers now." in page
    page = client.get("/lookup?country=KG", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert russian in re.sub(r"\s+", " ", page)


def test_a_contact_point_confirmed_today_says_so_on_the_page(app, monkeypatch):
    """A verification round's "all correct" sets verified_at to the day: the page reads it as "today"."""
    ctx = app.extensions["registry"]
    _, secret = make_person(ctx, "verified-today@example.org", "practitioner")
    client = signed_in_client(app, "verified-today@example.org", secret)
    monkeypatch.setattr(registry.web.display, "today", lambda: date(2026, 9, 1))  # the seeded verified_at
    page = client.get("/lookup?country=KG", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Verified today" in page and "Not verified yet" in page
    monkeypatch.setattr(registry.web.display, "today", lambda: date(2026, 9, 2))
    page = client.get("/lookup?country=KG", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Vérifié le 1 septembre 2026" in page
