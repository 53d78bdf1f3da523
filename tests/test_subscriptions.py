"""Webhook subscriptions on SQLite and PostgreSQL: a real receiver on 127.0.0.1
verifies every notification with the standardwebhooks package, as a partner's would."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from conftest import client_with, fresh_database_url, make_settings
from sqlalchemy import delete
from standardwebhooks import Webhook, WebhookVerificationError

from registry import contracts, create_app, models
from registry.auth.clients import create_client
from registry.db import utcnow
from registry.services import deliveries
from registry.services.deliveries import MAX_FAILURES, deliver_once
from registry.services.records import write_record

REGISTRY = str(Path(sys.executable).parent / "registry")
SCHEMA = "subscriptions.json#/$defs/"
LATER = timedelta(days=1)


class Receiver:
    """A partner's webhook endpoint: records what it gets, answers the scripted statuses, then 200."""

    def __init__(self, *answers: int | tuple[int, dict]):
        self.received: list[tuple[dict, bytes]] = []
        self.answers = list(answers)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verified(self, secret: str, index: int = -1) -> dict:
        headers, body = self.received[index]
        return Webhook(secret).verify(body, headers)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    """An app whose outbound rules admit 127.0.0.1, with two networks and two authorities."""
    tmp_path = tmp_path_factory.mktemp(f"subscriptions-{backend}")
    settings = make_settings(fresh_database_url(backend, tmp_path), tmp_path, federation_allow_hosts="127.0.0.1",
                             rate_limit_client="100000/minute", rate_limit_address="100000/minute",
                             rate_limit_token="100000/minute")
    app = create_app(settings)
    ctx = app.extensions["registry"]
    write(ctx, "authority", "kg-gpo", authority("KG"))
    write(ctx, "authority", "kz-gpo", authority("KZ"), owner="globe")
    write(ctx, "network", "casc", network("casc", "local:kg-gpo"), owner="casc")
    write(ctx, "network", "globe", network("globe", "local:kz-gpo"), owner="globe")
    yield app
    ctx.db.dispose()


@pytest.fixture
def ctx(node):
    context = node.extensions["registry"]
    yield context
    # Each test starts without subscriptions: another test's would be delivered to a closed receiver.
    with context.db.write() as session:
        session.execute(delete(models.Subscription))


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def authority(country: str, name: str = "Prosecutor General") -> dict:
    return {"names": {"en": f"{name} of {country}"}, "kind": "prosecution_service", "country": country,
            "competences": ["corruption"], "request_types": ["mla"], "languages": ["en"], "status": "active",
            "channels": [{"kind": "email", "value": "desk@example.org", "visibility": "public"}]}


def network(code: str, member: str) -> dict:
    return {"code": code, "names": {"en": f"{code.upper()} network"}, "scope": "regional",
            "members": [{"authority_id": member, "role": "member"}]}


def contact_point(position: str) -> dict:
    return {"authority_id": "local:kg-gpo", "kind": "function", "position": {"en": position}, "languages": ["en"],
            "roles": [{"network": "casc", "role": "contact_point"}], "hours": {"time_zone": "UTC", "always": True},
            "valid_from": "2024-01-01", "email": "duty@example.org"}


def note(visibility: str) -> dict:
    return {"scope": {"country": "KG"}, "kind": "urgent_request_procedure", "urgency": "urgent",
            "title": {"en": "Urgent requests"}, "body": {"en": "Call the duty prosecutor first."},
            "effective_from": "2024-01-01", "visibility": visibility}


def write(ctx, record_type: str, local_id: str, body: dict, owner: str = "casc") -> str:
    record_id = f"local:{local_id}"
    with ctx.db.write() as session:
        write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(), origin="local",
                     record_type=record_type, record_id=record_id, owner_network=owner, body=body, actor="test")
    return record_id


def rename(ctx, country: str = "KG") -> str:
    """A new version of the country's authority."""
    return write(ctx, "authority", f"{country.lower()}-gpo", authority(country, f"Office {uuid.uuid4().hex[:6]}"),
                 owner="casc" if country == "KG" else "globe")


def partner(app, scope: str = "directory:read"):
    """A test client for a new client holding `scope`, and its client id."""
    credentials = create_client(app.extensions["registry"], f"partner-{uuid.uuid4().hex[:10]}", scope)
    answer = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                    auth=(credentials.client.client_id, credentials.client_secret))
    return client_with(app, answer.get_json()["access_token"]), credentials.client.client_id


