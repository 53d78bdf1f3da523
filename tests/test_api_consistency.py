"""One way to ask and one way to be told: unknown and repeated parameters, unknown values of
enumerated filters, paging headers, and Retry-After only where there is something to retry."""

from __future__ import annotations

import pytest
from conftest import make_settings
from test_api import problem

from registry import create_app


@pytest.mark.parametrize(("url", "named", "close"), [
    ("/api/v1/authorities?contry=KG", "contry", "country"),
    ("/api/v1/lookup?country=KG&urgnt=1", "urgnt", "urgent"),
    ("/api/v1/search?q=x&pagesize=2", "pagesize", "page_size"),
    ("/api/v1/emergency-notes?zzz=1", "zzz", None),
])
def test_a_misspelt_parameter_is_named_with_the_closest_known_one(anonymous, url, named, close):
    body = problem(anonymous.get(url), 400)
    [error] = body["errors"]
    assert error["parameter"] == named
    if close:
        assert error["suggestions"] == [{"code": close, "name": close}]
        assert f"{named} (did you mean {close}?)" in body["detail"]
    else:
        assert "suggestions" not in error


@pytest.mark.parametrize("url", ["/api/v1/authorities?country=KG&country=KZ", "/api/v1/lookup?country=KG&country=KZ",
                                 "/api/v1/search?q=a&q=b", "/api/v1/contact-points?page=1&page=2"])
def test_a_repeated_single_valued_parameter_is_refused(anonymous, url):
    body = problem(anonymous.get(url), 400)
    assert "given 2 times; it takes one value" in body["detail"]


def test_a_repeatable_parameter_may_repeat(client):
    assert client.get("/api/v1/feeds/changes?country=KG&country=KZ").status_code == 200


@pytest.mark.parametrize(("url", "parameter"), [
    ("/api/v1/contact-points?status=future", "status"),
    ("/api/v1/authorities?language=Klingon", "language"),
    ("/api/v1/search?q=prosecutor&language=Klingon", "language"),
    ("/api/v1/contact-points?role=boss", "role"),
    # Valid tags that name no language.
    ("/api/v1/authorities?language=und", "language"),
    ("/api/v1/authorities?language=root", "language"),
])
def test_an_unknown_value_of_an_enumerated_filter_is_a_422_with_suggestions_at_every_tier(anonymous, url, parameter):
    body = problem(anonymous.get(url), 422)
    assert body["errors"][0]["parameter"] == parameter and body["errors"][0]["suggestions"]


def test_a_language_by_its_english_name(anonymous):
    assert anonymous.get("/api/v1/authorities?language=Russian").get_json()


@pytest.mark.parametrize("url", ["/api/v1/authorities?page_size=2", "/api/v1/lookup?country=KG&page_size=1",
                                 "/api/v1/search?q=prosecutor&page_size=1"])
def test_lists_lookup_and_search_page_the_same_way(anonymous, url):
    response = anonymous.get(url)
    total = int(response.headers["X-Total-Count"])
    assert total > 1 and 'rel="next"' in response.headers["Link"] and 'rel="last"' in response.headers["Link"]
    body = response.get_json()
    if isinstance(body, dict):
        assert body["total"] == total


def test_retry_after_only_on_a_429(seeded_settings, tmp_path):
    app = create_app(make_settings(seeded_settings.database_url, tmp_path, rate_limit_address="3/minute"))
    client = app.test_client()
    answers = [client.get(url) for url in ("/api/v1/authorities", "/api/v1/authorities?contry=1",
                                           "/api/v1/authorities/local:nope", "/api/v1/authorities")]
    assert [a.status_code for a in answers] == [200, 400, 404, 429]
    assert all("X-RateLimit-Limit" in a.headers for a in answers)
    assert ["Retry-After" in a.headers for a in answers] == [False, False, False, True]
