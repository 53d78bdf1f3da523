"""Pull sync between real nodes: three gunicorn processes with their own databases.

A hosts CASC; B hosts EJN and pulls A; C pulls only B and trusts A's keys, so everything of A
reaches C through B's relay. Convergence is proven with per-origin digests over the envelopes each
node holds. The tests run in order on one federation per backend; each leaves it converged.
Faults come from a hostile relay (tests/hostile_relay.py): a real server between C and B that
alters, drops, replays, re-signs or breaks what B serves.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import requests
from conftest import fresh_database_url
from hostile_relay import HostileRelay
from nodes import REGISTRY, Node, free_port
from sqlalchemy import select, update

from registry import models
from registry.crypto import envelope
from registry.crypto.keys import KeyStore
from registry.db import utcnow
from registry.federation import peers, puller, trust


def authority(country: str, name: str, network: str) -> dict:
    return {"names": {"en": name}, "kind": "prosecution_service", "country": country, "competences": ["corruption"],
            "request_types": ["mla"], "languages": ["en"], "status": "active",
            "channels": [{"kind": "email", "value": f"{network}-desk@example.org", "visibility": "public"}]}


def network(code: str, members: list[str]) -> dict:
    return {"code": code, "names": {"en": f"{code.upper()} demo network"}, "scope": "regional",
            "members": [{"authority_id": m, "role": "member"} for m in members]}


def contact_point(authority_id: str, position: str) -> dict:
    return {"authority_id": authority_id, "kind": "function", "position": {"en": position}, "languages": ["en"],
            "roles": [{"network": "casc", "role": "contact_point"}], "hours": {"time_zone": "UTC", "always": True},
            "valid_from": "2024-01-01", "email": "duty@example.org"}


@pytest.fixture(scope="module")
def federation(backend, tmp_path_factory):
    nodes = {}
    for node_id in ("node-a", "node-b", "node-c"):
        instance = tmp_path_factory.mktemp(f"{node_id}-{backend}")
        nodes[node_id] = Node(node_id, instance, fresh_database_url(backend, instance)).start()
    a, b, c = nodes["node-a"], nodes["node-b"], nodes["node-c"]
    for country in ("KG", "KZ", "UZ"):
        a.write("authority", f"{country.lower()}-gpo", authority(country, f"Prosecutor General of {country}", "casc"),
                "casc")
        a.write("contact_point", f"{country.lower()}-gpo-desk", contact_point(f"node-a:{country.lower()}-gpo", "Desk"),
                "casc")
    a.write("network", "casc", network("casc", ["node-a:kg-gpo", "node-a:kz-gpo", "node-a:uz-gpo"]), "casc")
    for country in ("FR", "DE"):
        b.write("authority", f"{country.lower()}-moj", authority(country, f"Ministry of Justice of {country}", "ejn"),
                "ejn")
    b.write("network", "ejn", network("ejn", ["node-b:de-moj", "node-b:fr-moj"]), "ejn")
    b.trust(a)
    b.add_peer(a)
    c.trust(a)
    c.trust(b)
    # C reaches B through the relay, which passes everything through until a test arms a fault.
    relay = HostileRelay(b.url)
    c.add_peer(b, url=relay.url)
    yield a, b, c, relay
    relay.close()
    for node in nodes.values():
        node.stop()


def converged(*nodes: Node) -> None:
    """Every node that holds an origin holds the same versions of its records, and its log of the
    origin has no gap."""
    for origin in ("node-a", "node-b"):
        holders = [node for node in nodes if origin in node.origins]
        digests = {node.node_id: node.digest(origin) for node in holders}
        assert len(set(digests.values())) == 1, f"{origin}: {digests}"
        for node in holders:
            seqs = node.log_seqs(origin)
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True, f"{node.node_id}: gap"


def sync_all(a: Node, b: Node, c: Node) -> None:
    b.sync()
    c.sync()


def test_bootstrap_reaches_c_through_b_with_a_verified_origin(federation):
    a, b, c, _ = federation
    assert "node-a from node-a: bootstrapped" in b.cli("sync", "--once").stdout
    assert "node-a from node-b: bootstrapped" in c.cli("sync", "--once").stdout
    converged(a, b, c)
    assert a.digest("node-a")[0] == 7 and b.digest("node-b")[0] == 3
    copy = requests.get(f"{c.url}/api/v1/authorities/node-a:kg-gpo", timeout=10).json()
    assert copy["origin"] == "node-a" and copy["names"]["en"] == "Prosecutor General of KG"
    keys = requests.get(f"{a.url}/.well-known/registry-keys.json", timeout=10).json()
    from joserfc.jwk import KeySet
    claims = envelope.verify(c.record("authority", "node-a:kg-gpo").envelope, KeySet.import_key_set(keys))
    assert claims["origin"] == "node-a" and claims["id"] == "node-a:kg-gpo"
    # Copies are found by search and lookup, and keep their origin.
    found = requests.get(f"{c.url}/api/v1/search", params={"q": "Prosecutor General KZ"}, timeout=10).json()
    assert found["results"][0]["id"] == "node-a:kz-gpo" and found["results"][0]["origin"] == "node-a"


def test_a_copy_is_read_only_and_names_its_origin(federation):
    _a, _b, c, _ = federation
    token = c.token("publish:casc")
    answer = requests.patch(f"{c.url}/api/v1/authorities/node-a:kg-gpo", json={"languages": ["ru"]},
                            headers={"Authorization": f"Bearer {token}", "If-Match": "*",
                                     "Content-Type": "application/merge-patch+json"}, timeout=10)
    assert answer.status_code == 409 and answer.json()["origin"] == "node-a"


def test_incremental_changes_delete_and_recreate(federation):
    a, b, c, _ = federation
    a.write("authority", "kg-gpo", authority("KG", "Prosecutor General of the Kyrgyz Republic", "casc"), "casc")
    a.write("authority", "tj-gpo", authority("TJ", "Prosecutor General of TJ", "casc"), "casc")
    b.write("authority", "it-moj", authority("IT", "Ministry of Justice of IT", "ejn"), "ejn")
    sync_all(a, b, c)
    converged(a, b, c)
    assert c.record("authority", "node-a:kg-gpo").version == 2

    a.write("contact_point", "kz-gpo-desk", None, "casc")
    sync_all(a, b, c)
    converged(a, b, c)
    assert c.record("contact_point", "node-a:kz-gpo-desk").deleted
    a.write("contact_point", "kz-gpo-desk", contact_point("node-a:kz-gpo", "Desk, again"), "casc")
    sync_all(a, b, c)
    converged(a, b, c)
    again = c.record("contact_point", "node-a:kz-gpo-desk")
    assert (again.version, again.deleted, again.body["position"]["en"]) == (3, False, "Desk, again")


def test_a_procedure_travels_like_any_record(federation):
    a, b, c, _ = federation
    procedure = {"country": "KG", "request_types": ["mla"], "title": {"en": "MLA requests to Kyrgyzstan"},
                 "channels": ["central_authority"], "unknown": ["languages"], "visibility": "public",
                 "sources": [{"title": "Demo source", "url": "https://example.org/source"}]}
    a.write("procedure", "proc-kg-mla", procedure, "casc")
    sync_all(a, b, c)
    converged(a, b, c)
    copy = requests.get(f"{c.url}/api/v1/procedures/node-a:proc-kg-mla", timeout=10).json()
    assert copy["origin"] == "node-a" and copy["channels"] == ["central_authority"]
    lookup = requests.get(f"{c.url}/api/v1/lookup", params={"country": "KG", "request_type": "mla"}, timeout=10)
    assert [p["id"] for p in lookup.json()["procedures"]] == ["node-a:proc-kg-mla"]


def test_a_loop_a_b_c_a_converges_and_a_ignores_its_own_origin(federation):
    a, b, c, _ = federation
    a.trust(b, cli=True)
    a.add_peer(c, cli=True)
    a.write("authority", "am-gpo", authority("AM", "Prosecutor General of AM", "casc"), "casc")
    b.write("authority", "es-moj", authority("ES", "Ministry of Justice of ES", "ejn"), "ejn")
    for _ in range(2):
        sync_all(a, b, c)
        a.sync()
    converged(a, b, c)
    status = a.status()
    assert "node-a" not in status, "a node never pulls its own origin"
    assert status["node-b"]["source"] == "node-c" and status["node-b"]["lag_records"] == 0


def test_sync_status_reports_counts_over_the_api(federation):
    _a, b, _c, _ = federation
    answer = requests.get(f"{b.url}/api/v1/federation/status", timeout=10,
                          headers={"Authorization": f"Bearer {b.token('admin')}"})
    assert answer.status_code == 200
    (state,) = [s for s in answer.json() if s["origin"] == "node-a"]
    assert state["trusted"] and state["source"] == "node-a" and state["counts"]["applied"] >= 7
    assert state["lag_records"] == 0 and state["last_error"] is None and state["cursor"] == a_last_seq(federation)


def a_last_seq(federation) -> int:
    return federation[0].log_seqs("node-a")[-1]


def test_a_cursor_past_retention_bootstraps_and_converges(federation):
    a, b, c, _ = federation
    for i in range(3):
        a.write("authority", "kg-gpo", authority("KG", f"Prosecutor General of the Kyrgyz Republic ({i})", "casc"),
                "casc")
    # A's retention drops its whole log: B's cursor is older than what remains (nothing).
    assert a.cli("log", "prune", "--older-than-days", "0").stdout.startswith("node-a: ")
    assert a.log_seqs("node-a") == []
    (report,) = [r for r in b.sync() if r.origin == "node-a"]
    held = a.digest("node-a")[0]
    assert report.bootstrapped and report.counts["applied"] == 1 and report.counts["duplicate"] == held - 1
    # B's relayed log of A now starts after its snapshot, so C's cursor is older there too.
    assert [(r.source, r.bootstrapped) for r in c.sync() if r.origin == "node-a"] == [("node-b", True)]
    converged(a, b, c)
    a.sync()
    converged(a, b, c)


@pytest.fixture
def relay(federation):
    """The relay between C and B, disarmed again after the test."""
    hostile = federation[3]
    yield hostile
    hostile.set(None)


def quarantine(node: Node) -> list[dict]:
    return [json.loads(line) for line in node.cli("sync", "quarantine", "--json").stdout.splitlines()]


def change_at_a(a: Node, b: Node, label: str) -> None:
    a.write("authority", "uz-gpo", authority("UZ", f"Prosecutor General of UZ ({label})", "casc"), "casc")
    b.sync()


@pytest.mark.parametrize("fault", ["alter", "drop", "replay", "sign", "claim"])
def test_a_relay_that_tampers_gets_nothing_applied(federation, relay, fault):
    a, b, c, _ = federation
    options = {}
    if fault in ("sign", "claim"):
        options["keys"] = KeyStore(b.instance / "keys" / "record-signing.json", "Ed25519",
                                   grace=float("inf")).signing_keys()
        options["claim_origin"] = "node-b"
    if fault == "replay":
        for n in range(2):  # (the first round may be C's bootstrap, which brings no page to remember)
            change_at_a(a, b, f"an older version for the relay to replay ({n})")
            c.sync()
    relay.set(fault, times=1, origin="node-a", **options)
    before = c.digest("node-a")
    change_at_a(a, b, fault)
    if fault == "alter":
        result = c.cli("sync", "--once", check=False)
        assert result.returncode == 1 and "node-a from node-b" in result.stdout and "FAILED" in result.stdout
    else:
        (report,) = [r for r in c.sync(check=False) if r.origin == "node-a"]
        assert report.error and report.counts["refused"] == 1 and report.counts["applied"] == 0
    assert relay.injected == 1
    assert c.digest("node-a") == before, "nothing of a tampered page is applied"
    state = c.status()["node-a"]
    assert state["counts"]["refused"] >= 1 and state["last_error"] and state["lag_records"] > 0
    c.sync()
    converged(a, b, c)


def test_equivocation_is_quarantined_and_resolved_by_the_next_version(federation, relay):
    a, b, c, _ = federation
    held = c.record("authority", "node-a:uz-gpo")
    a_keys = KeyStore(a.instance / "keys" / "record-signing.json", "Ed25519", grace=float("inf")).signing_keys()
    relay.set("equivocate", times=1, origin="node-a", keys=a_keys, version=held.version,
              body=authority("UZ", "Someone else entirely", "casc"))
    change_at_a(a, b, "equivocation")
    reports = c.sync(check=False)
    assert relay.injected == 1
    items = quarantine(c)
    assert items[0]["record_id"] == "node-a:uz-gpo" and "equivocation" in items[0]["reason"]
    assert c.record("authority", "node-a:uz-gpo").envelope == held.envelope, "the held version stays"
    # The version the relay replaced never arrived: the origin's checkpoint says so.
    (report,) = [r for r in reports if r.origin == "node-a"]
    assert "do not match node-a's checkpoint" in report.error
    change_at_a(a, b, "after equivocation")
    c.sync()
    converged(a, b, c)
    assert c.status()["node-a"]["checkpoint_matched"]


def pull_again(node: Node, origin: str = "node-a", **options) -> puller.OriginReport:
    """One round for `origin` at `node`, taking its snapshot again (as `registry sync --origin --rebootstrap`)."""
    (report,) = puller.sync_once(node.ctx, only={origin}, rebootstrap=True, **options)
    return report


@pytest.mark.parametrize("fault, refusal", [
    ("omit", "does not hold the records of node-a's checkpoint"),
    ("inflate", "but its checkpoint is at seq"),
])
def test_a_relay_cannot_delete_by_omission_or_freeze_the_cursor_with_a_snapshot(federation, relay, fault, refusal):
    """A relay that leaves a record out of a snapshot (recomputing the manifest), or raises its as_of_seq,
    is refused: the snapshot must hash to the origin's signed checkpoint at its seq."""
    a, b, c, _ = federation
    change_at_a(a, b, f"before {fault}")
    c.sync()
    before, cursor = c.digest("node-a"), c.status()["node-a"]["cursor"]
    relay.set(fault, origin="node-a")
    report = pull_again(c)
    assert relay.injected == 1 and refusal in report.error and report.counts["refused"] == 1
    assert c.digest("node-a") == before, "no copy discarded, none changed"
    assert c.status()["node-a"]["cursor"] == cursor
    relay.set(None)
    assert pull_again(c).error is None
    converged(a, b, c)


