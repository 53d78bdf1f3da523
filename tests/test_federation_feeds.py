"""Signed envelopes and the feeds a node serves to its peers, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest
from conftest import client_with, issue_token
from joserfc import jws
from joserfc.jwk import KeySet, OctKey, OKPKey
from sqlalchemy import delete, select, update
from test_records import AUTHORITY

from registry import contracts, create_app, models
from registry.crypto import envelope
from registry.services.records import sign_unsigned, write_record


@pytest.fixture(scope="module")
def peer(app):
    return client_with(app, issue_token(app, "federation:read"))


def published_keys(client) -> KeySet:
    return KeySet.import_key_set(client.get("/.well-known/registry-keys.json").get_json())


def all_changes(peer, origin="local", after=0, limit=100) -> list[dict]:
    items = []
    while True:
        page = peer.get(f"/api/v1/federation/origins/{origin}/changes", query_string={"after": after, "limit": limit})
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        items += body["items"]
        if not body["has_more"]:
            return items
        after = body["next_after"]


def test_every_version_is_signed_by_its_origin_and_verifies(app, ctx, peer):
    keys = published_keys(peer)
    items = all_changes(peer)
    with ctx.db.read() as session:
        log = {e.seq: e for e in session.scalars(select(models.ChangeLogEntry).where(
            models.ChangeLogEntry.origin == "local"))}
    assert [i["seq"] for i in items] == sorted(log) == list(range(1, len(log) + 1))
    for item in items:
        claims = envelope.verify(item["envelope"], keys)
        entry = log[item["seq"]]
        assert (claims["origin"], claims["seq"], claims["id"], claims["version"], claims["deleted"]) == (
            "local", entry.seq, entry.record_id, entry.version, entry.deleted)
        assert claims["body"] == entry.body and claims["type"] == entry.type
        assert claims["schema"].endswith(f"/{entry.type.replace('_', '-')}.json")
        assert item["envelope"] == entry.envelope, "served byte for byte as stored"


def test_an_altered_or_foreign_envelope_is_refused(peer):
    keys = published_keys(peer)
    good = all_changes(peer, limit=1000)[0]["envelope"]
    header, payload, signature = good.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    altered_body = b64(orjson.dumps(claims | {"body": claims["body"] | {"acronym": "X"}}))
    intruder = OKPKey.generate_key("Ed25519", parameters={"alg": "Ed25519"}, private=True)
    intruder.ensure_kid()
    forged = jws.serialize_compact({"alg": "Ed25519", "kid": keys.keys[0].kid, "typ": envelope.ENVELOPE_TYPE},
                                   base64.urlsafe_b64decode(payload + "=="), intruder, algorithms=["Ed25519"])
    hmac_key = OctKey.import_key(orjson.dumps(keys.keys[0].as_dict()))
    hs256 = jws.serialize_compact({"alg": "HS256", "kid": keys.keys[0].kid, "typ": envelope.ENVELOPE_TYPE},
                                  b"{}", hmac_key, algorithms=["HS256"])
    cases = {
        "altered body": f"{header}.{altered_body}.{signature}",
        "key of another node": forged,
        "alg none": b64(orjson.dumps({"alg": "none", "kid": keys.keys[0].kid, "typ": envelope.ENVELOPE_TYPE}))
        + f".{payload}.",
        "HS256 with the public key": hs256,
        "wrong typ": b64(orjson.dumps({"alg": "Ed25519", "kid": keys.keys[0].kid, "typ": "JWT"}))
        + f".{payload}.{signature}",
        "not a JWS": "abc",
    }
    for name, bad in cases.items():
        with pytest.raises(envelope.InvalidEnvelope):
            envelope.verify(bad, keys)
            pytest.fail(name)


def test_feeds_need_the_federation_scope(app, peer):
    for path in ("/api/v1/federation/origins", "/api/v1/federation/origins/local/changes",
                 "/api/v1/federation/origins/local/snapshot"):
        assert app.test_client().get(path).status_code == 401
        reader = client_with(app, issue_token(app, "directory:restricted"))
        response = reader.get(path)
        assert response.status_code == 403 and response.get_json()["scope"] == "federation:read"
        assert peer.get(path).status_code == 200


def test_origins_and_pages(peer):
    (origin,) = peer.get("/api/v1/federation/origins").get_json()
    assert origin["origin"] == "local" and origin["own"] and origin["first_seq"] == 1
    first = peer.get("/api/v1/federation/origins/local/changes", query_string={"limit": 10}).get_json()
    assert [i["seq"] for i in first["items"]] == list(range(1, 11))
    assert first["has_more"] and first["next_after"] == 10 and first["last_seq"] == origin["last_seq"]
    last = peer.get("/api/v1/federation/origins/local/changes",
                    query_string={"after": origin["last_seq"]}).get_json()
    assert last["items"] == [] and not last["has_more"] and last["next_after"] == origin["last_seq"]
    assert peer.get("/api/v1/federation/origins/elsewhere/changes").status_code == 404
    beyond = peer.get("/api/v1/federation/origins/local/changes", query_string={"after": origin["last_seq"] + 1})
    assert beyond.status_code == 422
    for bad in ({"after": -1}, {"limit": 0}, {"limit": 100_000}, {"cursor": 3}):
        assert peer.get("/api/v1/federation/origins/local/changes", query_string=bad).status_code in (400, 422)


def test_the_snapshot_holds_every_record_once_at_one_seq(ctx, peer):
    response = peer.get("/api/v1/federation/origins/local/snapshot")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    *lines, manifest = [orjson.loads(line) for line in response.get_data().splitlines()]
    manifest = manifest["manifest"]
    assert manifest["count"] == len(lines) == len({line["id"] for line in lines})
    digest = hashlib.sha256(b"".join(line["envelope"].encode() + b"\n" for line in lines)).hexdigest()
    assert manifest["digest"] == digest
    keys = published_keys(peer)
    with ctx.db.read() as session:
        assert manifest["as_of_seq"] == session.get(models.OriginSequence, "local").last_seq
    for line in lines:
        claims = envelope.verify(line["envelope"], keys)
        assert (claims["id"], claims["version"], claims["seq"]) == (line["id"], line["version"], line["seq"])
        assert claims["seq"] <= manifest["as_of_seq"]


def test_a_cursor_older_than_the_retained_log_is_gone(fresh_ctx):
    import dataclasses

    # Entries are deleted here behind the node's back (no data version moves): no response cache.
    app = create_app(dataclasses.replace(fresh_ctx.settings, response_cache_size=0))
    for n in range(5):
        with fresh_ctx.db.write() as session:
            write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(),
                         origin="local", record_type="authority", record_id=f"local:a-{n}", owner_network="casc",
                         body=AUTHORITY, actor="test")
    with fresh_ctx.db.write() as session:  # as a retention job would leave it
        session.execute(delete(models.ChangeLogEntry).where(models.ChangeLogEntry.seq <= 2))
    peer = client_with(app, issue_token(app, "federation:read"))
    gone = peer.get("/api/v1/federation/origins/local/changes", query_string={"after": 1})
    assert gone.status_code == 410 and gone.get_json()["first_seq"] == 3
    assert "snapshot" in gone.get_json()["detail"]
    assert [i["seq"] for i in peer.get("/api/v1/federation/origins/local/changes",
                                       query_string={"after": 2}).get_json()["items"]] == [3, 4, 5]
    # Without a cursor, the feed starts where the kept log starts (not at seq 1, which is gone).
    from_start = peer.get("/api/v1/federation/origins/local/changes").get_json()
    assert from_start["after"] == 2 and [i["seq"] for i in from_start["items"]] == [3, 4, 5]
    with fresh_ctx.db.write() as session:  # every entry pruned: only a cursor at the end is current
        session.execute(delete(models.ChangeLogEntry))
    assert peer.get("/api/v1/federation/origins/local/changes", query_string={"after": 4}).status_code == 410
    at_end = peer.get("/api/v1/federation/origins/local/changes", query_string={"after": 5}).get_json()
    assert at_end["items"] == [] and not at_end["has_more"]
    assert peer.get("/api/v1/federation/origins/local/changes").get_json() == at_end


def test_pruning_changes_what_cached_feed_answers_are_keyed_by(fresh_ctx):
    """With the response cache on, `registry log prune` (services.change_log.prune) must not leave cached
    listings showing the old first_seq, nor cached pages holding pruned entries."""
    from datetime import timedelta

    from registry.services.change_log import prune

    app = create_app(fresh_ctx.settings)
    for n in range(4):
        with fresh_ctx.db.write() as session:
            write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(),
                         origin="local", record_type="authority", record_id=f"local:p-{n}", owner_network="casc",
                         body=AUTHORITY, actor="test")
    peer = client_with(app, issue_token(app, "federation:read"))

    def listing():
        return {o["origin"]: o["first_seq"] for o in peer.get("/api/v1/federation/origins").get_json()}

    assert listing()["local"] == 1 and listing()["local"] == 1  # the second answer comes from the cache
    assert len(peer.get("/api/v1/federation/origins/local/changes").get_json()["items"]) == 4
    assert prune(fresh_ctx, timedelta(0)) == {"local": 4}
    assert listing()["local"] is None
    page = peer.get("/api/v1/federation/origins/local/changes").get_json()
    assert page["items"] == [] and page["after"] == 4
    assert peer.get("/api/v1/federation/origins/local/changes", query_string={"after": 0}).status_code == 410


def test_rotated_record_keys_keep_old_envelopes_verifiable(fresh_ctx):
    app = create_app(fresh_ctx.settings)
    client = app.test_client()

    def write(n):
        with fresh_ctx.db.write() as session:
            write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(),
                         origin="local", record_type="authority", record_id=f"local:a-{n}", owner_network="casc",
                         body=AUTHORITY, actor="test")

    write(1)
    old_kid = fresh_ctx.record_keys.current_kid
    fresh_ctx.record_keys.rotate()
    write(2)
    keys = published_keys(client)
    assert {k.kid for k in keys.keys} == {old_kid, fresh_ctx.record_keys.current_kid}
    with fresh_ctx.db.read() as session:
        envelopes = session.scalars(select(models.ChangeLogEntry.envelope).order_by(models.ChangeLogEntry.seq)).all()
    assert [jws.extract_compact(e.encode()).protected["kid"] for e in envelopes] == [
        old_kid, fresh_ctx.record_keys.current_kid]
    assert [envelope.verify(e, keys)["id"] for e in envelopes] == ["local:a-1", "local:a-2"]
    assert fresh_ctx.record_keys.jwks() != fresh_ctx.token_keys.jwks(), "record keys are not token keys"


def test_entries_from_before_signing_are_signed_on_upgrade(fresh_ctx):
    with fresh_ctx.db.write() as session:
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="authority", record_id="local:a-1", owner_network="casc", body=AUTHORITY,
                     actor="test")
        session.execute(update(models.ChangeLogEntry).values(envelope=None))
    with fresh_ctx.db.write() as session:
        assert sign_unsigned(session, "local", fresh_ctx.record_keys.signing_keys()) == 1
        assert sign_unsigned(session, "local", fresh_ctx.record_keys.signing_keys()) == 0
    with fresh_ctx.db.read() as session:
        (signed,) = session.scalars(select(models.ChangeLogEntry.envelope)).all()
    assert envelope.verify(signed, fresh_ctx.record_keys.verification_keys())["id"] == "local:a-1"


def test_node_metadata(app):
    metadata = app.test_client().get("/.well-known/registry-node").get_json()
    assert metadata["node_id"] == "local" and metadata["namespace"] == "local"
    assert set(metadata["networks"]) == {"casc", "ejn", "globe", "seajust", "wacap"}
    assert metadata["jwks_uri"].endswith("/.well-known/registry-keys.json")
    assert metadata["changes_endpoint"].endswith("/api/v1/federation/origins/{origin}/changes")
    assert metadata["envelope"] == {"typ": "registry-record+jws", "algorithms": ["Ed25519", "ES256"]}


def test_feeds_match_their_published_schemas(app, peer):
    """schemas/federation.json is the contract partner systems validate the feeds against."""
    def valid(definition: str, instance) -> None:
        contracts.validator(f"federation.json#/$defs/{definition}").validate(instance)

    valid("node_metadata", app.test_client().get("/.well-known/registry-node").get_json())
    for origin in peer.get("/api/v1/federation/origins").get_json():
        valid("origin", origin)
    valid("changes_page", peer.get("/api/v1/federation/origins/local/changes?limit=20").get_json())
    *lines, manifest = peer.get("/api/v1/federation/origins/local/snapshot").get_data().splitlines()
    for line in lines[:50]:
        valid("snapshot_line", orjson.loads(line))
    valid("snapshot_manifest", orjson.loads(manifest))


def test_a_record_larger_than_jose_defaults_signs_and_verifies(tmp_path):
    """A network of thousands of members is far over joserfc's default 128 kB payload: what the
    write path signs, peers must be able to verify."""
    from registry.crypto.keys import KeyStore

    keys = KeyStore(tmp_path / "records.json", "Ed25519", grace=float("inf")).signing_keys()
    body = {"code": "globe", "names": {"en": "GlobE"}, "scope": "global",
            "members": [{"authority_id": f"local:authority-{n:05d}", "role": "member"} for n in range(5000)]}
    signed = envelope.sign(keys, origin="local", seq=1, record_id="local:globe", record_type="network", version=1,
                           deleted=False, owner_network="globe", updated_at="2026-11-30T10:00:00Z", body=body)
    assert len(signed) > 300_000
    assert envelope.verify(signed, keys)["body"] == body
