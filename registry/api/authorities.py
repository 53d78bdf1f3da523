"""Authorities."""

from __future__ import annotations

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, QueryArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import also_as, export_response, negotiated, page_response, record_response
from registry.exports import CSV, JSON, JSON_LD, VCARD, jsonld, tabular, vcard
from registry.services import authorities

blp = RegistryBlueprint("authorities", __name__, description="Competent authorities.")

AUTHORITY = {"$ref": "#/components/schemas/Authority"}
CSV_DESCRIPTION = ("Every matching authority (not one page), one row each; the same columns at every tier, a field "
                   "above the caller's tier an empty cell. UTF-8 with a byte-order mark.")
VCARD_DESCRIPTION = ("vCard 4.0: the authority (KIND:org) with its channels at the caller's tier, then a card for "
                     "each of its current contact points the tier may see.")
JSON_LD_DESCRIPTION = "schema.org GovernmentOrganization with its contact points and networks (memberOf)."


class AuthorityFilterArgs(QueryArgs):
    country = TextFilter("Alpha-2, alpha-3 or a name in any language (\"Кыргызстан\").")
    crime_type = TextFilter("A crime-type code or synonym (\"human trafficking\", \"THB\").")
    request_type = TextFilter("A request-type code or synonym; \"mla\" also matches its forms.")
    network = TextFilter("A network code, acronym or name.")
    language = TextFilter("A language the authority accepts requests in: BCP 47 tag or English name.")
    kind = TextFilter("Authority kind, e.g. prosecution_service, central_authority, anti_corruption_body.")
    q = WordsFilter()


class AuthorityListArgs(AuthorityFilterArgs, PageArgs):
    pass


@blp.route("/authorities")
@blp.arguments(AuthorityListArgs, location="query")
@blp.response(200, {"type": "array", "items": AUTHORITY}, content_type="application/json")
@also_as(blp, {CSV: CSV_DESCRIPTION + " With Accept: text/csv, page and page_size are ignored."})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names neither JSON nor CSV")
def list_authorities(args):
    """Authorities matching every given filter, by country and name. Paginated.

    With Accept: text/csv, every match as CSV, as /authorities.csv."""
    page = page_of(args)
    wanted = authorities.AuthorityFilters(**args)
    return negotiated({
        JSON: lambda: page_response(authorities.list_authorities(context(), wanted, page, caller_tier())),
        CSV: lambda: export_response(tabular.authorities_csv(context(), wanted, caller())),
    })


@blp.route("/authorities.csv")
@blp.arguments(AuthorityFilterArgs, location="query")
@blp.response(200, {"type": "string", "description": CSV_DESCRIPTION}, content_type=CSV)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def authorities_csv(args):
    """Every authority matching the filters of /authorities, as CSV, streamed."""
    return export_response(tabular.authorities_csv(context(), authorities.AuthorityFilters(**args), caller()))


@blp.route("/authorities/<record_id:authority_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, AUTHORITY, content_type="application/json")
@also_as(blp, {VCARD: VCARD_DESCRIPTION, JSON_LD: JSON_LD_DESCRIPTION})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names none of JSON, vCard, JSON-LD")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_authority(_args, authority_id):
    """One authority.

    With Accept: text/vcard or application/ld+json, as vCard or JSON-LD (as .vcf and .jsonld)."""
    return negotiated({
        JSON: lambda: record_response(authorities.get_authority(context(), authority_id, caller())),
        VCARD: lambda: export_response(vcard.authority(context(), authority_id, caller())),
        JSON_LD: lambda: export_response(jsonld.authority(context(), authority_id, caller())),
    })


@blp.route("/authorities/<record_id:authority_id>.vcf")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": VCARD_DESCRIPTION}, content_type=VCARD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def authority_vcard(_args, authority_id):
    """One authority and its current contact points as vCard 4.0, for an address book."""
    return export_response(vcard.authority(context(), authority_id, caller()))


@blp.route("/authorities/<record_id:authority_id>.jsonld")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "object", "description": JSON_LD_DESCRIPTION}, content_type=JSON_LD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def authority_jsonld(_args, authority_id):
    """One authority as schema.org JSON-LD."""
    return export_response(jsonld.authority(context(), authority_id, caller()))


add_publishing_routes(blp, collection="authorities", record_type="authority", component="Authority",
                      id_param="authority_id")