def subscribe(client, url: str, **filters) -> dict:
    answer = client.post("/api/v1/subscriptions", json={"url": url, **filters})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def test_the_secret_is_shown_once_and_refused_urls_are_422(node, ctx, receiver):
    client, client_id = partner(node)
    answer = client.post("/api/v1/subscriptions", json={"url": receiver.url, "networks": ["CASC"],
                                                        "countries": ["Кыргызстан"], "types": ["Authority"]})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    created = answer.get_json()
    contracts.validator(SCHEMA + "subscription_with_secret").validate(created)
    assert created["secret"].startswith("whsec_") and created["client_id"] == client_id
    assert created["filters"] == {"networks": ["casc"], "countries": ["KG"], "types": ["authority"]}
    assert answer.headers["Location"].endswith(f"/api/v1/subscriptions/{created['id']}")
    assert answer.headers["Cache-Control"] == "no-store"
    listed = client.get("/api/v1/subscriptions").get_json()
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    contracts.validator(SCHEMA + "subscription").validate(listed[0])
    assert "secret" not in client.get(f"/api/v1/subscriptions/{created['id']}").get_json()
    assert client.post("/api/v1/subscriptions", json={"url": receiver.url, "networks": ["casc"], "countries": ["KG"],
                                                      "types": ["authority"]}).status_code == 409

    for url, reason in (("ftp://example.org/hook", "scheme 'ftp'"), ("http://10.0.0.1/hook", "a private address")):
        refused = client.post("/api/v1/subscriptions", json={"url": url})
        assert refused.status_code == 422 and reason in refused.get_json()["detail"], refused.get_json()
    for unknown in ({"countries": ["Atlantis"]}, {"types": ["person"]}, {"colour": "red"}):
        assert client.post("/api/v1/subscriptions", json={"url": receiver.url, **unknown}).status_code == 422
    assert node.test_client().post("/api/v1/subscriptions", json={"url": receiver.url}).status_code == 401
    publisher, _ = partner(node, "publish:casc")
    assert publisher.post("/api/v1/subscriptions", json={"url": receiver.url}).status_code == 403

    strict = create_app(dataclasses.replace(ctx.settings, federation_allow_hosts=""))
    refused = client_with(strict, client.environ_base["HTTP_AUTHORIZATION"].split()[1]).post(
        "/api/v1/subscriptions", json={"url": receiver.url})
    assert refused.status_code == 422 and "a loopback address" in refused.get_json()["detail"]
    strict.extensions["registry"].db.dispose()


def test_a_change_is_notified_thin_and_signed(node, ctx, receiver):
    client, _ = partner(node)
    created = subscribe(client, receiver.url, countries=["kg"])
    assert deliver_once(ctx) == [], "only what arrives after subscribing is notified"
    record_id = rename(ctx)

    (attempt,) = deliver_once(ctx)
    assert attempt.delivered and attempt.status == 200 and attempt.count == 1
    payload = receiver.verified(created["secret"])
    contracts.validator(SCHEMA + "notification").validate(payload)
    headers, _ = receiver.received[0]
    assert headers["content-type"] == "application/json" and headers["webhook-id"] == attempt.message_id
    data = payload["data"]
    assert (payload["type"], data["subscription_id"], data["count"]) == ("directory.changed", created["id"], 1)
    assert data["after"] == created["cursor"], "no record content: cursors and a link"

    changes = urlsplit(data["changes"])
    assert f"{changes.scheme}://{changes.netloc}" == ctx.settings.public_url
    page = client.get(changes.path, query_string=changes.query).get_json()
    assert [(i["id"], i["cursor"]) for i in page["items"]] == [(record_id, data["cursor"])]

    assert deliver_once(ctx) == [], "nothing new"
    assert client.get(f"/api/v1/subscriptions/{created['id']}").get_json()["cursor"] == data["cursor"]
    (logged,) = client.get(f"/api/v1/subscriptions/{created['id']}/deliveries").get_json()
    contracts.validator(SCHEMA + "delivery").validate(logged)
    assert (logged["status"], logged["attempt"], logged["error"]) == (200, 1, None)
    assert (logged["message_id"], logged["cursor"]) == (attempt.message_id, data["cursor"])


