"""Procedures: how to send a request to a country."""

from __future__ import annotations

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, RegistryBlueprint, TextFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import page_response, record_response
from registry.services import procedures

blp = RegistryBlueprint("procedures", __name__,
                        description="How to send a request to a country: legal bases, languages, form and channel, "
                                    "what must accompany it, urgent procedure, time frames, templates, sources.")

PROCEDURE = {"$ref": "#/components/schemas/Procedure"}


class ProcedureListArgs(PageArgs):
    country = TextFilter("The requested country: alpha-2, alpha-3 or a name in any language.")
    request_type = TextFilter("A request-type code or synonym; a broader or narrower type matches too.")


@blp.route("/procedures")
@blp.arguments(ProcedureListArgs, location="query")
@blp.response(200, {"type": "array", "items": PROCEDURE}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="Unknown country or request type")
def list_procedures(args):
    """Procedures matching every given filter, by country. Paginated."""
    page = page_of(args)
    return page_response(procedures.list_procedures(context(), procedures.ProcedureFilters(**args), page,
                                                    caller_tier()))


@blp.route("/procedures/<record_id:procedure_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, PROCEDURE, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_procedure(_args, procedure_id):
    """One procedure."""
    return record_response(procedures.get_procedure(context(), procedure_id, caller()))


add_publishing_routes(blp, collection="procedures", record_type="procedure", component="Procedure",
                      id_param="procedure_id")
