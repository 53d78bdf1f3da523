"""Countries and taxonomies: reference data shipped with the software."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller, context
from registry.api.args import NoArgs, QueryArgs, RegistryBlueprint
from registry.api.responses import also_as, export_response, json_response, negotiated
from registry.exports import JSON, VCARD, vcard
from registry.services import countries

blp = RegistryBlueprint("reference", __name__, description="Countries, crime types and request types.")

COUNTRY = {"$ref": "#/components/schemas/Reference/$defs/country"}
TERMS = {"type": "array", "items": {"$ref": "#/components/schemas/Reference/$defs/term"}}
VCARD_DESCRIPTION = ("vCard 4.0: every authority of the country (KIND:org) and its current contact points, at the "
                     "caller's tier.")


class CountryListArgs(QueryArgs):
    with_authorities = ma.fields.Boolean(
        metadata={"description": "true: only countries this node holds authorities for; false: only the others."})



@blp.route("/countries")
@blp.arguments(CountryListArgs, location="query")
@blp.response(200, {"type": "array", "items": COUNTRY}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_countries(args):
    """ISO 3166-1 countries with their names and how many authorities this node holds."""
    return json_response(countries.list_countries(context(), args.get("with_authorities")))


@blp.route("/countries/<spelling:code>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, COUNTRY, content_type="application/json")
@also_as(blp, {VCARD: VCARD_DESCRIPTION})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names neither JSON nor vCard")
def get_country(_args, code):
    """One country, by alpha-2, alpha-3 or any name ("KG", "KGZ", "Кыргызстан").

    With Accept: text/vcard, its authorities as vCard (as .vcf)."""
    return negotiated({
        JSON: lambda: json_response(countries.get_country(context(), code)),
        VCARD: lambda: export_response(vcard.country(context(), code, caller())),
    })


@blp.route("/countries/<spelling:code>.vcf")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": VCARD_DESCRIPTION}, content_type=VCARD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
def country_vcard(_args, code):
    """The country's authorities and their current contact points as vCard 4.0, streamed."""
    return export_response(vcard.country(context(), code, caller()))


@blp.route("/taxonomies/crime-types")
@blp.arguments(NoArgs, location="query")
@blp.response(200, TERMS, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def crime_types(_args):
    """The crime types (UNODC SHERLOC crime areas, with ICCS sections) and their synonyms."""
    return json_response([t.as_dict() for t in context().taxonomy.crime_types.terms.values()])


@blp.route("/taxonomies/request-types")
@blp.arguments(NoArgs, location="query")
@blp.response(200, TERMS, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def request_types(_args):
    """The request types; mutual legal assistance has the UNTOC art. 18(3) forms as children."""
    return json_response([t.as_dict() for t in context().taxonomy.request_types.terms.values()])