def test_changes_outside_the_filters_or_the_tier_are_not_notified(node, ctx):
    receivers = {name: Receiver() for name in ("kz", "partner", "restricted")}
    try:
        reader, _ = partner(node)
        restricted_client, _ = partner(node, "directory:restricted")
        kz = subscribe(reader, receivers["kz"].url, countries=["Kazakhstan"])
        partner_tier = subscribe(reader, receivers["partner"].url, networks=["casc"])
        restricted = subscribe(restricted_client, receivers["restricted"].url, networks=["casc"])

        write(ctx, "contact_point", f"desk-{uuid.uuid4().hex[:6]}", contact_point("Duty desk"))
        attempts = {a.subscription_id: a for a in deliver_once(ctx)}
        assert set(attempts) == {partner_tier["id"], restricted["id"]}, "a KG contact point is not in KZ"
        assert receivers["kz"].received == []
        assert receivers["partner"].verified(partner_tier["secret"])["data"]["count"] == 1

        note_id = write(ctx, "emergency_note", f"note-{uuid.uuid4().hex[:6]}", note("restricted"))
        (attempt,) = deliver_once(ctx)
        assert attempt.subscription_id == restricted["id"], "a restricted note is above directory:read"
        assert len(receivers["partner"].received) == 1

        record_id = rename(ctx)
        (attempt,) = [a for a in deliver_once(ctx) if a.subscription_id == partner_tier["id"]]
        data = receivers["partner"].verified(partner_tier["secret"])["data"]
        assert data["count"] == 1
        changes = urlsplit(data["changes"])
        items = reader.get(changes.path, query_string=changes.query).get_json()["items"]
        assert [i["id"] for i in items] == [record_id] and note_id not in {i["id"] for i in items}

        assert receivers["kz"].received == []
        rename(ctx, "KZ")
        assert kz["id"] in {a.subscription_id for a in deliver_once(ctx)}
        assert receivers["kz"].verified(kz["secret"])["data"]["count"] == 1
    finally:
        for made in receivers.values():
            made.close()


def test_failures_are_retried_with_the_same_message_until_delivered(node, ctx):
    receiver = Receiver(500, (503, {"Retry-After": "7200"}))
    try:
        client, _ = partner(node)
        created = subscribe(client, receiver.url)
        rename(ctx)
        start = utcnow()
        (first,) = deliver_once(ctx, now=start)
        assert not first.delivered and first.status == 500 and first.next_attempt_at > start
        assert deliver_once(ctx, now=start) == [], "not due before its backoff"
        (second,) = deliver_once(ctx, now=start + LATER)
        assert second.status == 503 and second.next_attempt_at >= start + LATER + timedelta(seconds=7200)
        (third,) = deliver_once(ctx, now=start + 2 * LATER)
        assert third.delivered and [first.attempt, second.attempt, third.attempt] == [1, 2, 3]

        assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1
        assert len({body for _, body in receiver.received}) == 1, "a retry sends the same notification"
        assert all(receiver.verified(created["secret"], i) for i in range(3))
        log = client.get(f"/api/v1/subscriptions/{created['id']}/deliveries").get_json()
        assert [(d["attempt"], d["status"]) for d in log] == [(3, 200), (2, 503), (1, 500)]
        assert log[1]["error"].startswith("answered 503") and len({d["message_id"] for d in log}) == 1
        assert client.get(f"/api/v1/subscriptions/{created['id']}").get_json()["failures"] == 0
    finally:
        receiver.close()


def test_a_410_disables_at_once_and_active_true_resumes(node, ctx):
    receiver = Receiver(410)
    try:
        client, _ = partner(node)
        created = subscribe(client, receiver.url)
        rename(ctx)
        (gone,) = deliver_once(ctx)
        assert gone.status == 410 and "410" in gone.disabled_reason
        item = f"/api/v1/subscriptions/{created['id']}"
        current = client.get(item)
        assert current.get_json()["active"] is False and "410 Gone" in current.get_json()["disabled_reason"]
        assert deliver_once(ctx, now=utcnow() + LATER) == []

        resumed = client.patch(item, json={"active": True}, headers={"If-Match": current.headers["ETag"]})
        assert resumed.status_code == 200
        assert (resumed.get_json()["active"], resumed.get_json()["failures"]) == (True, 0)
        (attempt,) = deliver_once(ctx)
        assert attempt.delivered and attempt.message_id != gone.message_id
        assert receiver.verified(created["secret"])["data"]["after"] == created["cursor"], "nothing was lost"
    finally:
        receiver.close()


def test_ten_failures_in_a_row_disable_the_subscription(node, ctx):
    client, _ = partner(node)
    created = subscribe(client, closed_port_url())
    rename(ctx)
    start = utcnow()
    for day in range(MAX_FAILURES):
        (attempt,) = deliver_once(ctx, now=start + day * LATER)
        assert "cannot connect" in attempt.error and attempt.status is None
        assert (attempt.disabled_reason is None) == (day < MAX_FAILURES - 1)
    shown = client.get(f"/api/v1/subscriptions/{created['id']}").get_json()
    assert not shown["active"] and shown["disabled_reason"].startswith(f"{MAX_FAILURES} deliveries in a row failed")


