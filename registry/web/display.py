"""How records read on a page: names in the reader's language, taxonomy codes as their names, times in
the authority's own time zone. Template filters only; no rule of the registry lives here."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

from babel.core import get_global
from babel.dates import format_date, format_datetime, format_time, get_timezone
from flask import Blueprint, current_app, g
from flask_babel import format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l
from langcodes import Language

from registry.exports import hours_text
from registry.services import today


def locale() -> str:
    # Asked hundreds of times per page: kept for the request once Flask-Babel has chosen it.
    chosen = g.get("registry_locale")
    if chosen is None:
        chosen = g.registry_locale = str(get_locale() or "en")
    return chosen


def taxonomy():
    return current_app.extensions["registry"].taxonomy


def pick(texts: dict | None) -> tuple[str, str]:
    """The text in the reader's language when the record has it, else English, else the first; with its language."""
    if not texts:
        return "", ""
    for language in (locale(), "en"):
        if texts.get(language):
            return texts[language], language
    language, text = next(iter(texts.items()))
    return text, language


def others(texts: dict | None) -> list[tuple[str, str]]:
    """The record's text in every language but the one shown."""
    shown = pick(texts)[1]
    return [(language, text) for language, text in (texts or {}).items() if language != shown and text]


def country_name(code: str | None) -> str:
    country = taxonomy().countries.get(code) if code else None
    if country is None:
        return code or ""
    return country.names.get(locale()) or country.name


def term_name(vocabulary: str, code: str | None) -> str:
    term = getattr(taxonomy(), vocabulary).terms.get(code) if code else None
    if term is None:
        return (code or "").replace("_", " ")
    return term.names.get(locale()) or term.name


def time_zone_of(country: str | None, contact_points: list[dict]) -> str | None:
    """The authority's time zone: that of its contact points' hours, else its country's main zone."""
    for point in contact_points:
        if (point.get("hours") or {}).get("time_zone"):
            return point["hours"]["time_zone"]
    zones = get_global("territory_zones").get(country or "", [])
    return zones[0] if zones else None


def local_now(zone: str | None) -> str:
    if not zone:
        return ""
    return format_datetime(datetime.now(UTC), "EEEE HH:mm", tzinfo=get_timezone(zone), locale=locale())


def reachability_text(state: dict | None) -> str:
    """A contact point's state at the instant of the answer, as a practitioner reads it: open or closed,
    the time there, when it closes or opens next, and why it is closed on a public holiday."""
    if not state or state.get("local_time") is None:
        return ""
    there = datetime.fromisoformat(state["local_time"])
    when = {"time": _moment(there, there)}
    if state["always"]:
        return gettext("Answers around the clock — %(time)s there", **when)
    if state["open"]:
        if state["closes_at"]:
            return gettext("Open now — %(time)s there, closes %(closes)s",
                           closes=_moment(datetime.fromisoformat(state["closes_at"]), there), **when)
        return gettext("Open now — %(time)s there", **when)
    opens = (gettext("opens %(opens)s", opens=_moment(datetime.fromisoformat(state["next_opening"]), there))
             if state["next_opening"] else gettext("no opening in the next two weeks"))
    if state["holiday"]:
        return gettext("Closed — public holiday (%(holiday)s), %(time)s there; %(opens)s",
                       holiday=state["holiday"], opens=opens, **when)
    return gettext("Closed — %(time)s there; %(opens)s", opens=opens, **when)


def _moment(moment: datetime, there: datetime) -> str:
    """A local time, with its weekday when it is not on the day of `there`."""
    if moment.date() == there.date():
        return format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale())
    return format_datetime(moment, "EEEE HH:mm", tzinfo=moment.tzinfo, locale=locale())


def local_time(zone: str | None) -> str:
    return format_time(datetime.now(UTC), "short", tzinfo=get_timezone(zone), locale=locale()) if zone else ""


