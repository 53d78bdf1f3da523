"""People and the console in a real browser, against a served node that mails through a real SMTP server:
an invitation read from the mailbox to a change a peer pulls, second factors (TOTP, passkeys with Chromium's
virtual authenticator), concurrent edits, what a network's editor may not touch (forged forms included),
CSRF, session fixation, throttling, disabling, and what a signed-in practitioner sees."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from conftest import SCREENSHOTS, fresh_database_url
from nodes import Node
from sqlalchemy import select

from registry import models
from registry.auth import people
from registry.crypto import envelope
from registry.federation import trust
from registry.services.seed import seed

PASSWORD = "amber lantern under quiet rivers"


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory, mail_server):
    """Reached as http://localhost:<port>: browsers accept no IP address as a passkey's relying party."""
    instance = tmp_path_factory.mktemp(f"console-{backend}")
    served = Node("local", instance, fresh_database_url(backend, instance), host="localhost",
                  REGISTRY_SMTP_URL=mail_server.url, REGISTRY_MAIL_FROM="registry@example.org")
    seed(served.ctx)
    served.start()
    yield served
    served.stop()


def make_person(node: Node, email: str, *roles: str) -> str:
    """An account that works (password and TOTP), made through the services; its TOTP secret."""
    invited = people.invite(node.ctx, None, email, list(roles))
    person = people.accept_invitation(node.ctx, invited.link.rsplit("/", 1)[1], PASSWORD)
    secret = pyotp.random_base32()
    people.enrol_totp(node.ctx, person.id, secret, pyotp.TOTP(secret).now())
    return secret