def test_after_a_rotation_both_secrets_sign_for_a_day(node, ctx, receiver):
    client, _ = partner(node)
    created = subscribe(client, receiver.url)
    rotated = client.post(f"/api/v1/subscriptions/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret != created["secret"] and rotated.get_json()["previous_secret_until"]
    rename(ctx)
    deliver_once(ctx)
    assert len(receiver.received[-1][0]["webhook-signature"].split()) == 2
    assert receiver.verified(created["secret"]) == receiver.verified(new_secret)

    rename(ctx)
    deliver_once(ctx, now=utcnow() + timedelta(hours=25))
    assert len(receiver.received[-1][0]["webhook-signature"].split()) == 1
    assert receiver.verified(new_secret)
    with pytest.raises(WebhookVerificationError):
        receiver.verified(created["secret"])


def test_another_clients_subscription_is_not_found_and_writes_need_if_match(node, ctx, receiver):
    owner, owner_id = partner(node)
    other, _ = partner(node)
    admin, _ = partner(node, "admin")
    created = subscribe(owner, receiver.url)
    item = f"/api/v1/subscriptions/{created['id']}"
    etag = owner.get(item).headers["ETag"]
    for method, path in (("get", item), ("patch", item), ("delete", item), ("post", f"{item}/rotate-secret"),
                         ("get", f"{item}/deliveries")):
        answer = getattr(other, method)(path, json={} if method == "patch" else None, headers={"If-Match": etag})
        assert answer.status_code == 404, (method, path)
    assert other.get("/api/v1/subscriptions").get_json() == []
    assert [s["client_id"] for s in admin.get("/api/v1/subscriptions").get_json()] == [owner_id]
    assert admin.get(item).status_code == 200

    assert owner.patch(item, json={"types": ["contact_point"]}).status_code == 428
    assert owner.patch(item, json={"types": ["contact_point"]}, headers={"If-Match": '"7-abc"'}).status_code == 412
    changed = owner.patch(item, json={"types": ["contact_point"]}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert changed.get_json()["filters"]["types"] == ["contact_point"]
    assert owner.delete(item, headers={"If-Match": etag}).status_code == 412
    assert owner.delete(item, headers={"If-Match": changed.headers["ETag"]}).status_code == 204
    assert owner.get(item).status_code == 404


def test_one_deliverer_per_subscription_at_a_time(node, ctx, receiver):
    client, _ = partner(node)
    subscribe(client, receiver.url)
    rename(ctx)
    results = []
    threads = [threading.Thread(target=lambda: results.append(deliver_once(ctx))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 1] and len(receiver.received) == 1


def test_registry_deliver_once_and_subscriptions_list(node, ctx, receiver):
    client, _ = partner(node)
    created = subscribe(client, receiver.url)
    rename(ctx)
    env = os.environ | {"REGISTRY_DATABASE_URL": ctx.settings.database_url,
                        "REGISTRY_INSTANCE_PATH": ctx.settings.instance_path,
                        "REGISTRY_FEDERATION_ALLOW_HOSTS": "127.0.0.1"}
    delivered = subprocess.run([REGISTRY, "deliver", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert delivered.returncode == 0, delivered.stderr
    assert f"{created['id']} -> {receiver.url}: 1 changes, attempt 1, delivered (200" in delivered.stdout
    assert receiver.verified(created["secret"])["data"]["count"] == 1
    listed = subprocess.run([REGISTRY, "subscriptions", "list", "--json"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert [s["id"] for s in orjson.loads(listed.stdout)] == [created["id"]] and "whsec_" not in listed.stdout


def test_the_watch_loops_deliver(node, ctx, receiver):
    client, _ = partner(node)
    created = subscribe(client, receiver.url)
    rename(ctx)
    rounds = []
    deliveries.watch(ctx, on_round=rounds.append, stop=lambda: len(rounds) == 1)
    assert [a.delivered for a in rounds[0]] == [True]

    rename(ctx)
    env = os.environ | {"REGISTRY_DATABASE_URL": ctx.settings.database_url,
                        "REGISTRY_INSTANCE_PATH": ctx.settings.instance_path,
                        "REGISTRY_FEDERATION_ALLOW_HOSTS": "127.0.0.1", "REGISTRY_SYNC_INTERVAL": "1"}
    syncing = subprocess.Popen([REGISTRY, "sync", "--watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received) < 2 and time.monotonic() < deadline and syncing.poll() is None:
            time.sleep(0.1)
    finally:
        syncing.send_signal(signal.SIGTERM)
        out, err = syncing.communicate(timeout=60)
    assert len(receiver.received) == 2, (out, err)
    assert syncing.returncode == 0 and f"{created['id']} -> {receiver.url}: 1 changes" in out
    assert receiver.verified(created["secret"])["data"]["count"] == 1
