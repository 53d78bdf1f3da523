"""The read API under /api/v1, as a partner system (directory:read) uses it."""

import json

import pytest

from registry import contracts

KG_LOOKUP = "/api/v1/lookup?country=Кыргызстан&crime_type=human%20trafficking"


def assert_valid(reference, document):
    assert [e.message for e in contracts.validator(reference).iter_errors(document)] == []


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    assert_valid("problem.json", body)
    return body


def test_lookup_answers_the_practitioners_question(client):
    response = client.get(KG_LOOKUP)
    assert response.status_code == 200
    answer = response.get_json()
    assert_valid("lookup.json", answer)
    assert answer["query"]["country"]["code"] == "KG"
    assert answer["query"]["crime_type"] == "trafficking_in_persons"
    first = answer["results"][0]
    assert first["authority"]["names"]["en"] == "Prosecutor General's Office of the Kyrgyz Republic"
    assert first["matched"] == {"crime_type": True}
    assert {"casc", "globe"} <= set(first["networks"])
    cp_ids = [cp["id"] for cp in first["contact_points"]]
    assert {"local:kg-gpo-ibraimov", "local:kg-gpo-duty"} <= set(cp_ids)
    notes = {n["id"] for n in first["emergency_notes"]}
    assert "local:note-kg-tip-urgent" in notes, "country note in force"
    assert "local:note-kg-gpo-covid-scans" not in notes, "expired"
    assert first["authority"]["channels"] and first["authority"]["languages"]


def test_lookup_never_serves_restricted_fields(client):
    text = client.get(KG_LOOKUP).get_data(as_text=True)
    assert "Ибраимов" not in text and '"person":{' not in text
    assert "a.ibraimov.demo@example.org" not in text
    assert "local:note-kz-gpo-asset-freeze" not in client.get("/api/v1/emergency-notes?page_size=200").get_data(
        as_text=True)


def test_notes_that_apply_to_a_crime_type_only_show_for_it(client):
    corruption = client.get("/api/v1/lookup?country=NG&crime_type=corruption").get_json()
    drugs = client.get("/api/v1/lookup?country=NG&crime_type=drug trafficking").get_json()
    efcc = lambda answer: next(r for r in answer["results"] if r["authority"]["id"] == "local:ng-efcc")  # noqa: E731
    assert "local:note-ng-efcc-urgent" in {n["id"] for n in efcc(corruption)["emergency_notes"]}
    assert "local:note-ng-efcc-urgent" not in {n["id"] for n in efcc(drugs)["emergency_notes"]}


def test_an_empty_contact_list_says_what_a_higher_tier_holds(app, tokens):
    from conftest import client_with

    def ask(token):
        answer = client_with(app, token).get("/api/v1/lookup?country=KG").get_json()
        assert_valid("lookup.json", answer)
        gpo = next(r for r in answer["results"] if r["authority"]["id"] == "local:kg-gpo")
        return answer, gpo

    answer, gpo = ask(None)
    assert gpo["contact_points"] == [] and gpo["withheld"]["contact_points"] == 2
    assert answer["access"]["tier"] == "public" and answer["access"]["needed"] == "partner"
    assert answer["access"]["href"] == "/access"
    answer, gpo = ask(tokens("directory:read"))
    assert len(gpo["contact_points"]) == 2 and gpo["withheld"]["contact_persons"] == 1
    assert answer["access"]["needed"] == "restricted"
    answer, gpo = ask(tokens("directory:restricted"))
    assert "access" not in answer and set(gpo["withheld"].values()) == {0}


def test_a_channel_a_note_in_force_retires_is_not_offered(client):
    gpo = next(r for r in client.get("/api/v1/lookup?country=KG").get_json()["results"]
               if r["authority"]["id"] == "local:kg-gpo")
    assert "international.gpo.kg@example.org" not in [c["value"] for c in gpo["authority"]["channels"]]
    assert gpo["retired_channels"] == [{"kind": "email", "value": "international.gpo.kg@example.org",
                                        "note_id": "local:note-kg-gpo-new-mailbox"}]
    # The record itself is as its publisher signed it.
    record = client.get("/api/v1/authorities/local:kg-gpo").get_json()
    assert "international.gpo.kg@example.org" in [c["value"] for c in record["channels"]]


def test_answers_from_demonstration_data_say_so(client):
    answer = client.get(KG_LOOKUP).get_json()
    assert answer["demonstration"] is True
    assert all(r["authority"]["demonstration"] is True for r in answer["results"])
    assert all(p["demonstration"] is True for r in answer["results"] for p in r["contact_points"])