def test_a_snapshot_without_a_checkpoint_is_applied_but_discards_nothing(federation, relay):
    """A peer of an older release gives no checkpoint: its records are verified one by one and applied,
    but a copy it does not name is kept (its completeness cannot be checked) and the cursor moves only to
    its newest signed seq."""
    a, b, c, _ = federation
    b.sync()
    c.sync()
    relay.set("omit", origin="node-a")
    relay.set("strip", origin="node-a")  # (the last armed fault wins: strip)
    before = c.digest("node-a")
    report = pull_again(c)
    assert report.error is None and "without a checkpoint" in report.warning
    assert c.digest("node-a") == before
    relay.set(None)
    c.sync()
    converged(a, b, c)


def test_a_relay_cannot_roll_a_fresh_bootstrap_back_to_an_older_snapshot(federation, relay):
    a, b, c, _ = federation
    b.sync()
    c.sync()
    relay.set("record", origin="node-a")
    pull_again(c)
    change_at_a(a, b, "after the recorded snapshot")
    c.sync()
    cursor = c.status()["node-a"]["cursor"]
    relay.set("rollback", origin="node-a")
    report = pull_again(c)
    assert relay.injected == 1 and "behind the" in report.error
    assert c.status()["node-a"]["cursor"] == cursor
    assert c.record("authority", "node-a:uz-gpo").envelope == a.record("authority", "node-a:uz-gpo").envelope


