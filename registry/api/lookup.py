"""The practitioner's lookup."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller_tier, context
from registry.api.args import PageArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.cache import clocked
from registry.api.responses import answer_response
from registry.services import lookup

blp = RegistryBlueprint("lookup", __name__, description="Whom to contact about a crime and a request in a country.")


class LookupArgs(PageArgs):
    country = TextFilter("Required. Alpha-2, alpha-3 or a name in any language.", required=True)
    crime_type = TextFilter("A crime-type code or synonym.")
    request_type = TextFilter("A request-type code or synonym.")
    network = TextFilter("Only authorities that are members of this network.")
    urgent = ma.fields.Boolean(load_default=False,
                               metadata={"description": "Put 24/7 contact points and urgent procedures first."})
    q = WordsFilter()


@blp.route("/lookup")
@clocked
@blp.arguments(LookupArgs, location="query")
@blp.response(200, {"$ref": "#/components/schemas/Lookup"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def lookup_contacts(args):
    """The competent authorities of a country, ranked: competent for the crime and handling the
    request type first; each with its current contact points and the emergency notes in force today.
    A page holds 10 authorities unless `page_size` says otherwise (`REGISTRY_LOOKUP_PAGE_SIZE`);
    `total`, `X-Total-Count` and `Link` lead to the rest."""
    page = page_of(args, context().settings.lookup_page_size)
    return answer_response(lookup.lookup(context(), lookup.LookupQuery(**args), page, caller_tier()), page)