def test_lookup_ranks_competence_and_request_type_first(client):
    answer = client.get("/api/v1/lookup?country=KG&crime_type=corruption&request_type=asset recovery").get_json()
    scores = [(r["matched"]["crime_type"], r["matched"]["request_type"]) for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == (True, True)


def test_urgent_puts_24_7_contact_points_first(client):
    answer = client.get("/api/v1/lookup?country=KG&urgent=true").get_json()
    gpo = next(r for r in answer["results"] if r["authority"]["id"] == "local:kg-gpo")
    assert gpo["contact_points"][0]["hours"].get("always") is True
    urgencies = [n["urgency"] for n in gpo["emergency_notes"]]
    order = {"emergency": 0, "urgent": 1, "routine": 2}
    assert urgencies == sorted(urgencies, key=order.get)


@pytest.mark.parametrize("query,expected", [
    ("country=KG", {"local:kg-gpo", "local:kg-acs"}),
    ("country=Kyrgyz Republic&kind=anti-corruption body", {"local:kg-acs"}),
    ("country=KGZ&crime_type=THB", {"local:kg-gpo"}),
    ("country=KG&network=GlobE Network&language=Russian", {"local:kg-gpo", "local:kg-acs"}),
])
def test_authority_filters_accept_any_spelling(client, query, expected):
    response = client.get(f"/api/v1/authorities?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {a["id"] for a in response.get_json()} == expected


def test_request_type_filter_includes_parent_and_children(client):
    any_mla = client.get("/api/v1/authorities?request_type=mla&page_size=200").get_json()
    child = {a["id"] for a in client.get("/api/v1/authorities?request_type=taking evidence&page_size=200").get_json()}
    whole_mla = {a["id"] for a in any_mla if "mla" in a["request_types"]}
    assert whole_mla and whole_mla <= child, "whoever handles all of MLA handles its forms"
    some_form = {a["id"] for a in any_mla if "mla" not in a["request_types"]}
    assert some_form, "a search for MLA also finds authorities that handle only some of its forms"


def test_network_filter_and_members(client):
    casc = client.get("/api/v1/networks/casc").get_json()
    assert casc["code"] == "casc" and len(casc["members"]) >= 8
    members = {m["authority_id"] for m in casc["members"]}
    listed = {a["id"] for a in client.get("/api/v1/authorities?network=casc&page_size=200").get_json()}
    assert listed == members
    assert [n["code"] for n in client.get("/api/v1/networks").get_json()] == ["casc", "ejn", "globe", "seajust",
                                                                              "wacap"]


def test_contact_point_filters(client):
    duty = client.get("/api/v1/contact-points?country=KG&role=24_7").get_json()
    assert [cp["id"] for cp in duty] == ["local:kg-gpo-duty"]
    always = client.get("/api/v1/contact-points?available_24_7=true&page_size=200").get_json()
    assert always and all(cp["hours"].get("always") for cp in always)
    by_authority = client.get("/api/v1/contact-points?authority=local:kg-gpo").get_json()
    assert {cp["authority_id"] for cp in by_authority} == {"local:kg-gpo"}
    current = client.get("/api/v1/contact-points?status=current&page_size=200").headers["X-Total-Count"]
    every = client.get("/api/v1/contact-points?status=all&page_size=200").headers["X-Total-Count"]
    past = client.get("/api/v1/contact-points?status=past&page_size=200").headers["X-Total-Count"]
    upcoming = client.get("/api/v1/contact-points?status=upcoming&page_size=200").headers["X-Total-Count"]
    assert int(current) + int(past) + int(upcoming) == int(every) and int(past) > 0 and int(upcoming) > 0


def test_emergency_notes_in_force_on_a_day(client):
    covid = {n["id"] for n in client.get("/api/v1/emergency-notes?on=2021-01-01&page_size=100").get_json()}
    assert "local:note-ejn-covid-email" in covid
    now = {n["id"] for n in client.get("/api/v1/emergency-notes?in_force=true&page_size=100").get_json()}
    assert "local:note-ejn-covid-email" not in now and "local:note-kg-tip-urgent" in now
    not_now = {n["id"] for n in client.get("/api/v1/emergency-notes?in_force=false&page_size=100").get_json()}
    assert not_now.isdisjoint(now) and "local:note-ejn-covid-email" in not_now
    kg = {n["id"] for n in client.get("/api/v1/emergency-notes?country=KG").get_json()}
    assert {"local:note-kg-tip-urgent", "local:note-kg-gpo-covid-scans"} <= kg, "country and its authorities"
    assert {n["id"] for n in client.get("/api/v1/emergency-notes?network=ejn").get_json()} == {
        "local:note-ejn-covid-email"}


def test_items_and_reference_data(client):
    assert client.get("/api/v1/authorities/local:kg-gpo").get_json()["country"] == "KG"
    assert client.get("/api/v1/contact-points/local:kg-gpo-duty").get_json()["hours"]["always"] is True
    assert client.get("/api/v1/emergency-notes/local:note-kg-tip-urgent").get_json()["urgency"] == "urgent"
    kg = client.get("/api/v1/countries/Кыргызстан").get_json()
    assert kg["code"] == "KG" and kg["authority_count"] == 2 and "casc" in kg["networks"]
    countries = client.get("/api/v1/countries").get_json()
    assert len(countries) == 249
    held = client.get("/api/v1/countries?with_authorities=true").get_json()
    assert all(c["authority_count"] > 0 for c in held) and len(held) >= 90
    crimes = client.get("/api/v1/taxonomies/crime-types").get_json()
    assert len(crimes) == 17 and all(c["iccs"] for c in crimes)
    requests = client.get("/api/v1/taxonomies/request-types").get_json()
    assert sum(r["parent"] == "mla" for r in requests) == 9


def test_pagination_headers_and_cap(client):
    response = client.get("/api/v1/authorities?page=2&page_size=10")
    assert len(response.get_json()) == 10
    assert int(response.headers["X-Total-Count"]) >= 100
    links = response.headers["Link"]
    assert 'rel="prev"' in links and 'rel="next"' in links and "page=3" in links
    body = problem(client.get("/api/v1/authorities?page_size=100000"), 422)
    assert body["errors"][0]["parameter"] == "page_size"
    problem(client.get("/api/v1/authorities?page=0"), 422)


def test_etag_and_304(client):
    first = client.get("/api/v1/authorities/local:kg-gpo")
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    again = client.get("/api/v1/authorities/local:kg-gpo", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    lookup = client.get(KG_LOOKUP)
    assert client.get(KG_LOOKUP, headers={"If-None-Match": lookup.headers["ETag"]}).status_code == 304
    assert client.get("/api/v1/countries", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_unknown_parameter_is_refused_by_name(client):
    body = problem(client.get("/api/v1/authorities?country=KG&contry=KG"), 400)
    assert "contry" in body["detail"]
    problem(client.get("/api/v1/networks?x=1"), 400)


def test_unknown_value_suggests(client):
    body = problem(client.get("/api/v1/authorities?crime_type=human traficking"), 422)
    assert body["errors"][0]["parameter"] == "crime_type"
    assert body["errors"][0]["suggestions"][0]["code"] == "trafficking_in_persons"
    body = problem(client.get("/api/v1/lookup?country=Kyrgyzzstan"), 422)
    assert body["errors"][0]["suggestions"][0]["code"] == "KG"
    problem(client.get("/api/v1/authorities?network=nope"), 422)
    problem(client.get("/api/v1/contact-points?role=boss"), 422)
    problem(client.get("/api/v1/emergency-notes?on=2021-13-45"), 422)
    problem(client.get("/api/v1/lookup"), 422)


def test_not_found_and_method_not_allowed(client):
    problem(client.get("/api/v1/authorities/local:nope"), 404)
    problem(client.get("/api/v1/countries/Atlantis"), 404)
    problem(client.get("/api/v1/nowhere"), 404)
    response = client.post("/api/v1/authorities/local:kg-gpo")
    problem(response, 405)
    assert {"GET", "PUT", "PATCH", "DELETE"} <= set(response.headers["Allow"].split(", "))


@pytest.mark.parametrize("value", ['"abc', "a OR b", "*", "NEAR(", "x:y", "%00", "\u0000", "x" * 199, "😀",
                                   "'; DROP TABLE authorities; --"])
def test_hostile_filter_values_never_500(client, value):
    for route, parameter in (("authorities", "country"), ("authorities", "crime_type"), ("lookup", "country"),
                             ("contact-points", "authority"), ("emergency-notes", "authority"),
                             ("authorities", "language"), ("authorities/" + value, None)):
        response = client.get(f"/api/v1/{route}", query_string={parameter: value} if parameter else None)
        assert response.status_code < 500, (route, value, response.get_data(as_text=True))


def test_overlong_values_are_refused(client):
    problem(client.get("/api/v1/authorities", query_string={"country": "x" * 500}), 422)


def test_responses_are_utf8_json(client):
    response = client.get("/api/v1/authorities/local:kg-gpo")
    assert response.content_type == "application/json"
    assert "Генеральная прокуратура" in json.loads(response.data)["names"]["ru"]


def test_tiered_answers_are_private_vary_by_authorization_and_are_not_sniffed(app, tokens):
    from conftest import client_with

    anonymous = app.test_client().get("/api/v1/authorities?country=KG")
    reader = client_with(app, tokens("directory:read")).get("/api/v1/contact-points?country=KG")
    for response in (anonymous, reader):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Authorization" in response.headers["Vary"]
    assert anonymous.headers["Cache-Control"] == "no-cache"
    assert reader.headers["Cache-Control"] == "private, no-cache"
    problem = app.test_client().get("/api/v1/authorities/local:nothing")
    assert problem.status_code == 404 and problem.headers["X-Content-Type-Options"] == "nosniff"
    metadata = app.test_client().get("/.well-known/oauth-authorization-server")
    assert metadata.headers["X-Content-Type-Options"] == "nosniff"
    # A cached answer carries them too.
    again = app.test_client().get("/api/v1/authorities?country=KG")
    assert again.headers["Cache-Control"] == "no-cache" and "Authorization" in again.headers["Vary"]
