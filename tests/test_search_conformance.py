"""One set of search cases, run against every backend: SQLite FTS5, PostgreSQL, and Elasticsearch.

The Elasticsearch backend runs against osmem-server (an in-memory OpenSearch-compatible server from
PyPI, started by this module), or against a real cluster when REGISTRY_TEST_ELASTICSEARCH_URL is set.
Each backend gets its own seeded database; the cases go through the HTTP API as anonymous,
directory:read and directory:restricted callers.
"""

from __future__ import annotations

import os
import re
import socket
import uuid

import pytest
from conftest import client_with, fresh_database_url, issue_token, make_settings

from registry import create_app
from registry.context import Context
from registry.services.records import write_record
from registry.services.seed import seed

SEARCH_BACKENDS = ["sqlite", "postgresql", "elasticsearch"]
HOSTILE = ['"abc', "a OR", "*", "NEAR(", "x:y", "a AND NOT b", "title:x", "col : (x)", "^x", "'; DROP TABLE x; --",
           "a & b | !c", "x:*", "\\", "(((", "{names}: x", "🙂", "ab\u0301c", "NOT", "-", "\"\"", "x" * 500,
           "word " * 20, "*:*", '{"match_all": {}}', "a~2", "a^10", "[a TO z]", "/.*/"]


@pytest.fixture(scope="module")
def search_server_url():
    """An Elasticsearch-compatible server for the suite: the one named by the environment, or osmem-server."""
    if url := os.environ.get("REGISTRY_TEST_ELASTICSEARCH_URL"):
        yield url
        return
    from osmem_server import OsmemServer

    with OsmemServer.start() as server:
        yield server.url


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def search_app(request, tmp_path_factory):
    name = request.param
    tmp_path = tmp_path_factory.mktemp(f"search-{name}")
    database = "postgresql" if name == "postgresql" else "sqlite"
    extra = {}
    if name == "elasticsearch":
        extra = {"search_url": request.getfixturevalue("search_server_url"),
                 "search_index": f"registry-test-{uuid.uuid4().hex[:8]}"}
    settings = make_settings(fresh_database_url(database, tmp_path), tmp_path, rate_limit_client="100000/minute",
                             rate_limit_address="100000/minute", rate_limit_token="100000/minute", **extra)
    ctx = Context.create(settings)
    if name == "elasticsearch":
        ctx.search.rebuild()  # an empty index first: seeding then goes through the change-log indexer
    seed(ctx)
    ctx.db.dispose()
    app = create_app(settings)
    assert app.extensions["registry"].search.name == {"sqlite": "sqlite-fts5", "postgresql": "postgresql",
                                                       "elasticsearch": "elasticsearch"}[name]
    yield app
    app.extensions["registry"].db.dispose()


@pytest.fixture(scope="module")
def callers(search_app):
    return {
        "anonymous": search_app.test_client(),
        "partner": client_with(search_app, issue_token(search_app, "directory:read")),
        "restricted": client_with(search_app, issue_token(search_app, "directory:restricted")),
    }


