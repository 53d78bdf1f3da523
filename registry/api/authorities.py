"""Authorities."""

from __future__ import annotations

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import page_response, record_response
from registry.services import authorities

blp = RegistryBlueprint("authorities", __name__, description="Competent authorities.")

AUTHORITY = {"$ref": "#/components/schemas/Authority"}


class AuthorityListArgs(PageArgs):
    country = TextFilter("Alpha-2, alpha-3 or a name in any language (\"Кыргызстан\").")
    crime_type = TextFilter("A crime-type code or synonym (\"human trafficking\", \"THB\").")
    request_type = TextFilter("A request-type code or synonym; \"mla\" also matches its forms.")
    network = TextFilter("A network code, acronym or name.")
    language = TextFilter("A language the authority accepts requests in: BCP 47 tag or English name.")
    kind = TextFilter("Authority kind, e.g. prosecution_service, central_authority, anti_corruption_body.")
    q = WordsFilter()


@blp.route("/authorities")
@blp.arguments(AuthorityListArgs, location="query")
@blp.response(200, {"type": "array", "items": AUTHORITY}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_authorities(args):
    """Authorities matching every given filter, by country and name. Paginated."""
    page = page_of(args)
    wanted = authorities.AuthorityFilters(**args)
    return page_response(authorities.list_authorities(context(), wanted, page, caller_tier()))


@blp.route("/authorities/<authority_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, AUTHORITY, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_authority(_args, authority_id):
    """One authority."""
    return record_response(authorities.get_authority(context(), authority_id, caller()))


add_publishing_routes(blp, collection="authorities", record_type="authority", component="Authority",
                      id_param="authority_id")