def day(value: str | date | None) -> str:
    """An ISO date (or timestamp) written the reader's way."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "long", locale=locale())


def verified(value: str | None) -> str:
    """When the holder of a post last confirmed its record: "today" says a round has just been answered."""
    if not value:
        return gettext("Not verified yet")
    if date.fromisoformat(value[:10]) == today():
        return gettext("Verified today")
    return gettext("Verified on %(date)s", date=day(value))


URGENCY = {"emergency": _l("Emergency"), "urgent": _l("Urgent"), "routine": _l("Routine")}
CHANNELS = {"email": _l("E-mail"), "phone": _l("Telephone"), "secure_platform": _l("Secure platform"),
            "diplomatic": _l("Diplomatic channel"), "interpol": _l("INTERPOL"), "postal": _l("Post"), "fax": _l("Fax")}
AUTHORITY_KINDS = {"prosecution_service": _l("Prosecution service"), "central_authority": _l("Central authority"),
                   "anti_corruption_body": _l("Anti-corruption body"), "law_enforcement": _l("Law enforcement"),
                   "fiu": _l("Financial intelligence unit"), "judiciary": _l("Judiciary"),
                   "ministry_of_justice": _l("Ministry of justice"), "other": _l("Other")}
INSTRUMENTS = {"untoc": _l("UN Convention against Transnational Organized Crime"),
               "uncac": _l("UN Convention against Corruption"),
               "vienna_1988": _l("UN Convention against Illicit Traffic in Narcotic Drugs (1988)"),
               "budapest": _l("Convention on Cybercrime (Budapest)"),
               "ecmla": _l("European Convention on Mutual Assistance in Criminal Matters"),
               "eu_eio": _l("EU Directive on the European Investigation Order"),
               "eu_eaw": _l("EU Framework Decision on the European Arrest Warrant"),
               "bilateral_treaty": _l("Bilateral treaty"), "regional_treaty": _l("Regional treaty"),
               "domestic_law": _l("National law")}
PROCEDURE_CHANNELS = {"central_authority": _l("through the central authority"),
                      "direct": _l("directly between judicial authorities"),
                      "diplomatic": _l("through the diplomatic channel"), "interpol": _l("through INTERPOL")}
# The long-text fields of a procedure, in the order a practitioner needs them.
PROCEDURE_FIELDS = {"form": _l("Form"), "accompanying": _l("What must accompany it"),
                    "translation": _l("Translation"), "urgent_procedure": _l("When it is urgent"),
                    "time_frames": _l("Time frames"), "notes": _l("Good to know"),
                    "legal_bases": _l("Legal bases"), "languages": _l("Languages of the request"),
                    "channels": _l("Channel"), "templates": _l("Forms and guides")}
RECORD_TYPES = {"authority": _l("Authority"), "contact_point": _l("Contact point"),
                "emergency_note": _l("Emergency note")}
FACETS = {"type": _l("Kind of record"), "country": _l("Country"), "crime_type": _l("Crime"),
          "request_type": _l("Request"), "network": _l("Network"), "language": _l("Language"), "kind": _l("Kind")}
UNKNOWN = {"country": _l("“%(value)s” is not a country we know."),
           "crime_type": _l("“%(value)s” is not a crime type we know."),
           "request_type": _l("“%(value)s” is not a request type we know."),
           "network": _l("“%(value)s” is not a network we know.")}


def unknown_text(parameter: str, value: str) -> str:
    return str(UNKNOWN.get(parameter, UNKNOWN["country"])) % {"value": value}


def language_name(code: str) -> str:
    """A language of the record named in the reader's language ("ru" is "russe" to a French reader)."""
    try:
        return Language.get(code).display_name(locale())
    except Exception:  # an odd tag in a record still shows, as its code
        return code


def result_href(result: dict) -> str:
    """Where a search hit reads on the pages: its authority (for a contact point, the one it belongs to)."""
    if result["type"] == "authority":
        return f"/authorities/{result['id']}"
    if result["type"] == "contact_point" and (result.get("authority") or {}).get("id"):
        return f"/authorities/{result['authority']['id']}"
    if result["type"] == "emergency_note" and result.get("country"):
        return f"/emergency-notes?country={result['country']}"
    return result["href"]


# The console's form fields, by property name (and the values of choices no other table names).
FIELD_LABELS = {
    "accompanying": _l("What must accompany the request"), "acronym": _l("Acronym"), "address": _l("Address"),
    "always": _l("Around the clock"), "authority_id": _l("Authority (record id)"), "body": _l("Text"),
    "channels": _l("Channels"), "closes": _l("Closes"), "code": _l("Code"), "competences": _l("Crime types handled"),
    "country": _l("Country (ISO code)"), "crime_types": _l("Crime types"), "days": _l("Days"),
    "description": _l("Description"), "designations": _l("Designations"), "effective_from": _l("In force from"),
    "effective_until": _l("In force until"), "email": _l("E-mail"), "established": _l("Established"),
    "focus_crime_types": _l("Crime types in focus"), "form": _l("Form"), "handle": _l("Handle"),
    "hours": _l("Hours"), "instrument": _l("Instrument"), "kind": _l("Kind"), "languages": _l("Languages"),
    "legal_bases": _l("Legal bases"), "locality": _l("Town or city"), "members": _l("Members"), "name": _l("Name"),
    "names": _l("Names"), "person.name": _l("Name of the person"), "network": _l("Network"), "note": _l("Note"),
    "notes": _l("Notes"),
    "opens": _l("Opens"), "person": _l("Person"), "phone": _l("Telephone"), "platform": _l("Platform"),
    "position": _l("Position"), "postal_code": _l("Postal code"), "provision": _l("Provision"),
    "refers_to_role": _l("Refers to the role"), "region": _l("Region"), "request_types": _l("Request types"),
    "retires_channels": _l("Channels no longer read"), "role": _l("Role"), "roles": _l("Roles"),
    "same_as": _l("The same institution elsewhere (URLs)"), "scope": _l("Applies to"),
    "secretariat": _l("Secretariat"), "secure_platform": _l("Secure platform"), "since": _l("Since"),
    "source": _l("Source"), "sources": _l("Sources"), "status": _l("Status"), "street": _l("Street"),
    "templates": _l("Templates"), "time_frames": _l("Time frames"), "time_zone": _l("Time zone (e.g. Asia/Bishkek)"),
    "title": _l("Title"), "translation": _l("Translation"), "unknown": _l("Not known"), "urgency": _l("Urgency"),
    "urgent_procedure": _l("Urgent procedure"), "url": _l("Address (URL)"), "valid_from": _l("In post from"),
    "valid_until": _l("Last day in post"), "value": _l("Value"), "verified_at": _l("Verified on"),
    "visibility": _l("Who may see it"), "website": _l("Website"), "weekly": _l("Weekly hours"),
    "function": _l("A function or desk"), "contact_point": _l("Contact point"),
    "alternate": _l("Alternate"), "24_7": _l("24/7 line"), "secretariat_focal_point": _l("Secretariat focal point"),
    "public": _l("Public"), "partner": _l("Members and partners"), "restricted": _l("Vetted practitioners"),
    "active": _l("Active"), "inactive": _l("Inactive"), "mon": _l("Monday"), "tue": _l("Tuesday"),
    "wed": _l("Wednesday"), "thu": _l("Thursday"), "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
}


