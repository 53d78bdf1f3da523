"""How to send a request: procedures are federated records like the others (published by their
network, validated, tiered, versioned, in feeds), and lookups show the country's procedures for the
asked request type."""

from __future__ import annotations

from conftest import client_with
from test_api import assert_valid, problem
from test_publishing import PROCEDURE, node  # noqa: F401  (the module's node fixture)


def test_the_seeded_procedures_say_what_is_not_known_and_cite_sources(client):
    procedures = client.get("/api/v1/procedures?page_size=50").get_json()
    assert {p["id"] for p in procedures} >= {"local:proc-at-eio", "local:proc-pl-eaw", "local:proc-gb-mla",
                                             "local:proc-us-mla"}
    for procedure in procedures:
        assert_valid("procedure.json", procedure)
        assert procedure["sources"] and all(field not in procedure for field in procedure.get("unknown", []))
        assert "demonstration" not in procedure, "sourced facts, not demonstration data"


def test_filters_read_spellings_and_request_type_families(client):
    assert [p["id"] for p in client.get("/api/v1/procedures?country=Autriche&request_type=EIO").get_json()] == [
        "local:proc-at-eio"]
    # A narrower request type finds the procedure for the broader one.
    assert [p["id"] for p in client.get("/api/v1/procedures?country=GB&request_type=witness statement").get_json()] \
        == ["local:proc-gb-mla"]
    problem(client.get("/api/v1/procedures?country=Atlantis"), 422)


def test_a_lookup_shows_the_countrys_procedure_for_the_request(client):
    answer = client.get("/api/v1/lookup?country=PL&request_type=european arrest warrant").get_json()
    assert_valid("lookup.json", answer)
    assert [p["id"] for p in answer["procedures"]] == ["local:proc-pl-eaw"]
    assert client.get("/api/v1/lookup?country=PL&request_type=mla").get_json()["procedures"] == []


def test_a_procedure_is_published_by_its_network_and_checked(node):  # noqa: F811
    app, ctx, tokens = node
    own = client_with(app, tokens["publish:casc"])
    created = own.post("/api/v1/procedures", json=PROCEDURE)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["id"].startswith("local:proc-")
    both = own.post("/api/v1/procedures", json=PROCEDURE | {"languages": ["ru"]})
    body = problem(both, 422)
    assert body["errors"] == [{"path": "$.unknown[0]", "message": "languages is given and said to be unknown: "
                                                                   "leave it out, or take it out of unknown"}]
    problem(own.post("/api/v1/procedures", json=PROCEDURE | {"request_types": ["letters"]}), 422)
    problem(client_with(app, tokens["publish:wacap"]).post("/api/v1/procedures", json=PROCEDURE), 403)


def test_a_record_in_tags_that_name_no_language_is_accepted(node):  # noqa: F811
    app, ctx, tokens = node
    created = client_with(app, tokens["publish:casc"]).post(
        "/api/v1/procedures", json=PROCEDURE | {"languages": ["und"], "unknown": []})
    assert created.status_code == 201, created.get_data(as_text=True)


def test_a_partner_procedure_is_not_shown_below_its_tier(node):  # noqa: F811
    app, ctx, tokens = node
    created = client_with(app, tokens["publish:casc"]).post("/api/v1/procedures",
                                                          json=PROCEDURE | {"visibility": "partner"})
    procedure_id = created.get_json()["id"]
    assert client_with(app, None).get(f"/api/v1/procedures/{procedure_id}").status_code == 404
    assert client_with(app, tokens["directory:read"]).get(f"/api/v1/procedures/{procedure_id}").status_code == 200
    changes = client_with(app, tokens["directory:read"]).get("/api/v1/feeds/changes?type=procedure&country=KG")
    assert procedure_id in [item["id"] for item in changes.get_json()["items"]]
