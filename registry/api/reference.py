"""Countries and taxonomies: reference data shipped with the software."""

from __future__ import annotations

import marshmallow as ma

from registry.api import context
from registry.api.args import NoArgs, QueryArgs, RegistryBlueprint
from registry.api.responses import json_response
from registry.services import countries

blp = RegistryBlueprint("reference", __name__, description="Countries, crime types and request types.")

COUNTRY = {"$ref": "#/components/schemas/Reference/$defs/country"}
TERMS = {"type": "array", "items": {"$ref": "#/components/schemas/Reference/$defs/term"}}


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


@blp.route("/countries/<code>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, COUNTRY, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
def get_country(_args, code):
    """One country, by alpha-2, alpha-3 or any name ("KG", "KGZ", "Кыргызстан")."""
    return json_response(countries.get_country(context(), code))


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