def field_label(code: str) -> str:
    """The label of a field by its dotted path (`person.name`, `roles.0.role`: the most specific known name
    wins), or of a choice by its code."""
    parts = [p for p in code.split(".") if not p.isdigit() and p != "#"]
    for candidate in (".".join(parts[-2:]), parts[-1] if parts else code):
        for table in (FIELD_LABELS, CHANNELS, AUTHORITY_KINDS, URGENCY, INSTRUMENTS):
            if candidate in table:
                return str(table[candidate])
    return code.replace("_", " ")


# The write path's messages (the JSON Schema validator's and the taxonomy checks', in English), as a
# sentence in the reader's language; the original follows it, since it names the exact rule.
FIELD_ERRORS = [
    (re.compile(r"is a required property$"), _l("This is required.")),
    (re.compile(r"does not match '"), _l("This is not in the expected form.")),
    (re.compile(r"is not one of \["), _l("Choose one of the offered values.")),
    (re.compile(r"is not a '(date|email|uri)'"), _l("This is not a valid date, address or link.")),
    (re.compile(r"is too long|is longer than|expected at most"), _l("This is too long.")),
    (re.compile(r"should be non-empty|is too short|expected at least"), _l("Give at least one.")),
    (re.compile(r"is not a known|is not an ISO 3166|not a valid BCP 47"), _l("This code is not known.")),
    (re.compile(r"has non-unique elements"), _l("A value is given twice.")),
]


def field_error(message: str) -> str:
    for pattern, sentence in FIELD_ERRORS:
        if pattern.search(message):
            return f"{sentence} ({message})"
    return message


def record_title(record_type: str, body: dict | None) -> str:
    """A record's name in the console's lists: the authority's name, the post, the note's title..."""
    body = body or {}
    for name in ("names", "position", "title", "name"):
        if isinstance(body.get(name), dict):
            return pick(body[name])[0]
        if isinstance(body.get(name), str):
            return body[name]
    return body.get("code") or body.get("country") or ""


def label(labels: dict):
    return lambda code: str(labels.get(code, code))


def register(bp: Blueprint) -> None:
    for name, function in {"pick": lambda t: pick(t)[0], "others": others, "country_name": country_name,
                           "crime_name": lambda c: term_name("crime_types", c),
                           "request_name": lambda c: term_name("request_types", c),
                           "hours": hours_text, "day": day, "local_now": local_now,
                           "local_time": local_time, "language_name": language_name,
                           "reachability": reachability_text, "verified": verified,
                           "format_number": lambda n: format_decimal(n),
                           "procedure_channel": label(PROCEDURE_CHANNELS),
                           "procedure_field": label(PROCEDURE_FIELDS), "field_label": field_label,
                           "field_error": field_error,
                           # Records as people read them: every script as it is written, not as \u escapes.
                           "readable_json": lambda v: json.dumps(v, ensure_ascii=False, indent=1)}.items():
        bp.add_app_template_filter(function, name)
    bp.add_app_template_global(time_zone_of, "time_zone_of")
    bp.add_app_template_global(lambda t: pick(t)[1], "lang_of")
    for name, function in {"urgency_label": label(URGENCY), "channel_label": label(CHANNELS),
                           "authority_kind": label(AUTHORITY_KINDS), "instrument_label": label(INSTRUMENTS),
                           "procedure_fields": lambda: [(f, PROCEDURE_FIELDS[f]) for f in
                                                        ("form", "accompanying", "translation", "urgent_procedure",
                                                         "time_frames", "notes")],
                           "record_type_label": label(RECORD_TYPES),
                           "facet_label": label(FACETS), "unknown_text": unknown_text, "result_href": result_href,
                           "today_text": lambda: day(today()), "record_title": record_title}.items():
        bp.add_app_template_global(function, name)
