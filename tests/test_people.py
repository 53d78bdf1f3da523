"""People and the console without a browser: password rules, roles as scopes, invitations (single use, expiry,
mail failures and re-sending over a real SMTP server), second factors, session time-outs, the `registry users`
commands, the hand-over's single transaction, forms built from the schemas, and the console's writes."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import date, timedelta

import pyotp
import pytest
from click.testing import CliRunner
from conftest import fresh_database_url, make_settings
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from registry import create_app, models
from registry.auth import passwords, people, sign_in
from registry.auth.people import AccountProblem
from registry.cli import cli
from registry.context import Context
from registry.db import utcnow
from registry.errors import Conflict, InvalidParameter, InvalidRecord, PreconditionFailed
from registry.permissions import POLICY, Caller, allows, scopes_of
from registry.services import publishing
from registry.services.seed import seed
from registry.web import schema_forms

PASSWORD = "amber lantern under quiet rivers"


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    """A seeded database of its own (these tests write records) and an app on it."""
    tmp_path = tmp_path_factory.mktemp(f"people-{backend}")
    settings = make_settings(fresh_database_url(backend, tmp_path), tmp_path)
    ctx = Context.create(settings)
    seed(ctx)
    app = create_app(settings)
    yield app, app.extensions["registry"]
    ctx.db.dispose()


def make_person(ctx, email: str, *roles: str) -> tuple[int, str]:
    invited = people.invite(ctx, None, email, list(roles))
    person = people.accept_invitation(ctx, invited.link.rsplit("/", 1)[1], PASSWORD)
    secret = pyotp.random_base32()
    people.enrol_totp(ctx, person.id, secret, pyotp.TOTP(secret).now())
    return person.id, secret


def csrf(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def signed_in_client(app, email: str, secret: str):
    client = app.test_client()
    page = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"csrf_token": csrf(page), "email": email, "password": PASSWORD})
    assert answer.status_code == 303 and "second-factor" in answer.location
    page = client.get(answer.location)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    answer = client.post("/console/sign-in/second-factor", data={"csrf_token": csrf(page), "code": code})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


@pytest.mark.parametrize(("password", "problem"), [
    ("short one", "too-short"), ("x" * 257, "too-long"), ("passwordstandard", "common"), ("aaaaaaaaaaaaaaa", "common"),
    ("aigul.bekova2026", "like-email"), (PASSWORD, None), ("Ω-мост-pont-bridge", None)])
def test_password_rules(password, problem):
    assert passwords.password_problem(password, "aigul.bekova@example.org") == problem


def test_passwords_are_hashed_with_argon2id():
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, PASSWORD) and not passwords.verify_password(stored, PASSWORD + "!")
    assert not passwords.verify_password(None, PASSWORD)


@pytest.mark.parametrize("roles", [("practitioner",), ("editor:casc",), ("admin",), ("editor:casc", "editor:ejn"),
                                   ("practitioner", "admin")])
def test_a_person_may_do_exactly_what_a_client_with_the_same_scopes_may(roles):
    scopes = scopes_of(roles)
    person, client = Caller(person="p@example.org", scopes=scopes), Caller(client_id="c", scopes=scopes)
    assert person.tier == client.tier
    for action in POLICY:
        for network in ("casc", "ejn"):
            facts = {"owner_network": network, "network": network}
            assert allows(person, action, **facts) == allows(client, action, **facts), (action, network)
    assert ("publish:casc" in scopes) == ("editor:casc" in roles)
    assert ("directory:restricted" in scopes) == bool({"practitioner", "editor:casc"} & set(roles))


def test_an_invitation_link_works_once(node):
    app, ctx = node
    invited = people.invite(ctx, None, "once@example.org", ["practitioner"])
    client = app.test_client()
    path = invited.link.removeprefix(ctx.settings.public_url)
    page = client.get(path)
    assert page.status_code == 200 and "once@example.org" in page.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": csrf(page), "password": PASSWORD, "password_again": PASSWORD})
    assert answer.status_code == 303 and answer.location.endswith("/console/enrol")
    again = app.test_client().get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    with pytest.raises(AccountProblem) as refused:
        people.accept_invitation(ctx, invited.link.rsplit("/", 1)[1], PASSWORD)
    assert refused.value.reason == "invitation-used"
    # The password alone leads to the enrolment, never to the console.
    assert people.get_person(ctx, "once@example.org").active is False


def test_an_expired_replaced_or_forged_invitation_is_refused(node):
    app, ctx = node
    first = people.invite(ctx, None, "late@example.org", ["practitioner"])
    second = people.invite(ctx, None, "late@example.org", ["practitioner"])
    client = app.test_client()
    assert client.get(first.link.removeprefix(ctx.settings.public_url)).status_code == 410  # replaced
    with ctx.db.write() as session:
        session.execute(update(models.Invitation).where(models.Invitation.id == second.invitation.id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(second.link.removeprefix(ctx.settings.public_url)).status_code == 410
    forged = second.link[:-3] + ("aaa" if not second.link.endswith("aaa") else "bbb")
    assert client.get(forged.removeprefix(ctx.settings.public_url)).status_code == 404
    with ctx.db.read() as session:
        assert session.scalar(select(models.Person).where(models.Person.email == "late@example.org")) is None


def test_unknown_roles_and_existing_accounts_are_refused(node):
    _, ctx = node
    with pytest.raises(InvalidParameter, match="known roles: practitioner, admin, editor:casc"):
        people.invite(ctx, None, "x@example.org", ["editor:nowhere"])
    with pytest.raises(InvalidParameter, match="not an e-mail address"):
        people.invite(ctx, None, "not-an-address", ["practitioner"])
    make_person(ctx, "exists@example.org", "practitioner")
    with pytest.raises(Conflict):
        people.invite(ctx, None, "Exists@Example.org", ["practitioner"])


def test_an_editor_invites_practitioners_for_their_own_network_only(node):
    _, ctx = node
    editor = Caller(person="ed@example.org", scopes=scopes_of(["editor:casc"]))
    invited = people.invite(ctx, editor, "vouched@example.org", ["practitioner"], sponsor_network="casc")
    assert invited.invitation.invited_by == "ed@example.org"
    for roles, network in ((["practitioner"], "ejn"), (["editor:casc"], "casc"), (["admin"], None)):
        with pytest.raises(Exception, match="scope"):
            people.invite(ctx, editor, "nope@example.org", roles, sponsor_network=network)


def test_a_mail_that_cannot_go_out_is_reported_quickly_and_sent_again(node, mail_server, backend):
    _, ctx = node
    email = f"resend.{backend}@example.org"
    from nodes import free_port

    down = Context.create(dataclasses.replace(ctx.settings, smtp_url=f"smtp://127.0.0.1:{free_port()}", smtp_timeout=2))
    started = time.monotonic()
    invited = people.invite(down, None, email, ["practitioner"])
    assert time.monotonic() - started < 5
    assert invited.invitation.mail_status == "failed" and "Connection refused" in invited.invitation.mail_error
    up = Context.create(dataclasses.replace(ctx.settings, smtp_url=mail_server.url))
    assert people.send_invitation(up, invited.invitation.id).mail_status == "sent"
    message = mail_server.wait_for(email)[-1]
    assert message["Subject"] == "Your invitation to the contact-point registry"
    # The link is signed when the mail goes out (a second later, its timestamp differs): it opens the same
    # invitation.
    token = re.search(r"/console/invitation/(\S+)", message.get_payload(decode=True).decode()).group(1)
    assert people.open_invitation(up, token).id == invited.invitation.id


def test_a_totp_code_and_a_recovery_code_are_good_once(node):
    _, ctx = node
    person_id, secret = make_person(ctx, "codes@example.org", "practitioner")
    throttle = sign_in.SignInThrottle("memory://", "100/minute", "100/minute")
    with pytest.raises(AccountProblem):  # the code just used for the enrolment
        sign_in.check_code(ctx, throttle, person_id, pyotp.TOTP(secret).now(), "192.0.2.1")
    code = pyotp.TOTP(secret).at(time.time() + 30)
    assert sign_in.check_code(ctx, throttle, person_id, code, "192.0.2.1").email == "codes@example.org"
    with pytest.raises(AccountProblem):
        sign_in.check_code(ctx, throttle, person_id, code, "192.0.2.1")
    recovery = people.new_recovery_codes(ctx, person_id)
    assert len(set(recovery)) == 10
    sign_in.check_code(ctx, throttle, person_id, recovery[3], "192.0.2.1")
    with pytest.raises(AccountProblem):
        sign_in.check_code(ctx, throttle, person_id, recovery[3], "192.0.2.1")


def test_a_wrong_password_counts_against_the_account_and_the_address(node):
    _, ctx = node
    make_person(ctx, "guarded@example.org", "practitioner")
    throttle = sign_in.SignInThrottle("memory://", "3/minute", "5/minute")
    for _ in range(3):
        with pytest.raises(AccountProblem) as wrong:
            sign_in.check_password(ctx, throttle, "guarded@example.org", "wrong password!", "192.0.2.7")
        assert wrong.value.status == 401
    with pytest.raises(sign_in.Throttled) as throttled:
        sign_in.check_password(ctx, throttle, "guarded@example.org", PASSWORD, "192.0.2.7")
    assert throttled.value.status == 429 and throttled.value.retry_after > 0
    # Unknown accounts count against the address too: guessing across accounts stops as well.
    for n in range(2):
        with pytest.raises(AccountProblem):
            sign_in.check_password(ctx, throttle, f"nobody{n}@example.org", "whatever it is", "192.0.2.7")
    with pytest.raises(sign_in.Throttled):
        sign_in.check_password(ctx, throttle, "someone.else@example.org", "whatever it is", "192.0.2.7")


def test_an_idle_session_ends_and_says_so(node):
    app, ctx = node
    _, secret = make_person(ctx, "idle@example.org", "practitioner")
    client = signed_in_client(app, "idle@example.org", secret)
    assert client.get("/console/").status_code == 200
    with ctx.db.write() as session:
        session.execute(update(models.WebSession).where(models.WebSession.person_id.is_not(None))
                        .values(last_seen_at=utcnow() - timedelta(seconds=ctx.settings.session_idle_timeout + 5)))
    answer = client.get("/console/")
    assert answer.status_code == 303 and "ended=1" in answer.location
    assert "Your session has ended" in client.get(answer.location).get_data(as_text=True)


def test_the_api_takes_no_session_cookie(node):
    app, ctx = node
    _, secret = make_person(ctx, "cookie@example.org", "editor:casc")
    client = signed_in_client(app, "cookie@example.org", secret)
    with ctx.db.read() as session:
        person_point = next(r.id for r in session.scalars(select(models.ContactPoint).where(
            models.ContactPoint.owner_network == "casc")) if r.body.get("kind") == "person")
    for path in (f"/api/v1/contact-points/{person_point}", "/api/v1/lookup?country=KZ"):
        with_cookie, anonymous = client.get(path), app.test_client().get(path)
        assert (with_cookie.status_code, with_cookie.get_json()) == (anonymous.status_code, anonymous.get_json())
    assert client.post("/api/v1/emergency-notes", json={"owner_network": "casc"}).status_code == 401


def test_the_users_commands(node):
    """The commands as an operator runs them (in this process, with the node's settings in the environment)."""
    _, ctx = node
    env = {"REGISTRY_DATABASE_URL": ctx.settings.database_url, "REGISTRY_INSTANCE_PATH": ctx.settings.instance_path,
           "REGISTRY_SMTP_URL": ""}
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(cli, ["users", *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result

    invited = run("invite", "cli.person@example.org", "--role", "editor:casc", "--role", "practitioner")
    assert "not-sent" in invited.stderr and "/console/invitation/" in invited.stdout
    assert "unknown role 'editor:nowhere'" in run("invite", "x@example.org", "--role", "editor:nowhere",
                                                  ok=False).output
    link = invited.stdout.strip().splitlines()[-1]
    person = people.accept_invitation(ctx, link.rsplit("/", 1)[1], PASSWORD)
    assert "cli.person@example.org" in run("list").stdout
    run("roles", "cli.person@example.org", "--role", "practitioner")
    assert people.get_person(ctx, person.id).roles == ("practitioner",)
    run("disable", "cli.person@example.org")
    assert people.get_person(ctx, person.id).disabled
    run("enable", "cli.person@example.org")
    secret = pyotp.random_base32()
    people.enrol_totp(ctx, person.id, secret, pyotp.TOTP(secret).now())
    run("reset-second-factor", "cli.person@example.org")
    assert people.get_person(ctx, person.id).second_factors == ()
    with ctx.db.read() as session:
        logged = [e.route for e in session.scalars(select(models.AuditEntry).where(
            models.AuditEntry.person == "cli.person@example.org").order_by(models.AuditEntry.id))]
    assert logged == ["invited as editor:casc practitioner", "invitation accepted, password set",
                      "roles editor:casc practitioner -> practitioner", "disabled", "enabled",
                      "second factor enrolled: authenticator app", "second factor reset"]


def test_a_hand_over_writes_both_records_or_neither(node):
    _, ctx = node
    editor = Caller(person="handover@example.org", scopes=scopes_of(["editor:casc"]))
    with ctx.db.read() as session:
        row = next(r for r in session.scalars(select(models.ContactPoint).where(
            models.ContactPoint.owner_network == "casc", models.ContactPoint.deleted.is_(False)))
            if r.body.get("kind") == "person")
        version, body = row.version, row.body

    def log_size():
        with ctx.db.read() as session:
            return session.scalar(select(func.count()).select_from(models.ChangeLogEntry))

    before = log_size()
    too_early = date.fromisoformat(body["valid_from"]) - timedelta(days=1)
    with pytest.raises(InvalidRecord):
        publishing.hand_over(ctx, editor, row.id, too_early, {"name": "Nurlan Asanov"}, version)
    with pytest.raises(InvalidRecord):
        publishing.hand_over(ctx, editor, row.id, date(2030, 1, 31), {"name": "  "}, version)
    with pytest.raises(PreconditionFailed):
        publishing.hand_over(ctx, editor, row.id, date(2030, 1, 31), {"name": "Nurlan Asanov"}, version - 1)
    assert log_size() == before
    outgoing, incoming = publishing.hand_over(ctx, editor, row.id, date(2030, 1, 31),
                                              {"name": "Nurlan Asanov", "email": "n.asanov@example.org"}, version)
    assert outgoing["valid_until"] == "2030-01-31" and incoming["valid_from"] == "2030-02-01"
    assert incoming["person"] == {"name": "Nurlan Asanov", "email": "n.asanov@example.org"}
    assert {k: v for k, v in incoming.items() if k in ("position", "roles", "hours", "authority_id")} == \
        {k: v for k, v in body.items() if k in ("position", "roles", "hours", "authority_id")}
    with ctx.db.read() as session:
        entries = session.scalars(select(models.ChangeLogEntry).order_by(models.ChangeLogEntry.seq.desc()).limit(2))
        assert {(e.record_id, e.actor) for e in entries} == {(row.id, "handover@example.org"),
                                                             (incoming["id"], "handover@example.org")}
    assert log_size() == before + 2


def form_data(field: schema_forms.Field) -> MultiDict:
    """What a browser submits for a filled form, input by input."""
    data = MultiDict()

    def walk(f):
        if f.kind == "object":
            for child in f.children:
                walk(child)
        elif f.kind == "objects":
            for item in f.items:
                walk(item)
        elif f.kind == "localized":
            for i, (lang, text) in enumerate([*(f.value or []), ("", "")]):
                data.add(f"{f.name}.{i}.lang", lang)
                data.add(f"{f.name}.{i}.text", text)
        elif f.kind == "codes":
            for value in (f.value or []) if f.choices else [", ".join(f.value or [])]:
                data.add(f.name, value)
        elif f.kind == "checkbox":
            if f.value:
                data.add(f.name, "1")
        else:
            data.add(f.name, "" if f.value is None else str(f.value))

    walk(field)
    return data


def test_every_seeded_record_survives_its_form_unchanged(node):
    """Filling a record's form and reading it back gives the same body: an editor who changes one field
    changes only that field."""
    _, ctx = node
    checked = 0
    for record_type in schema_forms.record_types():
        from registry.record_types import RECORD_TYPES

        model = RECORD_TYPES[record_type].model
        with ctx.db.read() as session:
            bodies = [r.body for r in session.scalars(select(model).where(model.deleted.is_(False)))]
        for body in bodies:
            form = schema_forms.fill(schema_forms.build(record_type), body)
            read = schema_forms.read(schema_forms.build(record_type), form_data(form))
            expected = {k: v for k, v in body.items() if k not in schema_forms.NOT_EDITED}
            assert read == expected, (record_type, body.get("names") or body.get("position"))
            checked += 1
    assert checked > 400


def test_write_path_errors_are_put_next_to_their_fields():
    form = schema_forms.fill(schema_forms.build("contact_point"), {"kind": "person"}, [
        {"path": "$", "message": "'hours' is a required property"},
        {"path": "$.roles[0].role", "message": "'boss' is not one of [...]"},
        {"path": "$.person", "message": "'name' is a required property"}])
    fields = {f.name: f for f in form.children}
    assert fields["hours"].error == "'hours' is a required property"
    assert fields["roles"].items[0].children[1].error == "'boss' is not one of [...]"
    assert fields["person"].children[0].error == "'name' is a required property"


def test_withdraw_restore_history_and_what_each_tier_sees_in_the_console(node):
    app, ctx = node
    _, secret = make_person(ctx, "console.editor@example.org", "editor:casc")
    client = signed_in_client(app, "console.editor@example.org", secret)
    with ctx.db.read() as session:
        row = next(r for r in session.scalars(select(models.ContactPoint).where(
            models.ContactPoint.owner_network == "casc", models.ContactPoint.deleted.is_(False)))
            if r.body.get("kind") == "person" and r.version == 1)
    path = f"/console/records/contact_point/{row.id}"
    page = client.get(path)
    html = page.get_data(as_text=True)
    public, partner, restricted = re.findall(r"<details class=\"tier\">(.*?)</details>", html, re.S)
    assert "This tier does not see the record" in public
    assert row.body["person"]["name"] not in partner, partner
    assert row.body["person"]["name"] in restricted
    assert client.post(f"{path}/withdraw", data={"csrf_token": csrf(page), "version": "1"}).status_code == 303
    page = client.get(path)
    assert "withdrawn" in page.get_data(as_text=True)
    assert client.post(f"{path}/restore", data={"csrf_token": csrf(page), "version": "2"}).status_code == 303
    with ctx.db.read() as session:
        restored = session.get(models.ContactPoint, row.id)
        assert (restored.version, restored.deleted, restored.body) == (3, False, row.body)
    history = client.get(f"{path}?from=1&to=2").get_data(as_text=True)
    assert history.count("console.editor@example.org") >= 2
    assert "Differences between version 1 and version 2" in history
    # An invalid edit shows the write path's message next to the field and writes nothing.
    page = client.get(f"{path}/edit")
    data = form_data(schema_forms.fill(schema_forms.build("contact_point"), row.body))
    data.setlist("phone", ["not a phone"])
    data.add("csrf_token", csrf(page))
    data.add("version", "3")
    refused = client.post(f"{path}/edit", data=data)
    assert refused.status_code == 422
    assert re.search(r'id="f-phone-error">[^<]*does not match', refused.get_data(as_text=True))
    with ctx.db.read() as session:
        assert session.get(models.ContactPoint, row.id).version == 3


def test_an_editors_changes_go_on_top_of_what_someone_saved_meanwhile():
    from registry.services.editing import merge

    base = {"email": "a@example.org", "phone": "+996 555 000 001", "languages": ["ru"], "valid_until": "2030-01-01"}
    theirs = base | {"email": "b@example.org", "languages": ["ru", "ky"]}
    mine = {k: v for k, v in base.items() if k != "valid_until"} | {"phone": "+996 555 000 002",
                                                                      "languages": ["ru", "en"]}
    merged, clashes = merge(base, theirs, mine)
    assert merged == {"email": "b@example.org", "phone": "+996 555 000 002", "languages": ["ru", "en"]}
    assert clashes == ["languages"]


def test_a_record_page_shows_only_what_the_persons_tier_allows(node):
    """An admin holds no reading tier: an authority's page in the console shows its public channels only (not
    those for partners), and no tier preview (which is for the network's publishers)."""
    app, ctx = node
    _, secret = make_person(ctx, "only.admin@example.org", "admin")
    client = signed_in_client(app, "only.admin@example.org", secret)
    with ctx.db.read() as session:
        authority = next(r for r in session.scalars(select(models.Authority).where(models.Authority.deleted.is_(False)))
                         if any(c["visibility"] == "partner" for c in r.body.get("channels", [])))
    html = client.get(f"/console/records/authority/{authority.id}").get_data(as_text=True)
    assert 'class="tier"' not in html
    hidden = [c["value"] for c in authority.body["channels"] if c["visibility"] == "partner"]
    assert not any(value in html for value in hidden)
    assert client.get(f"/console/records/authority/{authority.id}/edit").status_code == 403


def test_an_admin_changes_roles_in_the_console_and_the_change_applies_at_once(node):
    app, ctx = node
    _, admin_secret = make_person(ctx, "roles.admin@example.org", "admin")
    editor_id, editor_secret = make_person(ctx, "roles.editor@example.org", "editor:casc")
    editor = signed_in_client(app, "roles.editor@example.org", editor_secret)
    assert editor.get("/console/networks/casc/records").status_code == 200
    admin = signed_in_client(app, "roles.admin@example.org", admin_secret)
    page = admin.get("/console/people")
    answer = admin.post(f"/console/people/{editor_id}/roles", data={"csrf_token": csrf(page), "roles": "practitioner"})
    assert answer.status_code == 303
    assert people.get_person(ctx, editor_id).roles == ("practitioner",)
    assert "/console/sign-in" in editor.get("/console/networks/casc/records").location  # signed out at once
    refused = admin.post(f"/console/people/{editor_id}/roles", data={"csrf_token": csrf(page), "roles": "boss"})
    assert refused.status_code == 422 and people.get_person(ctx, editor_id).roles == ("practitioner",)


def test_bad_input_to_the_console_is_a_page_in_the_readers_language(node):
    app, ctx = node
    _, secret = make_person(ctx, "bad.input@example.org", "editor:casc")
    client = signed_in_client(app, "bad.input@example.org", secret)
    answer = client.get("/console/networks/casc/records?type=bogus", headers={"Accept-Language": "fr"})
    assert answer.status_code == 422 and "<html lang=\"fr\">" in answer.get_data(as_text=True)
    assert client.get("/console/records/bogus/local:x").status_code == 404
    assert client.get("/console/records/authority/not-an-id").status_code == 404
