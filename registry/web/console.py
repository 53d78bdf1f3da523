"""The console under /console/: a network's editors keep its records true, admins look after people.

Views are thin: they read the form (registry.web.schema_forms turns the record type's JSON Schema into
fields and back), call the services the API calls (publishing, editing, people), and render. A refused
write is shown on the form it came from: the write path's field errors next to their fields, and when
someone changed the record since the form was opened, what they changed, with the editor's own values
kept in the form to send again on top of the new version.
"""

from __future__ import annotations

import functools
from datetime import date

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from registry.api import context
from registry.auth import clients, people
from registry.auth.clients import known_networks
from registry.errors import (
    Conflict,
    Forbidden,
    InvalidParameter,
    InvalidRecord,
    NotFound,
    PreconditionFailed,
    RegistryError,
)
from registry.federation import peers
from registry.federation.status import sync_status
from registry.permissions import EDITOR_ROLE, SCOPES, allows, require
from registry.services import Page, editing, publishing, verification
from registry.services.history import record_history
from registry.web import schema_forms

bp = Blueprint("console", __name__, url_prefix="/console")
PAGE_SIZE = 25

TYPE_NAMES = {"authority": _l("Authorities"), "contact_point": _l("Contact points"),
              "emergency_note": _l("Emergency notes"), "procedure": _l("Procedures"), "network": _l("Network")}
TYPE_NAME = {"authority": _l("authority"), "contact_point": _l("contact point"),
             "emergency_note": _l("emergency note"), "procedure": _l("procedure"), "network": _l("network")}


