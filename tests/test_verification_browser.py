"""Verification rounds in a real browser, against a served node mailing through a real SMTP server: an editor
sends CASC's round from the console, the holder opens the link from the delivered mail and confirms, a peer
pulls the signed version; every page passes axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import SCREENSHOTS, MailServer, fresh_database_url
from nodes import Node
from sqlalchemy import select
from test_console_browser import make_person, sign_in

from registry import models
from registry.federation import trust
from registry.services import verification
from registry.services.seed import seed


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    instance = tmp_path_factory.mktemp(f"verify-browser-{backend}")
    server = MailServer(instance / "mail")
    served = Node("local", instance / "node", fresh_database_url(backend, instance), host="localhost",
                  REGISTRY_SMTP_URL=server.url, REGISTRY_MAIL_FROM="registry@example.org")
    seed(served.ctx)
    served.start()
    yield served, server
    served.stop()
    server.stop()


def axe_clean(page, name: str, backend: str) -> None:
    """No violation, whatever its impact, but the one every page of the demonstration node has: its banner
    (which says the data is fictional) stands outside the landmarks (`region`, moderate)."""
    results = Axe().run(page)
    found = [(x["id"], x["impact"], [n["target"] for n in x["nodes"]]) for x in results.response["violations"]]
    found = [f for f in found if not (f[0] == "region" and all(t == [".demo"] for t in f[2]))]
    assert found == [], f"{name}: {found}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"verification-{name}-{backend}.png"), full_page=True)


def test_a_holder_confirms_from_the_mail_and_a_peer_pulls_the_signed_version(visit, node, backend, tmp_path):
    served, server = node
    editor = f"verifier.{backend}@example.org"
    secret = make_person(served, editor, "editor:casc")
    v = visit(served, locale="en-GB")
    sign_in(v.page, editor, secret)
    v.page.goto("/console/networks/casc/freshness")
    due = int(v.page.locator("table.records").first.locator("tbody td").nth(1).inner_text())
    assert due > 0
    axe_clean(v.page, "freshness", backend)
    v.page.get_by_role("button", name="Send the verification round").click()
    assert f"Round sent: {due} questions" in v.page.locator(".notice").inner_text()

    # A Russian-speaking duty desk's message, read from the mailbox.
    states = {s.record_id: s for s in verification.states(served.ctx, "casc")}
    with served.ctx.db.read() as session:
        request = session.scalars(select(models.VerificationRequest).where(
            models.VerificationRequest.network == "casc").order_by(models.VerificationRequest.id)).first()
    message = next(m for m in server.wait_for(request.email, timeout=30)
                   if m[verification.HEADER] == request.reference)
    text = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
    link = re.search(r"http://\S+/verify/\S+", text).group(0)
    assert link.startswith(served.url)
    with served.ctx.db.read() as session:
        before = session.get(models.ContactPoint, request.record_id)
        version = before.version

    holder = visit(served, locale="ru-RU")
    holder.page.goto(link)
    assert holder.page.locator("h1").inner_text() == "Эта запись по-прежнему верна?"
    axe_clean(holder.page, "page-ru", backend)
    holder.page.get_by_role("button", name="Всё верно").click()
    assert holder.page.locator("h1").inner_text() == "Спасибо"
    axe_clean(holder.page, "confirmed-ru", backend)
    holder.page.goto(link)
    assert "уже использована" in holder.page.locator(".problem").inner_text()
    axe_clean(holder.page, "used-ru", backend)

    with served.ctx.db.read() as session:
        after = session.get(models.ContactPoint, request.record_id)
        assert after.version == version + 1 and after.body["verified_at"] == after.updated_at.date().isoformat()
    assert states[request.record_id].status == "due"

    v.page.goto("/console/networks/casc/freshness")
    assert "Confirmed" in v.page.locator("table.records").last.inner_text()
    v.page.goto("/console/networks/casc/proposals")
    axe_clean(v.page, "proposals", backend)

    # A peer pulls the confirmation like any change, and verifies it.
    peer = Node("peer", tmp_path / "peer", fresh_database_url(backend, tmp_path))
    try:
        peer.cli("db", "upgrade")
        direct = f"http://127.0.0.1:{served.port}"
        trust.trust_origin(peer.ctx, served.node_id, served.node_id, f"{direct}/.well-known/registry-keys.json")
        peer.add_peer(served, url=direct)
        peer.sync()
        with peer.ctx.db.read() as session:
            copy = session.get(models.ContactPoint, request.record_id)
            assert (copy.version, copy.body["verified_at"]) == (version + 1, after.body["verified_at"])
    finally:
        peer.ctx.db.dispose()