def search(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(answer) -> list[str]:
    return [hit["id"] for hit in answer["results"]]


@pytest.mark.parametrize("q", ["Ibraimov", "Ибраимов", "ibraimof", "IBRAIMOV", "Ибраимоф", "Azamat Ibraimov"])
def test_a_name_is_found_in_any_script_and_with_a_typo(callers, q):
    answer = search(callers["restricted"], q=q)
    assert answer["results"], q
    first = answer["results"][0]
    assert first["id"].endswith("kg-gpo-ibraimov") and first["type"] == "contact_point"
    assert "Ибраимов" in first["title"]
    assert "<mark>" in first["snippet"]
    assert first["href"] == f"/api/v1/contact-points/{first['id']}"
    assert first["authority"]["country"] == "KG" and first["country"] == "KG"


@pytest.mark.parametrize("tier", ["anonymous", "partner"])
def test_a_restricted_name_is_never_matched_below_the_restricted_tier(callers, tier):
    for q in ("Ibraimov", "Ибраимов", "ibraimof", "a.ibraimov.demo"):
        answer = search(callers[tier], q=q)
        assert answer["total"] == 0 and answer["results"] == [], (tier, q)
        assert all(not values for values in answer["facets"].values())


def test_anonymous_callers_find_no_contact_points_at_all(callers):
    answer = search(callers["anonymous"], q="prosecutor")
    assert answer["total"] > 0
    assert {hit["type"] for hit in answer["results"]} <= {"authority", "emergency_note"}
    assert search(callers["anonymous"], type="contact_point")["total"] == 0


def test_a_country_filter_finds_no_more_than_the_tier_sees_and_the_type_asked(callers):
    partner = search(callers["partner"], q="prosecutor", country="KG")
    assert "contact_point" in {hit["type"] for hit in partner["results"]}, "the words are in contact points too"
    anonymous = search(callers["anonymous"], q="prosecutor", country="KG")
    assert anonymous["total"] > 0
    assert {hit["type"] for hit in anonymous["results"]} <= {"authority", "emergency_note"}
    assert "contact_point" not in {facet["value"] for facet in anonymous["facets"]["type"]}
    assert anonymous["total"] == sum(facet["count"] for facet in anonymous["facets"]["type"])
    authorities = search(callers["partner"], q="prosecutor", country="KG", type="authority")
    assert authorities["total"] > 0
    assert {hit["type"] for hit in authorities["results"]} == {"authority"}
    assert [facet["value"] for facet in authorities["facets"]["type"]] == ["authority"]


def test_a_country_and_a_crime_in_the_words_filter_and_rank(callers):
    for tier in ("anonymous", "partner"):
        answer = search(callers[tier], q="corruption Kyrgyzstan")
        assert answer["query"]["read_as"] == {"crime_type": {"words": "corruption", "code": "corruption"},
                                              "country": {"words": "kyrgyzstan", "code": "KG"}}
        first = answer["results"][0]
        assert first["type"] == "authority" and first["country"] == "KG"
        assert first["id"].endswith("kg-acs"), answer["results"][:2]
        assert {hit["country"] for hit in answer["results"]} == {"KG"}


def test_a_country_name_in_any_language_is_the_same_filter(callers):
    english = search(callers["partner"], q="Kyrgyzstan", page_size=100)
    for q in ("Кыргызстан", "Киргизия", "kyrgyzstan"):
        answer = search(callers["partner"], q=q, page_size=100)
        assert answer["query"]["read_as"]["country"]["code"] == "KG"
        assert sorted(ids(answer)) == sorted(ids(english)), q
    assert english["total"] >= 5


def test_accents_are_folded(callers):
    for q in ("Malmo", "malmö", "MALMÖ"):
        answer = search(callers["partner"], q=q)
        assert any(hit["country"] == "SE" for hit in answer["results"]), q


def test_filters_and_facets(callers):
    answer = search(callers["partner"], q="prosecutor", country="KG")
    assert answer["total"] > 0 and {hit["country"] for hit in answer["results"]} == {"KG"}
    facets = answer["facets"]
    assert sum(item["count"] for item in facets["type"]) == answer["total"]
    assert facets["country"] == [{"value": "KG", "count": answer["total"], "name": "Kyrgyzstan"}]
    only_authorities = search(callers["partner"], q="prosecutor", country="KG", type="authority")
    assert {hit["type"] for hit in only_authorities["results"]} == {"authority"}
    assert only_authorities["total"] == next(i["count"] for i in facets["type"] if i["value"] == "authority")
    casc = search(callers["partner"], network="casc", type="authority", page_size=200)
    assert casc["total"] > 0 and casc["facets"]["network"][0]["value"] == "casc"
    assert casc["facets"]["network"][0]["count"] == casc["total"]
    corruption = search(callers["partner"], crime_type="bribery", type="authority", country="KG")
    assert corruption["query"]["crime_type"] == "corruption" and corruption["total"] >= 2


def test_pages_do_not_overlap_and_add_up(callers):
    first = search(callers["restricted"], q="international", page_size=5, page=1)
    second = search(callers["restricted"], q="international", page_size=5, page=2)
    assert first["total"] == second["total"] > 10
    assert not set(ids(first)) & set(ids(second))
    scores = [hit["score"] for hit in first["results"] + second["results"]]
    assert scores == sorted(scores, reverse=True)


def test_snippets_are_escaped_html(callers):
    answer = search(callers["anonymous"], q="requesting country's central authority")
    assert answer["results"]
    for hit in answer["results"]:
        if hit["snippet"]:
            assert re.sub(r"</?mark>", "", hit["snippet"]).count("<") == 0
            assert "'" not in hit["snippet"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_words_get_results_or_a_client_error_never_a_server_error(callers, q):
    for client in callers.values():
        response = client.get("/api/v1/search", query_string={"q": q})
        assert response.status_code == 200, (q, response.get_data(as_text=True))
        assert response.get_json()["total"] >= 0


def test_too_long_or_unprintable_words_are_refused(callers):
    for q in ("x" * 10_000, "x" * 501, "a\x00b", "word " * 21):
        response = callers["anonymous"].get("/api/v1/search", query_string={"q": q})
        assert response.status_code == 422, q
        assert response.mimetype == "application/problem+json"
        assert "q" in response.get_json()["detail"]


def test_lists_and_lookup_rank_by_the_same_words(callers):
    response = callers["partner"].get("/api/v1/authorities", query_string={"q": "anti corruption", "country": "KG"})
    assert response.status_code == 200
    assert response.get_json()[0]["id"].endswith("kg-acs")
    lookup = callers["restricted"].get("/api/v1/lookup", query_string={"country": "KG", "q": "Ibraimov"}).get_json()
    assert [r["authority"]["id"].split(":")[-1] for r in lookup["results"]] == ["kg-gpo"]
    assert lookup["query"]["q"] == "Ibraimov"
    hidden = callers["partner"].get("/api/v1/lookup", query_string={"country": "KG", "q": "Ibraimov"}).get_json()
    assert hidden["results"] == []
    points = callers["restricted"].get("/api/v1/contact-points", query_string={"q": "Токтогулова"}).get_json()
    assert [p["id"].split(":")[-1] for p in points] == ["kg-acs-toktogulova"]
    notes = callers["anonymous"].get("/api/v1/emergency-notes", query_string={"q": "GlobE platform"}).get_json()
    assert notes and all("GlobE" in n["title"]["en"] for n in notes[:1])


def test_the_index_follows_writes_deletes_and_the_records_it_draws_on(search_app, callers):
    ctx = search_app.extensions["registry"]
    marker = f"Zyq{uuid.uuid4().hex[:6]}"
    authority_id = f"{ctx.settings.namespace}:is-{marker.lower()}"
    point_id = f"{authority_id}-desk"
    authority = {"names": {"en": f"{marker} Cooperation Office", "is": f"Samstarfsskrifstofa {marker}"},
                 "kind": "central_authority", "country": "IS", "competences": ["corruption"],
                 "request_types": ["mla"], "languages": ["is", "en"], "status": "active", "channels": []}
    point = {"authority_id": authority_id, "kind": "function", "position": {"en": f"{marker} duty desk"},
             "roles": [{"network": "globe", "role": "contact_point"}], "languages": ["en"],
             "hours": {"time_zone": "Atlantic/Reykjavik", "always": True}, "valid_from": "2020-01-01"}

    def write(record_type, record_id, body):
        with ctx.db.write() as session:
            write_record(
                session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                origin=ctx.settings.node_id, record_type=record_type,
                record_id=record_id, owner_network="globe", body=body, actor="test")

    write("authority", authority_id, authority)
    write("contact_point", point_id, point)
    assert ids(search(callers["anonymous"], q=marker)) == [authority_id]
    assert sorted(ids(search(callers["partner"], q=marker))) == [authority_id, point_id]
    desk = search(callers["partner"], q=marker, type="contact_point", crime_type="corruption")
    assert ids(desk) == [point_id] and desk["results"][0]["country"] == "IS"

    # The contact point's document carries its authority's competences: it follows their change.
    write("authority", authority_id, authority | {"competences": ["cybercrime"]})
    assert search(callers["partner"], q=marker, type="contact_point", crime_type="corruption")["total"] == 0
    assert ids(search(callers["partner"], q=marker, type="contact_point", crime_type="cybercrime")) == [point_id]

    write("contact_point", point_id, None)
    write("authority", authority_id, None)
    assert search(callers["restricted"], q=marker)["total"] == 0


def test_typo_corrections_say_nothing_of_words_above_the_callers_tier(search_app, callers):
    """A word that exists only in restricted text (a contact person's name) is, to an anonymous caller, a
    word like any unknown one: it is corrected to the public words near it exactly as a word found
    nowhere is, so comparing the two tells nothing."""
    ctx = search_app.extensions["registry"]
    stem = f"qorv{uuid.uuid4().hex[:4]}"
    authority_id = f"{ctx.settings.namespace}:is-{stem}"
    authority = {"names": {"en": f"{stem}eta Office"}, "kind": "central_authority", "country": "IS",
                 "competences": ["corruption"], "request_types": ["mla"], "languages": ["en"], "status": "active",
                 "channels": []}
    point = {"authority_id": authority_id, "kind": "person", "position": {"en": "Duty prosecutor"},
             "person": {"name": f"Anna {stem}etb"}, "roles": [{"network": "globe", "role": "contact_point"}],
             "languages": ["en"], "hours": {"time_zone": "Atlantic/Reykjavik", "always": True},
             "valid_from": "2020-01-01"}
    with ctx.db.write() as session:
        for record_type, record_id, body in (("authority", authority_id, authority),
                                             ("contact_point", f"{authority_id}-anna", point)):
            write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                         origin=ctx.settings.node_id, record_type=record_type, record_id=record_id,
                         owner_network="globe", body=body, actor="test")
    ctx.search.catch_up()
    restricted_only, nowhere = f"{stem}etb", f"{stem}etc"
    assert f"{authority_id}-anna" in ids(search(callers["restricted"], q=restricted_only))
    for tier in ("anonymous", "partner"):
        found = ids(search(callers[tier], q=restricted_only))
        assert found == ids(search(callers[tier], q=nowhere)), tier
        assert authority_id in found, tier


def test_rebuilding_gives_the_same_answers(search_app, callers):
    before = search(callers["restricted"], q="international cooperation", page_size=50)
    status = search_app.extensions["registry"].search.status()
    count = search_app.extensions["registry"].search.rebuild()
    after = search(callers["restricted"], q="international cooperation", page_size=50)
    assert count == status["documents"] == search_app.extensions["registry"].search.status()["documents"]
    assert ids(after) == ids(before) and after["facets"] == before["facets"]


def test_elasticsearch_catches_up_from_the_change_log_after_an_outage(search_app, callers):
    """The change log is the outbox: a write while the search server is down is kept, indexed later."""
    ctx = search_app.extensions["registry"]
    if ctx.search.name != "elasticsearch":
        pytest.skip("the SQL index is written in the writing transaction")
    from elasticsearch import Elasticsearch

    from registry.search.elastic import PlainJsonNode

    live = ctx.search.client
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    ctx.search.client = Elasticsearch(dead_url, node_class=PlainJsonNode, request_timeout=1, max_retries=0)
    marker = f"Outage{uuid.uuid4().hex[:6]}"
    record_id = f"{ctx.settings.namespace}:is-{marker.lower()}"
    try:
        with ctx.db.write() as session:  # the write commits although its catch-up fails
            write_record(
                session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                origin=ctx.settings.node_id, record_type="authority",
                record_id=record_id, owner_network="globe", actor="test", body={
                "names": {"en": f"{marker} Office"}, "kind": "other", "country": "IS",
                "competences": ["corruption"], "request_types": ["mla"], "languages": ["en"],
                "status": "active", "channels": []})
        response = callers["anonymous"].get("/api/v1/search", query_string={"q": marker})
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
    finally:
        ctx.search.client = live
    assert ctx.search.status()["pending"] >= 1
    assert search(callers["anonymous"], q=marker)["total"] == 0  # not indexed yet
    assert ctx.search.catch_up() >= 1
    assert ids(search(callers["anonymous"], q=marker)) == [record_id]
    assert ctx.search.status()["pending"] == 0
    with ctx.db.write() as session:
        write_record(
            session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
            origin=ctx.settings.node_id, record_type="authority",
            record_id=record_id, owner_network="globe", body=None, actor="test")
    assert search(callers["anonymous"], q=marker)["total"] == 0


def test_copies_from_a_snapshot_are_found_on_every_backend(search_app, callers, tmp_path):
    """A snapshot brings copies without change-log entries; every backend indexes them all the same
    (Elasticsearch from the rows' seq, since its outbox is the log)."""
    from registry.crypto import envelope
    from registry.crypto.keys import KeyStore
    from registry.services.records import apply_copy, lock_origin

    ctx = search_app.extensions["registry"]
    keys = KeyStore(tmp_path / "snapshot-origin.json", "Ed25519", grace=float("inf")).signing_keys()
    marker = f"Snapshot{uuid.uuid4().hex[:6]}"
    origin = f"n-{marker.lower()}"
    body = {"names": {"en": f"{marker} Office"}, "kind": "other", "country": "IS", "competences": ["corruption"],
            "request_types": ["mla"], "languages": ["en"], "status": "active", "channels": []}
    signed = envelope.sign(keys, origin=origin, seq=5, record_id=f"{origin}:office", record_type="authority",
                           version=2, deleted=False, owner_network="globe", updated_at="2026-11-30T10:00:00Z",
                           body=body)
    with ctx.db.write() as session:  # what a bootstrap does: copies unlogged, the cursor at as_of_seq
        lock_origin(session, origin).last_seq = 7
        apply_copy(session, envelope.verify(signed, keys), signed, actor="sync:test", log=False)
    (hit,) = search(callers["anonymous"], q=marker)["results"]
    assert (hit["id"], hit["origin"]) == (f"{origin}:office", origin)