def signed_in(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if g.get("person") is None:
            ended = {"ended": 1} if g.get("session_ended") else {}
            return redirect(url_for("accounts.sign_in_page", next=request.full_path.rstrip("?"), **ended), 303)
        return view(*args, **kwargs)

    return checked


def edited_networks() -> list[str]:
    return sorted(m.group(1) for r in g.person.roles if (m := EDITOR_ROLE.fullmatch(r)))


@bp.errorhandler(Forbidden)
def forbidden(error: Forbidden):
    return render_template("error.html", status=403), 403


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    return render_template("error.html", status=404), 404


@bp.errorhandler(RegistryError)
def bad_input(error: RegistryError):
    problems = error.extensions.get("errors") or [{"message": error.detail}]
    return render_template("bad_input.html", status=error.status, problems=problems, form=None), error.status


@bp.get("/")
@signed_in
def home():
    return render_template("console_home.html", networks=edited_networks(),
                           can_manage_people=allows(g.caller, "people:manage"))


@bp.get("/networks/<network>/records")
@signed_in
def records(network: str):
    record_type = request.args.get("type") or None
    if record_type not in (None, *editing.EDITED_TYPES):
        raise InvalidParameter("type", "one of " + ", ".join(editing.EDITED_TYPES))
    q = request.args.get("q", "").strip() or None
    number = request.args.get("page", "1")
    page = Page(int(number) if number.isdigit() and 0 < int(number) < 10_000 else 1, PAGE_SIZE)
    found = editing.owned_records(context(), g.caller, network, record_type, q, page)
    more = url_for("console.records", network=network, **(request.args.to_dict() | {"page": page.number + 1})) \
        if found.total > page.offset + len(found.items) else None
    return render_template("console_records.html", network=network, found=found, record_type=record_type, q=q or "",
                           types=TYPE_NAMES, more=more, node_id=context().settings.node_id)


@bp.get("/records/<record_type>/<path:record_id>")
@signed_in
def record(record_type: str, record_id: str):
    _known_type(record_type)
    current = editing.editable_record(context(), g.caller, record_type, record_id)
    bodies = editing.version_bodies(context(), g.caller, record_type, record_id)
    versions = sorted(bodies)
    newest = versions[-1]
    older = _version_arg("from", versions, versions[-2] if len(versions) > 1 else newest)
    newer = _version_arg("to", versions, newest)
    history = publishing_history(record_type, record_id)
    return render_template("console_record.html", record=current, history=history, versions=versions,
                           compare=(older, newer), diff=editing.differences(bodies[older], bodies[newer]),
                           # What each tier sees is for those who see it all: the network's publishers.
                           preview=editing.preview(record_type, current["body"])
                           if current["body"] and current["publisher"] else None,
                           type_name=TYPE_NAME[record_type])


def publishing_history(record_type: str, record_id: str) -> list[dict]:
    return record_history(context(), record_type, record_id, g.caller, Page(1, 200)).items


def _version_arg(name: str, versions: list[int], default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) in versions else default


def _known_type(record_type: str) -> None:
    if record_type not in editing.EDITED_TYPES:
        raise NotFound(f"no record type {record_type!r}")


def _form_page(record: dict | None, record_type: str, network: str, body: dict | None, *, errors=None,
               status: int = 200, conflict=None, version: int | None = None):
    form = schema_forms.fill(schema_forms.build(record_type), body, errors)
    return render_template("console_edit.html", record=record, record_type=record_type, network=network, form=form,
                           type_name=TYPE_NAME[record_type], conflict=conflict, version=version,
                           has_errors=bool(errors)), status


def _submitted(record_type: str, kept: dict | None) -> dict:
    """The body the form describes, with the fields editors do not edit kept from the stored record."""
    body = schema_forms.read(schema_forms.build(record_type), request.form)
    for name in schema_forms.NOT_EDITED:
        if kept and name in kept:
            body[name] = kept[name]
    return body


@bp.route("/records/<record_type>/<path:record_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(record_type: str, record_id: str):
    _known_type(record_type)
    current = editing.editable_record(context(), g.caller, record_type, record_id)
    if not current["editable"]:
        raise Forbidden("not editable here", scope=f"publish:{current['owner_network']}")
    if request.method == "GET":
        return _form_page(current, record_type, current["owner_network"], current["body"] or current["last_live_body"],
                          version=current["version"])
    body = _submitted(record_type, current["body"] or current["last_live_body"])
    based_on = form_version()
    payload = body | {"owner_network": current["owner_network"]}
    try:
        publishing.replace(context(), g.caller, record_type, record_id, payload, based_on)
    except PreconditionFailed:
        # Someone saved meanwhile: show what they changed, and the form with the editor's changes on top of
        # their version, to check and save again.
        current = editing.editable_record(context(), g.caller, record_type, record_id)
        bodies = editing.version_bodies(context(), g.caller, record_type, record_id)
        merged, clashes = editing.merge(bodies.get(based_on), bodies[current["version"]], body)
        return _form_page(current, record_type, current["owner_network"], merged, status=409,
                          conflict={"based_on": based_on, "current": current["version"], "clashes": clashes,
                                    "changes": editing.differences(bodies.get(based_on), bodies[current["version"]])},
                          version=current["version"])
    except InvalidRecord as problem:
        return _form_page(current, record_type, current["owner_network"], body, errors=problem.extensions["errors"],
                          status=422, version=based_on)
    return redirect(url_for("console.record", record_type=record_type, record_id=record_id, saved=1), 303)


@bp.route("/networks/<network>/new/<record_type>", methods=["GET", "POST"])
@signed_in
def create(network: str, record_type: str):
    _known_type(record_type)
    if not allows(g.caller, "record:write", owner_network=network):
        raise Forbidden("not an editor of this network", scope=f"publish:{network}")
    if request.method == "GET":
        return _form_page(None, record_type, network, None)
    body = _submitted(record_type, None)
    try:
        created = publishing.create(context(), g.caller, record_type, body | {"owner_network": network})
    except InvalidRecord as problem:
        return _form_page(None, record_type, network, body, errors=problem.extensions["errors"], status=422)
    return redirect(url_for("console.record", record_type=record_type, record_id=created["id"], saved=1), 303)


# A withdrawal is a tombstone peers receive; a restore brings the last live version back as a new one.
LIFECYCLE = {"withdraw": (publishing.delete, "withdrawn"), "restore": (publishing.restore, "restored")}


@bp.post("/records/<record_type>/<path:record_id>/<any(withdraw, restore):action>")
@signed_in
def lifecycle(record_type: str, record_id: str, action: str):
    _known_type(record_type)
    change, done = LIFECYCLE[action]
    try:
        change(context(), g.caller, record_type, record_id, form_version())
    except PreconditionFailed:
        done = "stale"
    return redirect(url_for("console.record", record_type=record_type, record_id=record_id, **{done: 1}), 303)


def form_version() -> int:
    """The version the form was opened at (a form without one matches no version, so it cannot overwrite)."""
    version = request.form.get("version", "")
    return int(version) if version.isdigit() else -1


@bp.route("/records/contact_point/<path:record_id>/hand-over", methods=["GET", "POST"])
@signed_in
def hand_over(record_id: str):
    current = editing.editable_record(context(), g.caller, "contact_point", record_id)
    if not current["editable"] or not current["body"] or current["body"].get("kind") != "person":
        raise Forbidden("not a contact person you edit", scope=f"publish:{current['owner_network']}")
    values = {k: request.form.get(k, "") for k in ("last_day", "name", "email", "phone")}
    if request.method == "GET":
        return render_template("console_hand_over.html", record=current, values=values, errors=None)
    try:
        last_day = date.fromisoformat(values["last_day"])
    except ValueError:
        return render_template("console_hand_over.html", record=current, values=values,
                               errors=[{"path": "last_day", "message": _l("Give the last day as a date.")}]), 422
    try:
        _, incoming = publishing.hand_over(context(), g.caller, record_id, last_day,
                                           {k: values[k] for k in ("name", "email", "phone")}, form_version())
    except PreconditionFailed:
        return redirect(url_for("console.record", record_type="contact_point", record_id=record_id, stale=1), 303)
    except InvalidRecord as problem:
        return render_template("console_hand_over.html", record=current, values=values,
                               errors=problem.extensions["errors"]), 422
    return redirect(url_for("console.record", record_type="contact_point", record_id=incoming["id"], saved=1), 303)


# Verification: how true the network's directory is, rounds, reminders and the changes holders propose

@bp.get("/networks/<network>/freshness")
@signed_in
def freshness(network: str):
    report = verification.freshness(context(), g.caller, network)
    return render_template("console_freshness.html", network=report["network"], report=report,
                           round=request.args.to_dict(), proposals=len(verification.proposals(
                               context(), g.caller, report["network"])))


@bp.post("/networks/<network>/freshness/round")
@signed_in
def verification_round(network: str):
    result = verification.run(context(), network, caller=g.caller)
    return redirect(url_for("console.freshness", network=network, asked=len(result.asked),
                            reminded=len(result.reminded), bounced=len(result.bounced), failed=len(result.failed),
                            deferred=result.deferred), 303)


@bp.post("/networks/<network>/freshness/ask/<path:record_id>")
@signed_in
def verification_ask(network: str, record_id: str):
    outcome = verification.ask(context(), g.caller, record_id)
    return redirect(url_for("console.freshness", network=network, one=outcome), 303)


@bp.get("/networks/<network>/proposals")
@signed_in
def proposals(network: str):
    found = verification.proposals(context(), g.caller, network)
    return render_template("console_proposals.html", network=network, proposals=found)


@bp.post("/networks/<network>/proposals/<int:proposal_id>/<any(accept, dismiss):action>")
@signed_in
def review_proposal(network: str, proposal_id: int, action: str):
    verification.review(context(), g.caller, proposal_id, action == "accept")
    return redirect(url_for("console.proposals", network=network), 303)


# People

@bp.route("/people", methods=["GET", "POST"])
@signed_in
def people_page():
    admin = allows(g.caller, "people:manage")
    networks = edited_networks()
    if not admin and not networks:
        raise Forbidden("neither admin nor editor", scope="admin")
    invited = error = None
    status = 200
    if request.method == "POST":
        roles = request.form.getlist("role") if admin else ["practitioner"]
        sponsor = request.form.get("network") or None
        try:
            invited = people.invite(context(), g.caller, request.form.get("email", ""), roles,
                                    sponsor_network=sponsor)
        except RegistryError as problem:
            error, status = _invitation_problem(problem), problem.status
    everyone = people.list_people(context())
    if not admin:
        everyone = [p for p in everyone if p.sponsor_network in networks]
    invitations = [i for i in people.list_invitations(context(), open_only=True)
                   if admin or i.invited_by == g.person.email]
    return render_template("console_people.html", admin=admin, people=everyone, invitations=invitations,
                           networks=networks, invited=invited, error=error,
                           roles=sorted(_known_roles())), status


def _invitation_problem(problem: RegistryError) -> str:
    """The refusal in the reader's language, the registry's own words after it."""
    if isinstance(problem, Conflict):
        sentence = _l("This address has an account already.")
    elif isinstance(problem, InvalidParameter) and problem.extensions.get("errors", [{}])[0].get("parameter") == "role":
        sentence = _l("Choose at least one role.")
    elif isinstance(problem, InvalidParameter):
        sentence = _l("Give a valid e-mail address.")
    else:
        return problem.detail
    return f"{sentence} ({problem.detail})"


def _known_roles() -> set[str]:
    return {"practitioner", "admin", *(f"editor:{n}" for n in known_networks(context()))}


@bp.post("/people/<int:person_id>/<action>")
@signed_in
def person_action(person_id: int, action: str):
    if action == "disable":
        people.set_disabled(context(), g.caller, person_id, True)
    elif action == "enable":
        people.set_disabled(context(), g.caller, person_id, False)
    elif action == "reset-second-factor":
        people.reset_second_factor(context(), g.caller, person_id)
    elif action == "roles":
        people.set_roles(context(), g.caller, person_id, request.form.get("roles", "").split())
    else:
        raise NotFound(f"no action {action!r}")
    return redirect(url_for("console.people_page"), 303)


@bp.post("/invitations/<invitation_id>/resend")
@signed_in
def resend(invitation_id: str):
    if not allows(g.caller, "people:manage"):
        raise Forbidden("admin only", scope="admin")
    people.send_invitation(context(), invitation_id)
    return redirect(url_for("console.people_page"), 303)


# The node: OAuth clients, peers and sync status, for admins

@bp.route("/clients", methods=["GET", "POST"])
@signed_in
def clients_page():
    require(g.caller, "clients:manage")
    created = error = None
    status = 200
    if request.method == "POST":
        try:
            created = clients.create_client(context(), request.form.get("name", ""), request.form.get("scope", ""))
        except RegistryError as problem:
            error, status = problem.detail, problem.status
    return render_template("console_clients.html", clients=clients.list_clients(context()), created=created,
                           error=error, scopes=sorted(SCOPES)), status


@bp.post("/clients/<client_id>/<action>")
@signed_in
def client_action(client_id: str, action: str):
    require(g.caller, "clients:manage")
    if action not in ("disable", "enable"):
        raise NotFound(f"no action {action!r}")
    clients.set_disabled(context(), client_id, action == "disable")
    return redirect(url_for("console.clients_page"), 303)


@bp.get("/federation")
@signed_in
def federation_page():
    require(g.caller, "federation:manage")
    return render_template("console_federation.html", peers=peers.list_peers(context()),
                           origins=sync_status(context()))