def test_a_relay_that_withholds_changes_is_reported_behind_the_origins_checkpoint(federation, relay):
    """The relay stops its pages at an older seq (and strips their checkpoints) while the origin's
    checkpoint reaches the consumer another way (here the relay's own listing, relayed from B): the
    consumer reports the error and the real lag, never lag 0."""
    a, b, c, _ = federation
    b.sync()
    c.sync()
    upto = c.status()["node-a"]["cursor"]
    change_at_a(a, b, "withheld 1")
    change_at_a(a, b, "withheld 2")
    relay.set("freeze", times=10, origin="node-a", upto=upto)
    (report,) = [r for r in c.sync(check=False) if r.origin == "node-a"]
    assert report.error and "behind node-a's checkpoint" in report.error
    state = c.status()["node-a"]
    assert state["lag_records"] == 2 and state["last_error"] and state["checkpoint_seq"] == upto + 2
    result = c.cli("sync", "--once", check=False)
    assert result.returncode == 1 and "behind node-a's checkpoint" in result.stdout
    relay.set(None)
    c.sync()
    state = c.status()["node-a"]
    assert state["lag_records"] == 0 and state["last_error"] is None and state["checkpoint_matched"]
    converged(a, b, c)


def test_an_old_checkpoint_is_reported_stale(federation):
    a, b, c, _ = federation
    b.sync()
    c.sync()
    assert not c.status()["node-a"]["checkpoint_stale"]
    with c.ctx.db.write() as session:
        session.execute(update(models.Checkpoint).where(models.Checkpoint.origin == "node-a")
                        .values(issued_at=utcnow() - timedelta(hours=2)))
    state = c.status()["node-a"]
    assert state["checkpoint_stale"] and state["checkpoint_age_seconds"] >= 7200
    assert "STALE" in c.cli("sync", "status").stdout
    c.sync()


