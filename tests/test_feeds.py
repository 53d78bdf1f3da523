"""Partner feeds: the changes this node holds in arrival order, and the whole directory,
at each caller's visibility tier; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import orjson
import pytest
from conftest import client_with, issue_token
from joserfc.jwk import KeySet
from test_records import AUTHORITY

from registry import contracts, create_app
from registry.crypto import envelope
from registry.services.records import write_record

ITEM = contracts.validator("feeds.json#/$defs/item")


def all_items(client, **params) -> list[dict]:
    items, after = [], None
    while True:
        query = params | ({"after": after} if after else {}) | {"limit": 200}
        page = client.get("/api/v1/feeds/changes", query_string=query)
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        items += body["items"]
        after = body["next_cursor"]
        if not body["has_more"]:
            return items


@pytest.fixture(scope="module")
def restricted(app):
    return client_with(app, issue_token(app, "directory:read directory:restricted"))


def test_every_arrival_in_order_with_envelopes_for_the_restricted_tier(app, ctx, restricted):
    items = all_items(restricted)
    assert len(items) >= 456 and len({i["cursor"] for i in items}) == len(items)
    keys = KeySet.import_key_set(app.test_client().get("/.well-known/registry-keys.json").get_json())
    for item in items[:100]:
        ITEM.validate(item)
        claims = envelope.verify(item["envelope"], keys)
        assert (claims["id"], claims["version"], claims["seq"]) == (item["id"], item["version"], item["seq"])
        assert item["record"]["id"] == item["id"]


def test_below_the_restricted_tier_no_envelope_and_no_restricted_field(client, anonymous, restricted):
    full = {i["id"]: i for i in all_items(restricted, type="contact_point")}
    partner = all_items(client, type="contact_point")
    assert partner and all("envelope" not in i for i in partner)
    person = next(i for i in full.values() if i["record"].get("person"))
    seen = {i["id"]: i for i in partner}
    assert "person" not in seen[person["id"]]["record"], "the contact person is a restricted field"
    assert all_items(anonymous, type="contact_point") == [], "contact points are above the public tier"
    public = all_items(anonymous, type="authority")
    assert public and all("envelope" not in i for i in public)


def test_filters_by_country_network_and_type(client):
    kg = all_items(client, country="Кыргызстан")
    assert kg and {i["type"] for i in kg} >= {"authority", "contact_point"}
    assert all(i["record"].get("country", "KG") == "KG" for i in kg if i["type"] == "authority")
    casc = all_items(client, network="casc", type="authority")
    assert casc and all(i["type"] == "authority" for i in casc)
    both = all_items(client, network=["casc", "WACAP"], type="authority")
    wacap = all_items(client, network="wacap", type="authority")
    assert {i["id"] for i in both} == {i["id"] for i in casc} | {i["id"] for i in wacap}
    two = all_items(client, country=["KG", "Kazakhstan"], type="authority")
    assert {i["record"]["country"] for i in two} == {"KG", "KZ"}
    assert client.get("/api/v1/feeds/changes", query_string={"type": "person"}).status_code == 422
    assert client.get("/api/v1/feeds/changes", query_string={"country": "Atlantis"}).status_code == 422


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_cursors_of_another_node_or_garbage(app, client):
    page = client.get("/api/v1/feeds/changes", query_string={"limit": 1}).get_json()
    cursor = page["next_cursor"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    node, epoch, sealed = decoded.split(b".", 2)
    gone = client.get("/api/v1/feeds/changes", query_string={"after": b64(b"other-node." + epoch + b"." + sealed)})
    assert gone.status_code == 410 and gone.mimetype == "application/problem+json"
    assert "directory.ndjson" in gone.get_json()["detail"]
    assert client.get("/api/v1/feeds/changes", query_string={"after": "not a cursor!"}).status_code == 422
    # The arrival number is sealed: a number written in by hand, or a sealed one altered, is no cursor.
    forged = b64(node + b"." + epoch + b"." + (999999999).to_bytes(8, "big"))
    assert client.get("/api/v1/feeds/changes", query_string={"after": forged}).status_code == 422
    altered = b64(node + b"." + epoch + b"." + sealed[:-1] + bytes([sealed[-1] ^ 1]))
    assert client.get("/api/v1/feeds/changes", query_string={"after": altered}).status_code == 422
    # The same position always gives the same cursor.
    assert client.get("/api/v1/feeds/changes", query_string={"limit": 1}).get_json()["next_cursor"] == cursor


def test_tombstones_reach_those_who_saw_the_record(fresh_ctx):
    app = create_app(fresh_ctx.settings)

    def write(body):
        with fresh_ctx.db.write() as session:
            write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(),
                         origin="local", record_type="authority", record_id="local:kg-gpo", owner_network="casc",
                         body=body, actor="test")

    write(AUTHORITY)
    anonymous = app.test_client()
    start = anonymous.get("/api/v1/feeds/changes").get_json()
    assert [i["version"] for i in start["items"]] == [1]
    write(None)
    page = anonymous.get("/api/v1/feeds/changes", query_string={"after": start["next_cursor"]}).get_json()
    (tombstone,) = page["items"]
    assert tombstone["deleted"] and tombstone["version"] == 2 and tombstone["record"]["deleted"]
    assert not page["has_more"]
    again = anonymous.get("/api/v1/feeds/changes", query_string={"after": page["next_cursor"]}).get_json()
    assert again["items"] == [] and again["next_cursor"] == page["next_cursor"]


def test_the_directory_streams_every_live_record_with_a_cursor_and_an_etag(ctx, client, restricted):
    response = restricted.get("/api/v1/feeds/directory.ndjson")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson" and response.is_streamed
    *lines, end = [orjson.loads(line) for line in response.get_data().splitlines()]
    assert end["count"] == len(lines) and len({line["record"]["id"] for line in lines}) == len(lines)
    for line in lines[:50]:
        contracts.validator("feeds.json#/$defs/directory_line").validate(line)
        assert "envelope" in line
    contracts.validator("feeds.json#/$defs/directory_end").validate(end)
    after = restricted.get("/api/v1/feeds/changes", query_string={"after": end["cursor"]}).get_json()
    assert after["items"] == [] and not after["has_more"], "the cursor is where the directory was read"
    etag = response.headers["ETag"]
    assert restricted.get("/api/v1/feeds/directory.ndjson", headers={"If-None-Match": etag}).status_code == 304
    partner = client.get("/api/v1/feeds/directory.ndjson")
    assert partner.headers["ETag"] != etag, "each tier has its own representation"
    assert all("envelope" not in orjson.loads(line) for line in partner.get_data().splitlines()[:-1])


def test_pages_and_cursors_count_only_what_the_caller_may_see(fresh_ctx):
    """Visibility is applied before a page is cut and a cursor moves only over visible arrivals: neither
    empty pages nor cursors (sealed, and the same for the same position) count hidden arrivals."""
    from test_publishing import NOTE

    app = create_app(fresh_ctx.settings)

    def write(record_type, record_id, body):
        with fresh_ctx.db.write() as session:
            write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(),
                         origin="local", record_type=record_type, record_id=record_id, owner_network="casc",
                         body=body, actor="test")

    note = {k: v for k, v in NOTE.items() if k != "owner_network"} | {"scope": {"country": "KG"},
                                                                       "visibility": "restricted"}
    write("authority", "local:kg-1", AUTHORITY)
    for n in range(5):
        write("emergency_note", f"local:note-{n}", note | {"title": {"en": f"Restricted {n}"}})
    write("authority", "local:kg-2", AUTHORITY | {"names": {"en": "Second office"}})
    anonymous = app.test_client()
    first = anonymous.get("/api/v1/feeds/changes", query_string={"limit": 1}).get_json()
    assert [i["id"] for i in first["items"]] == ["local:kg-1"] and first["has_more"]
    second = anonymous.get("/api/v1/feeds/changes", query_string={"limit": 1, "after": first["next_cursor"]}).get_json()
    assert [i["id"] for i in second["items"]] == ["local:kg-2"] and not second["has_more"]
    assert second["next_cursor"] == second["items"][0]["cursor"]
    assert all("seq" not in item and "envelope" not in item for item in first["items"] + second["items"])
    for n in range(5, 8):
        write("emergency_note", f"local:note-{n}", note | {"title": {"en": f"Restricted {n}"}})
    polled = anonymous.get("/api/v1/feeds/changes", query_string={"after": second["next_cursor"]}).get_json()
    assert polled == {"items": [], "next_cursor": second["next_cursor"], "has_more": False}
    restricted = client_with(app, issue_token(app, "directory:restricted"))
    seen = restricted.get("/api/v1/feeds/changes", query_string={"after": first["next_cursor"]}).get_json()
    assert len(seen["items"]) == 9 and all("seq" in item for item in seen["items"])
    for item in seen["items"]:
        ITEM.validate(item)


def test_the_directory_etag_differs_between_publishers_of_different_networks(fresh_ctx):
    from test_limits import add_network

    app = create_app(fresh_ctx.settings)
    for code in ("casc", "ejn"):
        add_network(app, code)
    casc = client_with(app, issue_token(app, "publish:casc")).get("/api/v1/feeds/directory.ndjson")
    ejn = client_with(app, issue_token(app, "publish:ejn"))
    assert casc.headers["ETag"] != ejn.get("/api/v1/feeds/directory.ndjson").headers["ETag"]
    assert ejn.get("/api/v1/feeds/directory.ndjson", headers={"If-None-Match": casc.headers["ETag"]}).status_code == 200
