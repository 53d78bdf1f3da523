"""Free-text search."""

from __future__ import annotations

from registry.api import caller_tier, context
from registry.api.args import PageArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.responses import answer_response
from registry.services import search

blp = RegistryBlueprint("search", __name__, description="Search the directory by words and filters.")


class SearchArgs(PageArgs):
    q = WordsFilter("Words in any language and script: names (\"Ибраимов\" or \"Ibraimov\"), places, crimes. "
                   "A country name or crime-type synonym among them also filters. No query syntax: "
                   "quotes, operators and wildcards are read as plain words.")
    type = TextFilter("Only this record type: authority, contact_point or emergency_note.")
    country = TextFilter("Alpha-2, alpha-3 or a name in any language.")
    crime_type = TextFilter("A crime-type code or synonym.")
    request_type = TextFilter("A request-type code or synonym; \"mla\" also matches its forms.")
    network = TextFilter("A network code, acronym or name.")
    language = TextFilter("A language the authority or contact point works in: BCP 47 tag or English name.")
    kind = TextFilter("The record's kind: an authority kind, person or function, or an emergency-note kind.")


@blp.route("/search")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, {"$ref": "#/components/schemas/Search"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def search_directory(args):
    """Authorities, contact points and emergency notes matching the words and every filter, best first,
    each with a highlighted snippet and its link; facet counts over all matches. Contact points and
    notes that are not current today are left out."""
    page = page_of(args)
    return answer_response(search.search(context(), search.SearchFilters(**args), page, caller_tier()), page)
