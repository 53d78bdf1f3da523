"""The pages. Each view reads its arguments, calls the service the API calls, and renders: the rules
(resolving spellings, ranking, visibility, what is in force) are the services' alone."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from registry.api import caller, caller_tier, context
from registry.errors import NotFound, RegistryError, UnknownValue
from registry.services import Page, countries, lookup, networks, search, seed, today
from registry.services.authorities import AuthorityFilters, get_authority, list_authorities
from registry.services.emergency_notes import NoteFilters, list_notes
from registry.web import display
from registry.web.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
display.register(bp)
# A practitioner reads the first few; more are a link away.
PAGE_SIZE = 10
# What each page takes from the query string; anything else is ignored, as browsers add little.
LOOKUP_FIELDS = ("country", "crime_type", "request_type", "network", "q")


class PageError(Exception):
    """Input the page cannot answer: shown in the reader's language, with the form to correct it."""

    def __init__(self, status: int, template: str, **values):
        self.status, self.template, self.values = status, template, values


def text_arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def page_number() -> Page:
    number = request.args.get("page", "1")
    return Page(number=int(number) if number.isdigit() and 0 < int(number) < 10_000 else 1, size=PAGE_SIZE)


def demonstration_data() -> bool:
    """Whether to warn that the node holds demonstration data; never the reason a page fails (an error
    page rendered while the database is down still renders)."""
    try:
        return seed.holds_demonstration_data(context())
    except SQLAlchemyError:
        return False


@bp.app_context_processor
def page_globals():
    return {"languages": LANGUAGES, "lang": display.locale(), "here": request.full_path.rstrip("?") if request else "/",
            "demonstration_data": demonstration_data}


@bp.errorhandler(UnknownValue)
@bp.errorhandler(NotFound)
def unknown_value(error: RegistryError):
    """A country, crime type, request type or network no resolver knows: the close matches it computed,
    each as a link to the same page with the match in its place. A record that is not there: our 404."""
    detail = (error.extensions.get("errors") or [{}])[0]
    if "suggestions" not in detail:
        return render_template("error.html", status=404), 404
    suggestions = []
    for s in detail["suggestions"]:
        args = request.args.to_dict() | (request.view_args or {})
        args[detail["parameter"]] = s["code"]
        suggestions.append({"code": s["code"], "name": s["name"], "href": url_for(request.endpoint, **args)})
    # get_country names the parameter `code`; the page speaks of a country.
    parameter = "country" if detail["parameter"] == "code" else detail["parameter"]
    status = 404 if isinstance(error, NotFound) else 422
    return render_template("unknown.html", parameter=parameter, value=detail["value"],
                           suggestions=suggestions, form=vocabularies()), status


@bp.errorhandler(RegistryError)
def bad_input(error: RegistryError):
    problems = error.extensions.get("errors") or [{"message": error.detail}]
    return render_template("bad_input.html", status=error.status, problems=problems,
                           form=vocabularies()), error.status


def vocabularies() -> dict:
    """The choices of the lookup form, in the reader's language, and what the request filled in."""
    return {**_choices(display.locale()), "values": {name: request.args.get(name, "") for name in LOOKUP_FIELDS},
            "urgent": request.args.get("urgent") in ("1", "true", "on")}


def _choices(locale: str) -> dict:
    """The form's lists in one language, sorted by their names in it: the taxonomy does not change while the
    registry runs, so each language's are made once."""
    made = current_app.extensions.setdefault("registry_form_choices", {})
    if locale not in made:
        taxonomy = display.taxonomy()
        made[locale] = {
            "crime_types": sorted(taxonomy.crime_types.terms,
                                  key=lambda c: display.term_name("crime_types", c).casefold()),
            "request_types": [(code, term.parent) for code, term in taxonomy.request_types.terms.items()],
            "countries": sorted(((c.code, display.country_name(c.code)) for c in taxonomy.countries.by_code.values()),
                                key=lambda c: c[1].casefold()),
        }
    return made[locale]


@bp.get("/")
def index():
    return render_template("index.html", form=vocabularies())


@bp.get("/lookup")
def lookup_page():
    form = vocabularies()
    if not text_arg("country"):
        return render_template("index.html", form=form, missing_country=True), 422
    query = lookup.LookupQuery(**{name: text_arg(name) for name in LOOKUP_FIELDS}, urgent=form["urgent"])
    page = page_number()
    answer = lookup.lookup(context(), query, page, caller_tier())
    # Notes in force that apply to any of the authorities, once each, most urgent first: the top of the page.
    notes = {}
    for result in answer["results"]:
        for note in result["emergency_notes"]:
            notes.setdefault(note["id"], note)
    order = lookup.URGENCY_ORDER
    more = None
    if answer["total"] > page.offset + len(answer["results"]):
        more = url_for("web.lookup_page", **(request.args.to_dict() | {"page": page.number + 1}))
    return render_template("lookup.html", answer=answer, form=form, more=more,
                           notes=sorted(notes.values(), key=lambda n: (order[n["urgency"]], n["effective_from"])))


@bp.get("/authorities/<path:authority_id>")
def authority_page(authority_id: str):
    authority = get_authority(context(), authority_id, caller())
    answer = lookup.lookup(context(), lookup.LookupQuery(country=authority["country"]), Page(1, 200), caller_tier())
    entry = next((r for r in answer["results"] if r["authority"]["id"] == authority["id"]), None)
    return render_template("authority.html", authority=authority, entry=entry)


@bp.get("/countries/<code>")
def country_page(code: str):
    country = countries.get_country(context(), code)
    authorities = list_authorities(context(), AuthorityFilters(country=country["code"]), Page(1, 200), caller_tier())
    return render_template("country.html", country=country, authorities=authorities.items)


@bp.get("/networks/<code>")
def network_page(code: str):
    network = networks.get_network(context(), code, caller())
    members = list_authorities(context(), AuthorityFilters(network=network["code"]), Page(1, 200), caller_tier())
    by_country: dict[str, list[dict]] = {}
    for authority in members.items:
        by_country.setdefault(authority["country"], []).append(authority)
    ordered = sorted(by_country.items(), key=lambda item: display.country_name(item[0]).casefold())
    return render_template("network.html", network=network, by_country=ordered, total=members.total)


@bp.get("/networks")
def networks_page():
    return render_template("networks.html", networks=networks.list_networks(context(), caller_tier()))


@bp.get("/emergency-notes")
def notes_page():
    wanted = NoteFilters(country=text_arg("country"), network=text_arg("network"), in_force=True, on=today(),
                         q=text_arg("q"))
    notes = list_notes(context(), wanted, page_number(), caller_tier())
    return render_template("notes.html", notes=notes.items, total=notes.total, form=vocabularies())


@bp.get("/search")
def search_page():
    q = text_arg("q")
    result = None
    if q:
        wanted = search.SearchFilters(q=q, **{name: text_arg(name) for name in
                                               ("type", "country", "crime_type", "network")})
        result = search.search(context(), wanted, page_number(), caller_tier())
    return render_template("search.html", q=q or "", result=result)


@bp.get("/access")
def access_page():
    """What each tier shows and how to obtain access: where an answer says something is withheld."""
    return render_template("access.html", tier=caller_tier().name.lower())


@bp.get("/language/<code>")
def choose_language(code: str):
    """The switcher: remember the choice and go back where the reader was (on this site only)."""
    if code not in LANGUAGES:
        abort(404)
    target = request.args.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = redirect(target, 303)
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response
