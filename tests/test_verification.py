"""Verification rounds over a real SMTP server process: one message per due contact point and none the second
time, the link's page (confirm through the signed write path, propose a change that publishes nothing, used and
expired links refused in the reader's language), reminders and silence with an injected clock, bounces at
sending and from delivery-status notifications, the freshness figures (console, API, CLI) and the rate."""

from __future__ import annotations

import dataclasses
import json
import mailbox
import re
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from click.testing import CliRunner
from conftest import MailServer, bearer, fresh_database_url, issue_token, make_settings
from sqlalchemy import select, update

from registry import create_app, models
from registry.cli import cli
from registry.context import Context
from registry.crypto import envelope
from registry.db import utcnow
from registry.permissions import Caller
from registry.services import verification
from registry.services.records import write_record
from registry.services.seed import seed

EDITOR = Caller(person="editor@example.org", scopes=frozenset({"publish:casc", "publish:wacap",
                                                                "publish:seajust", "publish:ejn", "publish:globe"}))


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    """A seeded database and an app mailing through a real SMTP server (which refuses `refused...` recipients),
    with a bounce Maildir. Each test works on a network of its own."""
    tmp_path = tmp_path_factory.mktemp(f"verify-{backend}")
    server = MailServer(tmp_path / "sent", handler="mail_handlers.RefusingMailbox")
    bounces = tmp_path / "bounces"
    mailbox.Maildir(str(bounces), create=True)
    settings = make_settings(fresh_database_url(backend, tmp_path), tmp_path, smtp_url=server.url,
                             mail_from="registry@example.org", bounce_maildir=str(bounces), verify_rate=10_000)
    ctx = Context.create(settings)
    seed(ctx)
    app = create_app(settings)
    yield app, app.extensions["registry"], server
    ctx.db.dispose()
    server.stop()


def delivered(server: MailServer, ctx, network: str) -> list:
    """The verification messages the SMTP server delivered for `network`'s requests."""
    with ctx.db.read() as session:
        references = set(session.scalars(select(models.VerificationRequest.reference)
                                         .where(models.VerificationRequest.network == network)))
    box = mailbox.Maildir(str(server.folder), create=False)
    return [m for m in box if m[verification.HEADER] in references]


def link_path(message) -> str:
    text = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
    return re.search(r"http://[^/\s]+(/verify/\S+)", text).group(1)


def subject(message) -> str:
    return " ".join(str(make_header(decode_header(message["Subject"]))).split())  # unfolded