def answer_410_for_ever(federation, relay, label: str, times: int) -> int:
    """C caught up, a change at A, then the relay answers C's change requests with 410; how many
    snapshots C had asked for until then."""
    a, b, c, _ = federation
    b.sync()
    c.sync()
    change_at_a(a, b, label)
    relay.set("gone", times=times, origin="node-a")
    return len([p for p in relay.requests if p.endswith("/snapshot")])


def test_a_peer_that_keeps_answering_410_costs_one_snapshot_per_round(federation, relay):
    a, b, c, _ = federation
    before = answer_410_for_ever(federation, relay, "gone", times=100)
    started = time.monotonic()
    (report,) = [r for r in c.sync(check=False) if r.origin == "node-a"]
    assert "410" in report.error and time.monotonic() - started < 30
    assert len([p for p in relay.requests if p.endswith("/snapshot")]) - before == 1
    relay.set(None)
    c.sync()
    converged(a, b, c)


def test_a_damaged_copy_is_noticed_and_repaired_by_a_rebootstrap(federation):
    a, b, c, _ = federation
    b.sync()
    c.sync()
    with c.ctx.db.write() as session:  # someone edits C's database behind the registry's back
        row = session.scalars(select(models.ContactPoint).where(models.ContactPoint.origin == "node-a")
                              .order_by(models.ContactPoint.id)).first()
        row.version += 1
    change_at_a(a, b, "after the damage")
    (report,) = [r for r in c.sync(check=False) if r.origin == "node-a"]
    assert "--rebootstrap" in report.error and "do not match node-a's checkpoint" in report.error
    repaired = c.cli("sync", "--once", "--origin", "node-a", "--rebootstrap", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "bootstrapped" in repaired.stdout and "FAILED" not in repaired.stdout
    converged(a, b, c)
    assert c.status()["node-a"]["checkpoint_matched"]


@pytest.mark.parametrize("fault", ["status500", "slow", "reset", "truncate"])
def test_a_failing_peer_is_retried_and_sync_converges(federation, relay, fault):
    a, b, c, _ = federation
    relay.set(fault, times=2 if fault == "status500" else 1, origin="node-a", seconds=4)
    change_at_a(a, b, fault)
    c.sync()
    assert relay.injected == (2 if fault == "status500" else 1)
    converged(a, b, c)


def test_a_puller_killed_mid_page_resumes_without_gaps_or_duplicates(federation, relay):
    a, b, c, _ = federation
    relay.set("stall", times=1, origin="node-a")
    change_at_a(a, b, "killed")
    puller = subprocess.Popen([REGISTRY, "sync", "--once"], env=c.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    assert relay.stalled.wait(30), "the puller never reached the page"
    puller.send_signal(signal.SIGKILL)
    puller.wait(timeout=10)
    relay.release.set()
    c.sync()
    converged(a, b, c)


def test_one_puller_per_origin_at_a_time(federation):
    _a, _b, c, _ = federation
    with puller.origin_lock(c.ctx, "node-a") as held:
        assert held
        reports = {r.origin: r for r in c.sync(check=False)}
    assert reports["node-a"].skipped == "another puller holds this origin"
    assert reports["node-b"].error is None and reports["node-b"].skipped is None


def test_an_untrusted_origin_is_refused_and_reported(federation):
    a, b, c, _ = federation
    trust.untrust_origin(c.ctx, "node-b")
    before = c.digest("node-b")
    b.write("authority", "pt-moj", authority("PT", "Ministry of Justice of PT", "ejn"), "ejn")
    b.sync()
    (report,) = [r for r in c.sync(check=False) if r.origin == "node-b"]
    assert report.skipped.startswith("not trusted: offered by node-b, refused")
    assert c.digest("node-b") == before
    state = c.status()["node-b"]
    assert state["trusted"] is False and "not trusted" in state["last_error"]
    c.trust(b)
    c.sync()
    a.sync()
    converged(a, b, c)


def test_federation_admin_api(federation):
    _a, b, c, _ = federation
    admin = {"Authorization": f"Bearer {c.token('admin')}"}
    reader = {"Authorization": f"Bearer {c.token('directory:read')}"}
    origins = requests.get(f"{c.url}/api/v1/admin/origins", headers=admin, timeout=10)
    assert {o["node_id"] for o in origins.json()} == {"node-a", "node-b"}
    assert requests.get(f"{c.url}/api/v1/admin/origins", timeout=10).status_code == 401
    assert requests.get(f"{c.url}/api/v1/admin/peers", headers=reader, timeout=10).status_code == 403
    (peer,) = requests.get(f"{c.url}/api/v1/admin/peers", headers=admin, timeout=10).json()
    assert peer["name"] == "node-b" and "client_secret" not in peer

    def post(path, body):
        return requests.post(f"{c.url}/api/v1/admin/{path}", json=body, headers=admin, timeout=30)

    private = post("peers", {"name": "inside", "url": "http://10.1.2.3:8000", "client_id": "x", "client_secret": "y"})
    assert private.status_code == 422 and "10.1.2.3" in private.json()["detail"]
    assert post("peers", {"name": "ftp", "url": "ftp://127.0.0.1/", "client_id": "x",
                          "client_secret": "y"}).status_code == 422
    dead = post("origins", {"node_id": "node-z", "namespace": "node-z",
                            "jwks_url": f"http://127.0.0.1:{free_port()}/keys.json"})
    assert dead.status_code == 502 and dead.headers["Content-Type"] == "application/problem+json"
    taken = post("origins", {"node_id": "node-y", "namespace": "node-b",
                             "jwks_url": f"{b.url}/.well-known/registry-keys.json"})
    assert taken.status_code == 409
    added = post("peers", {"name": "spare", "url": b.url, "client_id": "x", "client_secret": "y"})
    assert added.status_code == 201 and added.json()["name"] == "spare"
    assert requests.delete(f"{c.url}/api/v1/admin/peers/spare", headers=admin, timeout=10).status_code == 204
    assert requests.delete(f"{c.url}/api/v1/admin/peers/spare", headers=admin, timeout=10).status_code == 404
    assert {o["node_id"] for o in requests.get(f"{c.url}/api/v1/admin/origins", headers=admin,
                                               timeout=10).json()} == {"node-a", "node-b"}


def test_a_key_rotation_at_the_origin_reaches_its_peers(federation):
    a, b, c, _ = federation
    for node in (b, c):  # the pinned keys were fetched moments ago
        with node.ctx.db.write() as session:
            session.execute(update(models.TrustedOrigin).values(keys_fetched_at=utcnow()))
    a.cli("keys", "rotate", "--record-signing")
    a.write("authority", "kg-gpo", authority("KG", "Prosecutor General of KG, under a new key", "casc"), "casc")
    time.sleep(trust.REFRESH_INTERVAL.total_seconds())  # a rotated key is taken within seconds, not a minute
    sync_all(a, b, c)
    a.sync()
    converged(a, b, c)
    assert len(trust.list_trusted(c.ctx)[0].kids) == 2, "the new key is pinned beside the old one"


def test_the_watch_worker_stops_on_sigterm_while_its_peer_answers_410(federation, relay):
    a, b, c, _ = federation
    before = answer_410_for_ever(federation, relay, "gone while watched", times=1000)
    worker = subprocess.Popen([REGISTRY, "sync", "--watch"], env=c.env | {"REGISTRY_SYNC_INTERVAL": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def snapshots() -> int:
        return len([p for p in relay.requests if p.endswith("/snapshot")]) - before

    # The first round asks for a snapshot and meets the 410; the origin is then put off for a minute or more
    # (longer after the failures of earlier tests), during which the worker must still stop at once.
    deadline = time.monotonic() + 60
    while snapshots() < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a few of the worker's one-second intervals, with the origin put off
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0 and time.monotonic() - started < 30, err
    rounds = out.count("node-a from")
    assert "410" in out and rounds >= 1 and snapshots() <= rounds + 1  # one snapshot a round, not hundreds
    relay.set(None)
    c.sync()
    converged(a, b, c)


def test_the_watch_worker_follows_changes_and_stops_on_sigterm(federation):
    a, b, c, _ = federation
    worker = subprocess.Popen([REGISTRY, "sync", "--watch"], env=b.env | {"REGISTRY_SYNC_INTERVAL": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        a.write("authority", "tj-gpo", authority("TJ", "Prosecutor General of TJ, watched", "casc"), "casc")
        deadline = time.monotonic() + 30
        while b.digest("node-a") != a.digest("node-a") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b.digest("node-a") == a.digest("node-a")
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "node-a from node-a" in out
    c.sync()
    a.sync()
    converged(a, b, c)


def test_a_dead_peer_costs_one_failure_per_put_off_period_and_few_retries(federation, backend, tmp_path):
    a, _b, _c, _ = federation
    d = Node("node-d", tmp_path, fresh_database_url(backend, tmp_path))
    try:
        d.trust(a)
        peers.add_peer(d.ctx, "dead", f"http://127.0.0.1:{free_port()}", "client", "secret")
        with d.ctx.db.write() as session:  # node-a was last pulled from the peer that is now down
            session.add(models.SyncState(origin="node-a", source="dead", applied=0, duplicate=0, stale=0,
                                         quarantined=0, refused=0, failures=0))
        waits = []
        states = []
        for _round in range(3):
            (report,) = puller.sync_once(d.ctx, respect_put_off=True, sleep=waits.append)
            assert report.error and "dead" in report.error
            states.append(d.status()["node-a"])
        # Retries of the listing only: a token request inside each would multiply them.
        assert len(waits) <= 3 * (puller.ATTEMPTS - 1)
        assert [s["retry_at"] for s in states[1:]] == [states[0]["retry_at"]] * 2, "put off once, not each round"
        with d.ctx.db.read() as session:
            assert session.get(models.SyncState, "node-a").failures == 1
    finally:
        d.ctx.db.dispose()


def test_a_copied_deletion_names_who_deleted_it_at_its_origin_not_the_peer(federation):
    a, b, c, _ = federation
    a.write("authority", "tm-gpo", authority("TM", "Prosecutor General of TM", "casc"), "casc")
    a.write("authority", "tm-gpo", None, "casc")
    b.sync()
    c.sync()
    with c.ctx.db.read() as session:
        actors = session.scalars(select(models.ChangeLogEntry.actor).where(
            models.ChangeLogEntry.record_id == "node-a:tm-gpo", models.ChangeLogEntry.deleted.is_(True))).all()
    # Node.write deletes as "test"; the envelope carries it to B and, through B, to C.
    assert actors and all(actor.startswith("test at origin:node-a via sync from ") for actor in actors), actors
    gone = requests.get(f"{c.url}/api/v1/authorities/node-a:tm-gpo", timeout=10).json()
    assert gone["deleted_by"].startswith("test at origin:node-a via sync from "), gone
