"""The page a verification link opens (/verify/<token>): no account, since the link itself says who is
asked. It shows the contact point as it stands, the person block included (the link's holder is that
person or post), with two forms: "All correct" confirms through the single write path; "Something changed"
files a proposal for the network's editors and publishes nothing. A used, expired or forged link gets a
page saying so, with 410 or 404."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from registry.api import context
from registry.errors import InvalidParameter, PreconditionFailed
from registry.services import verification
from registry.services.verification import LinkProblem

bp = Blueprint("verification", __name__, url_prefix="/verify")

MESSAGES = {
    "invalid": _l("This is not a valid verification link. Check that you opened the whole link from the message."),
    "used": _l("This verification link has been used already. Thank you: your answer was received."),
    "expired": _l("This verification link has expired. The network's secretariat will send a new one."),
}
FIELDS = {"name": _l("Name"), "position": _l("Position"), "email": _l("E-mail"), "phone": _l("Telephone")}


def _refused(problem: LinkProblem):
    return render_template("verify_refused.html", message=MESSAGES[problem.reason]), problem.status


def _page(opened, *, status: int = 200, error=None, changed_meanwhile: bool = False, values=None):
    return render_template("verify.html", opened=opened, body=opened.body, fields=FIELDS, error=error,
                           changed_meanwhile=changed_meanwhile, values=values or {}), status


@bp.get("/<token>")
def page(token: str):
    try:
        opened = verification.open_link(context(), token)
    except LinkProblem as problem:
        return _refused(problem)
    return _page(opened)


@bp.post("/<token>/confirm")
def confirm(token: str):
    version = request.form.get("version", "")
    try:
        verification.confirm(context(), token, int(version) if version.isdigit() else -1)
    except LinkProblem as problem:
        return _refused(problem)
    except PreconditionFailed:
        return _page(verification.open_link(context(), token), status=409, changed_meanwhile=True)
    return render_template("verify_done.html", confirmed=True)


@bp.post("/<token>/change")
def change(token: str):
    values = {name: request.form.get(name, "") for name in ("text", *verification.PROPOSAL_FIELDS)}
    try:
        verification.propose_change(context(), token, values["text"], values)
    except LinkProblem as problem:
        return _refused(problem)
    except InvalidParameter:
        return _page(verification.open_link(context(), token), status=422, values=values,
                     error=_l("Say in a few words what changed (at most 4000 characters; each field at most a "
                              "line)."))
    return render_template("verify_done.html", confirmed=False)