def next_code(secret: str) -> str:
    """The code of the next time step: the current one was used at enrolment, and a code is good once."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def sign_in(page, email: str, secret: str | None, password: str = PASSWORD):
    page.goto("/console/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form.account button[type=submit]").click()
    if secret is not None:
        page.locator("#code").fill(next_code(secret))
        page.locator("form.account button[type=submit]").click()
    page.wait_for_load_state()


def record_id(node: Node, network: str, record_type: str = "contact_point", **where) -> str:
    model = models.ContactPoint if record_type == "contact_point" else models.Authority
    with node.ctx.db.read() as session:
        rows = session.scalars(select(model).where(model.owner_network == network, model.deleted.is_(False),
                                                   model.origin == node.node_id).order_by(model.id))
        for row in rows:
            if all(row.body.get(k) == v for k, v in where.items()):
                return row.id
    raise AssertionError(f"no {record_type} of {network} with {where}")


def stored(node: Node, record_type: str, rid: str):
    model = models.ContactPoint if record_type == "contact_point" else models.Authority
    with node.ctx.db.read() as session:
        row = session.get(model, rid)
        return row.version, dict(row.body)


def screenshot(page, name: str, backend: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}-{backend}.png"), full_page=True)


def test_an_invited_editor_signs_in_and_publishes_a_change_that_a_peer_pulls(
        visit, node, mail_server, backend, tmp_path):
    email = f"aigul.editor.{backend}@example.org"
    node.cli("users", "invite", email, "--role", "editor:casc")
    text = mail_server.wait_for(email)[-1].get_payload(decode=True).decode()
    link = re.search(r"http://\S+/console/invitation/\S+", text).group(0)
    assert link.startswith(node.url)

    v = visit(node, locale="en-GB")
    v.page.goto(link)
    v.page.locator("#password").fill("q1w2e3r4t5y6")
    v.page.locator("#password_again").fill("q1w2e3r4t5y6")
    v.page.locator("form.account button[type=submit]").click()
    assert "among those attackers try first" in v.page.locator(".problem").inner_text()
    v.page.locator("#password").fill(PASSWORD)
    v.page.locator("#password_again").fill(PASSWORD)
    v.page.locator("form.account button[type=submit]").click()
    assert v.page.locator("h1").inner_text() == "Set up a second factor"
    screenshot(v.page, "enrol", backend)
    secret = v.page.locator("code.secret").inner_text()
    v.page.locator("#code").fill(pyotp.TOTP(secret).now())
    v.page.locator("form.account button[type=submit]").click()
    assert v.page.locator("ul.codes li").count() == 10
    v.page.get_by_role("link", name="Continue to the console").click()
    assert v.page.locator("h1").inner_text() == "Console"
    v.page.locator("nav.account button").click()  # sign out, and in again with the app's next code
    sign_in(v.page, email, secret)
    assert v.page.locator("h1").inner_text() == "Console"

    rid = record_id(node, "casc", kind="function")
    version, before = stored(node, "contact_point", rid)
    v.page.get_by_role("link", name="CASC").click()
    v.page.goto(f"/console/records/contact_point/{rid}/edit")
    screenshot(v.page, "edit", backend)
    v.page.locator("#f-phone").fill("+996 555 010 203")
    v.page.get_by_role("button", name="Save and publish").click()
    assert "Saved and published: version" in v.page.locator(".ok").inner_text()

    # On the API, at the partner tier, and in the change log: signed, the person as the actor.
    token = node.token("directory:read")
    served = requests.get(f"{node.url}/api/v1/contact-points/{rid}", headers={"Authorization": f"Bearer {token}"},
                          timeout=10).json()
    assert served["phone"] == "+996 555 010 203" and served["version"] == version + 1
    with node.ctx.db.read() as session:
        entry = session.scalars(select(models.ChangeLogEntry).where(models.ChangeLogEntry.record_id == rid)
                                .order_by(models.ChangeLogEntry.seq.desc())).first()
    assert entry.actor == email
    claims = envelope.verify(entry.envelope, node.ctx.record_keys.verification_keys())
    assert claims["body"]["phone"] == "+996 555 010 203"
    assert {k: v for k, v in claims["body"].items() if k != "phone"} == {k: v for k, v in before.items()
                                                                         if k != "phone"}

    # A peer pulls the change and verifies it.
    peer = Node("peer", tmp_path / "peer", fresh_database_url(backend, tmp_path))
    try:
        peer.cli("db", "upgrade")
        direct = f"http://127.0.0.1:{node.port}"
        trust.trust_origin(peer.ctx, node.node_id, node.node_id, f"{direct}/.well-known/registry-keys.json")
        peer.add_peer(node, url=direct)
        peer.sync()
        with peer.ctx.db.read() as session:
            copy = session.get(models.ContactPoint, rid)
            assert (copy.version, copy.body["phone"]) == (version + 1, "+996 555 010 203")
    finally:
        peer.ctx.db.dispose()


def test_the_second_of_two_editors_sees_what_the_first_changed_and_overwrites_nothing(visit, node, backend):
    first, second = f"first.{backend}@example.org", f"second.{backend}@example.org"
    secrets_ = make_person(node, first, "editor:casc"), make_person(node, second, "editor:casc")
    rid = record_id(node, "casc", kind="function")
    a, b = visit(node, locale="en-GB"), visit(node, locale="en-GB")
    sign_in(a.page, first, secrets_[0])
    sign_in(b.page, second, secrets_[1])
    a.page.goto(f"/console/records/contact_point/{rid}/edit")
    b.page.goto(f"/console/records/contact_point/{rid}/edit")
    a.page.locator("#f-email").fill("duty-first@example.org")
    a.page.get_by_role("button", name="Save and publish").click()
    version_after_first, _ = stored(node, "contact_point", rid)

    b.page.locator("#f-phone").fill("+996 555 777 888")
    b.page.get_by_role("button", name="Save and publish").click()
    conflict = b.page.locator("section.conflict")
    assert "Someone changed this record while you were editing" in conflict.inner_text()
    assert "duty-first@example.org" in conflict.locator("table.diff").inner_text()
    screenshot(b.page, "conflict", backend)
    assert stored(node, "contact_point", rid)[0] == version_after_first  # nothing written
    # The form now holds the first editor's version with the second editor's change on top; saving applies it.
    assert b.page.locator("#f-phone").input_value() == "+996 555 777 888"
    assert b.page.locator("#f-email").input_value() == "duty-first@example.org"
    b.page.get_by_role("button", name="Save and publish").click()
    version, body = stored(node, "contact_point", rid)
    assert version == version_after_first + 1
    assert (body["phone"], body["email"]) == ("+996 555 777 888", "duty-first@example.org")
    history = b.page.locator("table.history").inner_text()
    assert first in history and second in history


def test_an_editor_of_casc_can_neither_reach_nor_post_to_an_ejn_record(visit, node, backend):
    email = f"casc.only.{backend}@example.org"
    sign_in((v := visit(node, locale="en-GB")).page, email, make_person(node, email, "editor:casc"))
    ejn = record_id(node, "ejn", "authority")
    version, body = stored(node, "authority", ejn)
    answer = v.page.goto(f"/console/records/authority/{ejn}/edit")
    assert answer.status == 403
    assert v.page.goto("/console/networks/ejn/records").status == 403
    # A forged form: a valid CSRF token from one of the editor's own pages, posted to the EJN record.
    v.page.goto("/console/")
    token = v.page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path, form in ((f"/console/records/authority/{ejn}/edit", {"version": str(version), "acronym": "X"}),
                       (f"/console/records/authority/{ejn}/withdraw", {"version": str(version)}),
                       ("/console/networks/ejn/new/contact_point", {"kind": "function"})):
        forged = v.context.request.post(path, form={"csrf_token": token, **form}, max_redirects=0)
        assert forged.status == 403, path
    assert stored(node, "authority", ejn) == (version, body)


def test_a_form_without_its_csrf_token_changes_nothing(visit, node, backend):
    email = f"csrf.{backend}@example.org"
    sign_in((v := visit(node, locale="en-GB")).page, email, make_person(node, email, "editor:casc"))
    rid = record_id(node, "casc", kind="function")
    version, body = stored(node, "contact_point", rid)
    refused = v.context.request.post(f"/console/records/contact_point/{rid}/withdraw", form={"version": str(version)},
                                     max_redirects=0)
    assert refused.status == 400 and "The form has expired" in refused.text()
    assert stored(node, "contact_point", rid) == (version, body)


def test_signing_in_gives_a_new_session_id_and_the_old_one_signs_no_one_in(visit, node, backend):
    email = f"fixation.{backend}@example.org"
    secret = make_person(node, email, "practitioner")
    v = visit(node, locale="en-GB")
    v.page.goto("/console/sign-in")
    planted = {c["name"]: c["value"] for c in v.context.cookies()}["registry_session"]
    sign_in(v.page, email, secret)
    assert v.page.locator("h1").inner_text() == "Console"
    cookie = next(c for c in v.context.cookies() if c["name"] == "registry_session")
    assert cookie["value"] != planted and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    attacker = visit(node, locale="en-GB")
    attacker.context.add_cookies([{"name": "registry_session", "value": planted, "url": node.url}])
    attacker.page.goto("/console/")
    assert "/console/sign-in" in attacker.page.url


def test_five_wrong_codes_throttle_the_account_even_for_the_right_code(visit, node, backend):
    email = f"throttled.{backend}@example.org"
    secret = make_person(node, email, "practitioner")
    v = visit(node, locale="fr-FR")
    sign_in(v.page, email, None)
    for _ in range(5):
        v.page.locator("#code").fill("000000")
        v.page.locator("form.account button[type=submit]").click()
    v.page.locator("#code").fill(next_code(secret))
    with v.page.expect_response(lambda r: r.request.method == "POST") as answer:
        v.page.locator("form.account button[type=submit]").click()
    assert answer.value.status == 429 and answer.value.headers["retry-after"].isdigit()
    assert "Trop de tentatives" in v.page.locator(".problem").inner_text()
    with node.ctx.db.read() as session:
        refusals = session.scalars(select(models.AuditEntry).where(models.AuditEntry.person == email,
                                                                   models.AuditEntry.method == "ACCOUNT")).all()
    assert sum(e.repeated for e in refusals if "wrong second-factor code" in e.route) == 5


def test_a_disabled_account_is_signed_out_at_once(visit, node, backend):
    email = f"disabled.{backend}@example.org"
    sign_in((v := visit(node, locale="en-GB")).page, email, make_person(node, email, "practitioner"))
    assert v.page.locator("h1").inner_text() == "Console"
    node.cli("users", "disable", email)
    v.page.goto("/console/")
    assert "/console/sign-in" in v.page.url
    assert "Your session has ended" in v.page.locator("main").inner_text()
    assert "disabled" in node.cli("users", "list").stdout


def test_a_signed_in_practitioner_sees_contact_persons_an_anonymous_visitor_does_not(visit, node, backend):
    email = f"practitioner.{backend}@example.org"
    lookup = "/lookup?country=KG&crime_type=trafficking_in_persons"
    anonymous = visit(node, locale="en-GB")
    anonymous.page.goto(lookup)
    assert "Head of the International" not in anonymous.page.locator("main").inner_text()
    v = visit(node, locale="en-GB")
    sign_in(v.page, email, make_person(node, email, "practitioner"))
    v.page.goto(lookup)
    names = v.page.locator("article.authority").first.locator(".point").all_inner_texts()
    assert any("Head of the International" in n for n in names)
    with node.ctx.db.read() as session:
        person_names = {r.body["person"]["name"] for r in session.scalars(select(models.ContactPoint))
                        if r.body.get("person") and r.authority_id == "local:kg-gpo"}
    shown = v.page.locator("main").inner_text()
    assert person_names and any(name in shown for name in person_names)
    assert not any(name in anonymous.page.locator("main").inner_text() for name in person_names)


def test_a_passkey_enrolled_with_a_virtual_authenticator_signs_in(visit, node, backend):
    email = f"passkey.{backend}@example.org"
    invited = people.invite(node.ctx, None, email, ["practitioner"])
    v = visit(node, locale="en-GB")
    cdp = v.context.new_cdp_session(v.page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    v.page.goto(invited.link.removeprefix(node.url))
    v.page.locator("#password").fill(PASSWORD)
    v.page.locator("#password_again").fill(PASSWORD)
    v.page.locator("form.account button[type=submit]").click()
    v.page.get_by_role("button", name="Create a passkey").click()
    v.page.wait_for_url(re.compile(r"/console/$"))
    assert people.get_person(node.ctx, email).second_factors == ("passkey",)
    v.page.locator("nav.account button").click()
    v.page.wait_for_url(re.compile("signed_out"))
    sign_in(v.page, email, None)
    v.page.get_by_role("button", name="Use my passkey").click()
    v.page.wait_for_url(re.compile(r"/console/$"))
    assert v.page.locator("h1").inner_text() == "Console"


def test_every_console_page_passes_axe(visit, node, backend):
    rid = record_id(node, "casc", kind="person")
    pages = {"home": "/console/", "records": "/console/networks/casc/records",
             "record": f"/console/records/contact_point/{rid}", "edit": f"/console/records/contact_point/{rid}/edit",
             "new": "/console/networks/casc/new/emergency_note",
             "hand-over": f"/console/records/contact_point/{rid}/hand-over", "people": "/console/people",
             "enrol": "/console/enrol", "clients": "/console/clients", "federation": "/console/federation"}
    for language in ("en-GB", "ru-RU"):
        email = f"axe.{language}.{backend}@example.org"
        invited = people.invite(node.ctx, None, email, ["editor:casc", "admin"])
        v = visit(node, locale=language)
        v.page.goto(invited.link.removeprefix(node.url))
        axe_clean(v.page, f"invitation-{language[:2]}", backend)
        v.page.locator("#password").fill(PASSWORD)
        v.page.locator("#password_again").fill(PASSWORD)
        v.page.locator("form.account button[type=submit]").click()
        secret = v.page.locator("code.secret").inner_text()
        v.page.locator("#code").fill(pyotp.TOTP(secret).now())
        v.page.locator("form.account button[type=submit]").click()
        axe_clean(v.page, f"recovery-codes-{language[:2]}", backend)
        for name, path in pages.items():
            v.page.goto(path)
            axe_clean(v.page, f"{name}-{language[:2]}", backend)
        v.page.locator("nav.account button").click()
        axe_clean(v.page, f"sign-in-{language[:2]}", backend)
        v.page.locator("#email").fill(email)
        v.page.locator("#password").fill(PASSWORD)
        v.page.locator("form.account button[type=submit]").click()
        axe_clean(v.page, f"second-factor-{language[:2]}", backend)


def axe_clean(page, name: str, backend: str) -> None:
    """No serious or critical violation (the demonstration banner's moderate `region` finding is known)."""
    results = Axe().run(page)
    serious = [x["id"] for x in results.response["violations"] if x["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: {serious}"
    screenshot(page, name, backend)