def csrf(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def row_of(ctx, record_id):
    with ctx.db.read() as session:
        row = session.get(models.ContactPoint, record_id)
        return row.version, dict(row.body)


def test_a_round_asks_each_due_contact_point_once_and_a_confirmation_is_a_signed_version(node):
    app, ctx, server = node
    due = {s.record_id: s for s in verification.states(ctx, "casc") if s.status == "due"}
    assert due  # the demonstration directory has contact points never or long ago verified

    result = verification.run(ctx, "casc")
    assert sorted(result.asked) == sorted(due) and not result.failed
    messages = delivered(server, ctx, "casc")
    assert len(messages) == len(due)
    by_record = {}
    with ctx.db.read() as session:
        for request in session.scalars(select(models.VerificationRequest)
                                       .where(models.VerificationRequest.network == "casc")):
            by_record[request.record_id] = request
    assert sorted(m["To"] for m in messages) == sorted(due[r].email for r in due)
    assert all(by_record[r].sent_at is not None for r in due)

    again = verification.run(ctx, "casc")
    assert again.asked == [] and again.reminded == [] and len(delivered(server, ctx, "casc")) == len(due)

    # The message is in the contact point's first language among the interface's: Russian for CASC's desks.
    record_id = next(r for r in due if "ru" in row_of(ctx, r)[1]["languages"] and "en" not in
                     row_of(ctx, r)[1]["languages"][:1])
    message = next(m for m in messages if m[verification.HEADER] == by_record[record_id].reference)
    assert subject(message) == verification.MAIL["ru"]["subject"]
    path = link_path(message)
    version, body = row_of(ctx, record_id)

    client = app.test_client()
    page = client.get(path, headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "All correct" in text and "Something changed" in text
    # A page opened before the record changed confirms nothing: it shows the record as it stands now.
    stale = client.post(f"{path}/confirm", data={"csrf_token": csrf(page), "version": str(version - 1)})
    assert stale.status_code == 409 and "changed while this page was open" in stale.get_data(as_text=True)
    assert row_of(ctx, record_id) == (version, body)
    answer = client.post(f"{path}/confirm", data={"csrf_token": csrf(page), "version": str(version)})
    assert answer.status_code == 200 and "marked as verified today" in answer.get_data(as_text=True)

    new_version, new_body = row_of(ctx, record_id)
    today = utcnow().date().isoformat()
    assert new_version == version + 1 and new_body == body | {"verified_at": today}
    with ctx.db.read() as session:
        entry = session.scalars(select(models.ChangeLogEntry).where(models.ChangeLogEntry.record_id == record_id)
                                .order_by(models.ChangeLogEntry.seq.desc())).first()
    assert entry.actor == f"verification:{by_record[record_id].email}" and entry.version == new_version
    claims = envelope.verify(entry.envelope, ctx.record_keys.verification_keys())
    assert claims["body"]["verified_at"] == today and claims["origin"] == ctx.settings.node_id
    with ctx.db.read() as session:
        logged = session.scalars(select(models.AuditEntry).where(models.AuditEntry.record_id == record_id,
                                                                 models.AuditEntry.method == "VERIFY")).all()
    assert {e.route for e in logged} >= {"verification request sent", "verification confirmed"}

    # Used up: the page and a second confirmation are refused, in the reader's language.
    reused = app.test_client().get(path, headers={"Accept-Language": "fr"})
    assert reused.status_code == 410 and "déjà" in reused.get_data(as_text=True)
    refused = client.post(f"{path}/confirm", data={"csrf_token": csrf(page), "version": str(new_version)})
    assert refused.status_code == 410 and row_of(ctx, record_id)[0] == new_version
    state = {s.record_id: s for s in verification.states(ctx, "casc")}[record_id]
    assert (state.status, state.channel) == ("confirmed", by_record[record_id].email)

    # A form posted without its CSRF token changes nothing.
    other = next(r for r in due if r != record_id)
    other_path = link_path(next(m for m in messages if m[verification.HEADER] == by_record[other].reference))
    forged = app.test_client().post(f"{other_path}/confirm", data={"version": str(row_of(ctx, other)[0])})
    assert forged.status_code == 400 and row_of(ctx, other)[1].get("verified_at") == due[other].verified_at


def test_something_changed_files_a_proposal_that_publishes_nothing_until_an_editor_reviews_it(node):
    app, ctx, server = node
    verification.run(ctx, "ejn")
    message = delivered(server, ctx, "ejn")[0]
    with ctx.db.read() as session:
        request = session.scalar(select(models.VerificationRequest).where(
            models.VerificationRequest.reference == message[verification.HEADER]))
    version, body = row_of(ctx, request.record_id)
    path = link_path(message)
    client = app.test_client()
    page = client.get(path)
    empty = client.post(f"{path}/change", data={"csrf_token": csrf(page), "text": "  "})
    assert empty.status_code == 422
    answer = client.post(f"{path}/change", data={"csrf_token": csrf(page), "text": "New duty number since May.",
                                                 "phone": "+32 555 0100", "email": ""})
    assert answer.status_code == 200 and "secretariat" in answer.get_data(as_text=True)
    assert row_of(ctx, request.record_id) == (version, body)  # nothing published
    assert client.get(path).status_code == 410

    found = verification.proposals(ctx, EDITOR, "ejn")
    assert [(p["record_id"], p["text"], p["fields"]) for p in found] == [
        (request.record_id, "New duty number since May.", {"phone": "+32 555 0100"})]
    with pytest.raises(Exception) as refused:
        verification.proposals(ctx, Caller(person="x@example.org", scopes=frozenset({"publish:casc"})), "ejn")
    assert refused.value.status == 403
    verification.review(ctx, EDITOR, found[0]["id"], accept=False)
    assert verification.proposals(ctx, EDITOR, "ejn") == [] and row_of(ctx, request.record_id) == (version, body)

    # Asked again from the console (one click), the holder proposes a change; the editor takes it into account:
    # only then is the record marked verified, by the editor, through the write path.
    assert verification.ask(ctx, EDITOR, request.record_id) == "sent"
    again = [m for m in delivered(server, ctx, "ejn") if m["To"] == request.email]
    token = link_path(sorted(again, key=lambda m: m.get_date())[-1]).rsplit("/", 1)[1]
    proposal = verification.propose_change(ctx, token, "The desk moved to the second floor.", {})
    assert row_of(ctx, request.record_id) == (version, body)
    with pytest.raises(verification.LinkProblem):
        verification.confirm(ctx, token, version)
    reviewed = verification.review(ctx, EDITOR, proposal, accept=True)
    assert reviewed["status"] == "accepted" and reviewed["reviewed_by"] == EDITOR.person
    new_version, new_body = row_of(ctx, request.record_id)
    assert new_version == version + 1 and new_body == body | {"verified_at": utcnow().date().isoformat()}
    with ctx.db.read() as session:
        entry = session.scalars(select(models.ChangeLogEntry).where(
            models.ChangeLogEntry.record_id == request.record_id).order_by(models.ChangeLogEntry.seq.desc())).first()
    assert entry.actor == EDITOR.person


def test_an_expired_link_is_refused_and_reminders_come_at_14_and_28_days_then_silence(node):
    app, ctx, server = node
    start = utcnow()
    first = verification.run(ctx, "wacap", now=start)
    asked = set(first.asked)
    assert asked
    assert verification.remind(ctx, "wacap", now=start + timedelta(days=13)).reminded == []
    assert set(verification.remind(ctx, "wacap", now=start + timedelta(days=14)).reminded) == asked
    assert verification.remind(ctx, "wacap", now=start + timedelta(days=20)).reminded == []
    # The round sends the reminders too (and asks those that fell due meanwhile).
    assert set(verification.run(ctx, "wacap", now=start + timedelta(days=28)).reminded) == asked
    assert verification.remind(ctx, "wacap", now=start + timedelta(days=41)).unanswered == []
    late = verification.remind(ctx, "wacap", now=start + timedelta(days=42))
    assert set(late.unanswered) == asked and not set(late.reminded) & asked
    states = {s.record_id: s.status for s in verification.states(ctx, "wacap", now=start + timedelta(days=42))}
    assert {states[r] for r in asked} == {"unanswered"}
    # 3 messages to each: the question and two reminders, each with the same link.
    with ctx.db.read() as session:
        references = {r.reference for r in session.scalars(select(models.VerificationRequest).where(
            models.VerificationRequest.record_id.in_(asked)))}
    messages = [m for m in delivered(server, ctx, "wacap") if m[verification.HEADER] in references]
    assert len(references) == len(asked) and len(messages) == 3 * len(asked)
    one = [m for m in messages if m[verification.HEADER] == messages[0][verification.HEADER]]
    reminder_words = {words["reminder"] for words in verification.MAIL.values()}
    assert len({link_path(m) for m in one}) == 1
    assert sum(any(subject(m).startswith(w) for w in reminder_words) for m in one) == 2, [subject(m) for m in one]
    # Expired: each reminder gave the link REGISTRY_VERIFY_LINK_TTL again, from the second reminder on.
    path = link_path(one[0])
    token = path.rsplit("/", 1)[1]
    with pytest.raises(verification.LinkProblem) as expired:
        verification.open_link(ctx, token, now=start + timedelta(days=28 + 31))
    assert (expired.value.reason, expired.value.status) == ("expired", 410)
    with ctx.db.write() as session:
        session.execute(update(models.VerificationRequest).where(models.VerificationRequest.network == "wacap")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    page = app.test_client().get(path, headers={"Accept-Language": "es"})
    assert page.status_code == 410 and "caducado" in page.get_data(as_text=True)
    assert app.test_client().get("/verify/not-a-link").status_code == 404


def test_a_refused_recipient_and_a_delivery_status_notification_mark_the_channel_bounced(node):
    app, ctx, server = node
    rows = [s.record_id for s in verification.states(ctx, "seajust")]
    refused_id, returned_id = rows[0], rows[1]
    with ctx.db.write() as session:
        for record_id, address in ((refused_id, "refused.desk@example.org"), (returned_id, "gone@example.org")):
            row = session.get(models.ContactPoint, record_id)
            write_record(session, ctx.taxonomy, origin=ctx.settings.node_id, record_type="contact_point",
                         record_id=record_id, owner_network="seajust",
                         body={k: v for k, v in row.body.items() if k != "verified_at"} | {"email": address},
                         actor="test", signing_keys=ctx.record_keys.signing_keys())
    result = verification.run(ctx, "seajust")
    assert refused_id in result.bounced and returned_id in result.asked
    sent = next(m for m in delivered(server, ctx, "seajust") if m["To"] == "gone@example.org")

    # The relay later returns it: a multipart/report with the original message's headers.
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"], report["To"] = "MAILER-DAEMON@example.org", "registry@example.org"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("Your message could not be delivered.\n"))
    status = EmailMessage()
    status.set_payload("")
    dsn = MIMEMessage(status, "delivery-status")
    dsn.set_payload([_block({"Reporting-MTA": "dns; mx.example.org"}),
                     _block({"Final-Recipient": "rfc822; gone@example.org", "Action": "failed",
                             "Status": "5.1.1", "Diagnostic-Code": "smtp; 550 5.1.1 user unknown"})])
    report.attach(dsn)
    original = EmailMessage()
    for name in ("From", "To", "Subject", "Message-ID", verification.HEADER):
        original[name] = sent[name]
    report.attach(MIMEMessage(original))
    box = mailbox.Maildir(ctx.settings.bounce_maildir, create=False)
    box.add(report.as_bytes())
    box.add(b"From: someone@example.org\nSubject: hello\n\nnot a bounce\n")

    runner = CliRunner()
    answer = runner.invoke(cli, ["verify", "bounces"], obj=_script_info(app))
    assert answer.exit_code == 0, answer.output
    assert f"bounced: {returned_id} gone@example.org" in answer.output and "1 bounced" in answer.output
    assert "0 bounced" in runner.invoke(cli, ["verify", "bounces"], obj=_script_info(app)).output  # read once
    states = {s.record_id: s for s in verification.states(ctx, "seajust")}
    assert states[refused_id].status == "bounced" and "550" in states[refused_id].failure
    assert states[returned_id].status == "bounced" and "user unknown" in states[returned_id].failure
    assert verification.run(ctx, "seajust").asked == []  # a bounced address is not asked again


def _block(headers: dict):
    block = EmailMessage()
    for name, value in headers.items():
        block[name] = value
    return block


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_the_freshness_figures_add_up_in_the_api_the_console_and_the_cli(node):
    app, ctx, server = node
    report = verification.freshness(ctx, EDITOR, "casc")
    assert sum(report["counts"].values()) == report["total"] == len(report["contact_points"])
    never = [s for s in report["contact_points"] if s["verified_at"] is None]
    dated = [s["verified_at"] for s in report["contact_points"] if s["verified_at"]]
    assert report["contact_points"][:len(never)] == never and dated == sorted(dated)  # oldest first

    editor, other, admin = (issue_token(app, scope) for scope in ("publish:casc", "publish:ejn", "admin"))
    client = app.test_client()
    answer = client.get("/api/v1/networks/casc/freshness", headers=bearer(editor))
    assert answer.status_code == 200 and answer.get_json()["counts"] == report["counts"]
    assert client.get("/api/v1/networks/casc/freshness", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/networks/casc/freshness", headers=bearer(other)).status_code == 403
    assert client.get("/api/v1/networks/casc/freshness").status_code == 401
    assert client.get("/api/v1/networks/nowhere/freshness", headers=bearer(admin)).status_code == 404
    assert client.get("/api/v1/networks/casc/freshness?x=1", headers=bearer(admin)).status_code == 400

    shown = CliRunner().invoke(cli, ["verify", "status", "--network", "casc", "--json"], obj=_script_info(app))
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["counts"] == report["counts"]
    table = CliRunner().invoke(cli, ["verify", "status", "--network", "casc"], obj=_script_info(app)).output
    assert f"{report['total']} contact points" in table


def test_the_rate_holds_messages_back_for_the_next_minute(node):
    app, ctx, server = node
    slow = Context.create(dataclasses.replace(ctx.settings, verify_rate=2))
    try:
        now = utcnow()
        first = verification.run(slow, "globe", now=now, due_only=True)
        assert len(first.asked) == 2 and first.deferred > 0
        assert verification.run(slow, "globe", now=now + timedelta(seconds=10), due_only=True).asked == []
        later = verification.run(slow, "globe", now=now + timedelta(minutes=1, seconds=1), due_only=True)
        assert len(later.asked) == 2 and not set(later.asked) & set(first.asked)
    finally:
        slow.db.dispose()


def test_without_mail_a_round_is_refused_and_settings_are_checked(fresh_ctx, tmp_path, backend):
    with pytest.raises(verification.MailNotConfigured):
        verification.run(fresh_ctx, "casc")
    from registry.config import ConfigError

    for bad in ({"verify_period_days": 0}, {"verify_link_ttl": 10}, {"verify_rate": 0}):
        with pytest.raises(ConfigError):
            make_settings(fresh_database_url(backend, tmp_path), tmp_path, **bad)
