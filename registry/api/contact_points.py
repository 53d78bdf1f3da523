"""Contact points."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, QueryArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import also_as, export_response, negotiated, page_response, record_response
from registry.exports import CSV, JSON, JSON_LD, VCARD, jsonld, tabular, vcard
from registry.services import contact_points

blp = RegistryBlueprint("contact_points", __name__, description="Contact points: persons and functional posts.")

CONTACT_POINT = {"$ref": "#/components/schemas/ContactPoint"}
CSV_DESCRIPTION = ("Every matching contact point (not one page), one row each, with its authority's name and country; "
                   "the same columns at every tier, a field above the caller's tier (the person's name, direct e-mail "
                   "and phone below the restricted tier) an empty cell. UTF-8 with a byte-order mark.")
VCARD_DESCRIPTION = ("vCard 4.0: the contact point, with the person's name, direct e-mail and phone at the restricted "
                     "tier (below it, the card is named after the position).")
JSON_LD_DESCRIPTION = "schema.org ContactPoint: contactType, availableLanguage, hoursAvailable, areaServed."


class ContactPointFilterArgs(QueryArgs):
    authority = TextFilter("Record id of the authority.")
    country = TextFilter("Country of the authority: alpha-2, alpha-3 or a name.")
    network = TextFilter("A network in which the contact point holds a role.")
    role = TextFilter("contact_point, alternate, 24_7 or secretariat_focal_point (with network: in that network).")
    available_24_7 = ma.fields.Boolean(metadata={"description": "Only contact points answering around the clock."})
    status = TextFilter("current (default), upcoming, past or all: by valid_from/valid_until, today.",
                        load_default="current")
    q = WordsFilter()


class ContactPointListArgs(ContactPointFilterArgs, PageArgs):
    pass


@blp.route("/contact-points")
@blp.arguments(ContactPointListArgs, location="query")
@blp.response(200, {"type": "array", "items": CONTACT_POINT}, content_type="application/json")
@also_as(blp, {CSV: CSV_DESCRIPTION + " With Accept: text/csv, page and page_size are ignored."})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names neither JSON nor CSV")
def list_contact_points(args):
    """Contact points matching every given filter. Paginated.

    With Accept: text/csv, every match as CSV, as /contact-points.csv."""
    page = page_of(args)
    wanted = contact_points.ContactPointFilters(**args)
    return negotiated({
        JSON: lambda: page_response(contact_points.list_contact_points(context(), wanted, page, caller_tier())),
        CSV: lambda: export_response(tabular.contact_points_csv(context(), wanted, caller())),
    })


@blp.route("/contact-points.csv")
@blp.arguments(ContactPointFilterArgs, location="query")
@blp.response(200, {"type": "string", "description": CSV_DESCRIPTION}, content_type=CSV)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def contact_points_csv(args):
    """Every contact point matching the filters of /contact-points, as CSV, streamed."""
    wanted = contact_points.ContactPointFilters(**args)
    return export_response(tabular.contact_points_csv(context(), wanted, caller()))


@blp.route("/contact-points/<record_id:contact_point_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, CONTACT_POINT, content_type="application/json")
@also_as(blp, {VCARD: VCARD_DESCRIPTION, JSON_LD: JSON_LD_DESCRIPTION})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names none of JSON, vCard, JSON-LD")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_contact_point(_args, contact_point_id):
    """One contact point.

    With Accept: text/vcard or application/ld+json, as vCard or JSON-LD (as .vcf and .jsonld)."""
    return negotiated({
        JSON: lambda: record_response(contact_points.get_contact_point(context(), contact_point_id, caller())),
        VCARD: lambda: export_response(vcard.contact_point(context(), contact_point_id, caller())),
        JSON_LD: lambda: export_response(jsonld.contact_point(context(), contact_point_id, caller())),
    })


@blp.route("/contact-points/<record_id:contact_point_id>.vcf")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": VCARD_DESCRIPTION}, content_type=VCARD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def contact_point_vcard(_args, contact_point_id):
    """One contact point as vCard 4.0, for an address book."""
    return export_response(vcard.contact_point(context(), contact_point_id, caller()))


@blp.route("/contact-points/<record_id:contact_point_id>.jsonld")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "object", "description": JSON_LD_DESCRIPTION}, content_type=JSON_LD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def contact_point_jsonld(_args, contact_point_id):
    """One contact point as schema.org JSON-LD."""
    return export_response(jsonld.contact_point(context(), contact_point_id, caller()))


add_publishing_routes(blp, collection="contact-points", record_type="contact_point", component="ContactPoint",
                      id_param="contact_point_id")
