"""The pages of a person's account: accepting an invitation, enrolling a second factor, signing in and out.

Each view reads the form, calls registry.auth (people, sign_in, passkeys) and renders; a refused step
is shown in the reader's language next to the form, with the status it deserves (401 wrong credentials,
410 a used or expired invitation, 422 a password that may not be used, 429 throttled)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from registry.api import context
from registry.auth import passkeys, people, second_factor, sign_in
from registry.auth.people import AccountProblem
from registry.web import sessions

bp = Blueprint("accounts", __name__, url_prefix="/console")

# The session keys of the steps before a person is signed in.
PENDING = "pending_person"    # the password was right; the second factor is next
ENROLLING = "enrolling_person"  # the password is set; a second factor must be enrolled
TOTP_DRAFT = "totp_draft"        # the secret shown as a QR code, kept until a code confirms it

MESSAGES = {
    "password-wrong": _l("The e-mail address or the password is wrong."),
    "disabled": _l("This account is disabled. Ask your network's secretariat."),
    "throttled": _l("Too many failed attempts. Wait %(minutes)s minutes and try again."),
    "code-wrong": _l("The code is wrong or was used already. Type the newest code your app shows."),
    "invitation-expired": _l("This invitation has expired or was replaced by a newer one. Ask for a new one."),
    "invitation-invalid": _l("This is not a valid invitation link. Check that you opened the whole link."),
    "invitation-used": _l("This invitation has been used already. Sign in instead."),
    "password-too-short": _l("The password must be at least 12 characters long."),
    "password-too-long": _l("The password must be at most 256 characters long."),
    "password-common": _l("This password is among those attackers try first. Choose another one."),
    "password-like-email": _l("The password must not be built on your e-mail address."),
    "passwords-differ": _l("The two passwords differ."),
    "passkey-failed": _l("The passkey could not be checked. Try again, or use your authenticator app."),
}


def message(problem: AccountProblem) -> str:
    minutes = max(1, -(-problem.extensions.get("retry_after", 60) // 60))
    return MESSAGES[problem.reason] % {"minutes": minutes} if problem.reason == "throttled" \
        else str(MESSAGES.get(problem.reason, problem.detail))


def refused(template: str, problem: AccountProblem, **values):
    headers = {"Retry-After": str(problem.extensions["retry_after"])} if "retry_after" in problem.extensions else {}
    return render_template(template, error=message(problem), **values), problem.status, headers


def throttle() -> sign_in.SignInThrottle:
    return current_app.extensions["sign_in_throttle"]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.home")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in_page():
    if g.get("person") is not None:
        return redirect(safe_next(request.args.get("next")), 303)
    next_page = request.values.get("next", "")
    if request.method == "GET":
        return render_template("sign_in.html", next=next_page, ended=bool(request.args.get("ended")
                                                                          or g.get("session_ended")))
    email = request.form.get("email", "")
    try:
        person = sign_in.check_password(context(), throttle(), email, request.form.get("password", ""),
                                        request.remote_addr)
    except AccountProblem as problem:
        return refused("sign_in.html", problem, next=next_page, email=email)
    session.pop(TOTP_DRAFT, None)
    if not person.second_factors:
        session[ENROLLING] = person.id
        return redirect(url_for("accounts.enrol"), 303)
    session[PENDING] = person.id
    return redirect(url_for("accounts.second_factor_page", next=next_page), 303)


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
def second_factor_page():
    person_id = session.get(PENDING)
    if person_id is None:
        return redirect(url_for("accounts.sign_in_page"), 303)
    person = people.get_person(context(), person_id)
    next_page = request.values.get("next", "")
    if request.method == "GET":
        return render_template("second_factor.html", person=person, next=next_page)
    try:
        person = sign_in.check_code(context(), throttle(), person_id, request.form.get("code", ""),
                                    request.remote_addr)
    except AccountProblem as problem:
        return refused("second_factor.html", problem, person=person, next=next_page)
    return _signed_in(person, next_page)


def _signed_in(person: people.PersonInfo, next_page: str | None):
    sessions.sign_in(person)
    sessions.purge_expired(context())
    return redirect(safe_next(next_page), 303)


@bp.post("/sign-out")
def sign_out():
    if g.get("person") is not None:
        sign_in.signed_out(context(), g.caller, request.remote_addr)
    sessions.sign_out()
    return redirect(url_for("accounts.sign_in_page", signed_out=1), 303)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    try:
        invited = people.open_invitation(context(), token)
    except AccountProblem as problem:
        return refused("invitation.html", problem, invitation=None)
    if request.method == "GET":
        return render_template("invitation.html", invitation=invited)
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        problem = AccountProblem("passwords differ", "passwords-differ")
        return refused("invitation.html", problem, invitation=invited)
    try:
        person = people.accept_invitation(context(), token, password, address=request.remote_addr)
    except AccountProblem as problem:
        return refused("invitation.html", problem, invitation=invited if problem.status == 422 else None)
    sessions.sign_out()  # whoever was signed in in this browser is not the invitee
    session[ENROLLING] = person.id
    return redirect(url_for("accounts.enrol"), 303)


def _enrolling() -> people.PersonInfo | None:
    """The person enrolling a second factor: right after setting the password or signing in without one,
    or a signed-in person adding or replacing one."""
    if g.get("person") is not None:
        return g.person
    person_id = session.get(ENROLLING)
    return people.get_person(context(), person_id) if person_id is not None else None


@bp.route("/enrol", methods=["GET", "POST"])
def enrol():
    person = _enrolling()
    if person is None:
        return redirect(url_for("accounts.sign_in_page"), 303)
    secret = session.get(TOTP_DRAFT)
    if secret is None:
        secret = session[TOTP_DRAFT] = second_factor.new_totp_secret()
    uri = second_factor.provisioning_uri(secret, person.email)
    values = {"person": person, "secret": secret, "qr": second_factor.qr_svg(uri)}
    if request.method == "GET":
        return render_template("enrol.html", **values)
    try:
        codes = people.enrol_totp(context(), person.id, secret, request.form.get("code", ""),
                                  address=request.remote_addr)
    except AccountProblem as problem:
        return refused("enrol.html", problem, **values)
    session.pop(TOTP_DRAFT, None)
    return _enrolled(person, codes)


def _enrolled(person: people.PersonInfo, codes: list[str] | None):
    """The account works from now: sign the person in (if enrolling) and show the recovery codes once."""
    session.pop(ENROLLING, None)
    if g.get("person") is None:
        sessions.sign_in(people.get_person(context(), person.id))
    if codes:
        return render_template("recovery_codes.html", codes=codes)
    return redirect(url_for("console.home"), 303)


@bp.post("/recovery-codes")
def renew_recovery_codes():
    if g.get("person") is None:
        return redirect(url_for("accounts.sign_in_page", next=request.path), 303)
    return render_template("recovery_codes.html", codes=people.new_recovery_codes(context(), g.person.id))


@bp.post("/passkeys/registration-options")
def passkey_registration_options():
    person = _enrolling()
    if person is None:
        return {"error": "sign in first"}, 401
    options, challenge = passkeys.registration_options(context(), person)
    session["passkey_challenge"] = challenge
    return options


@bp.post("/passkeys")
def passkey_register():
    person = _enrolling()
    challenge = session.pop("passkey_challenge", None)
    if person is None or challenge is None:
        return {"error": "sign in first"}, 401
    try:
        passkeys.register(context(), person, request.get_json(silent=True), challenge, address=request.remote_addr)
    except AccountProblem as problem:
        return {"error": message(problem)}, problem.status
    session.pop(ENROLLING, None)
    if g.get("person") is None:
        sessions.sign_in(people.get_person(context(), person.id))
    return {"next": url_for("console.home")}


@bp.post("/passkeys/authentication-options")
def passkey_authentication_options():
    person_id = session.get(PENDING)
    if person_id is None:
        return {"error": "give your e-mail address and password first"}, 401
    options, challenge = passkeys.authentication_options(context(), person_id)
    session["passkey_challenge"] = challenge
    return options


@bp.post("/passkeys/authentication")
def passkey_authenticate():
    person_id = session.get(PENDING)
    challenge = session.pop("passkey_challenge", None)
    if person_id is None or challenge is None:
        return {"error": "give your e-mail address and password first"}, 401
    try:
        person = passkeys.authenticate(context(), throttle(), person_id, request.get_json(silent=True), challenge,
                                       address=request.remote_addr)
    except AccountProblem as problem:
        return {"error": message(problem)}, problem.status
    sessions.sign_in(person)
    return {"next": safe_next(request.args.get("next"))}
