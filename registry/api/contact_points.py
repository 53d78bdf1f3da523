"""Contact points."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import page_response, record_response
from registry.services import contact_points

blp = RegistryBlueprint("contact_points", __name__, description="Contact points: persons and functional posts.")

CONTACT_POINT = {"$ref": "#/components/schemas/ContactPoint"}


class ContactPointListArgs(PageArgs):
    authority = TextFilter("Record id of the authority.")
    country = TextFilter("Country of the authority: alpha-2, alpha-3 or a name.")
    network = TextFilter("A network in which the contact point holds a role.")
    role = TextFilter("contact_point, alternate, 24_7 or secretariat_focal_point (with network: in that network).")
    available_24_7 = ma.fields.Boolean(metadata={"description": "Only contact points answering around the clock."})
    status = TextFilter("current (default), upcoming, past or all: by valid_from/valid_until, today.",
                        load_default="current")
    q = WordsFilter()


@blp.route("/contact-points")
@blp.arguments(ContactPointListArgs, location="query")
@blp.response(200, {"type": "array", "items": CONTACT_POINT}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_contact_points(args):
    """Contact points matching every given filter. Paginated."""
    page = page_of(args)
    wanted = contact_points.ContactPointFilters(**args)
    return page_response(contact_points.list_contact_points(context(), wanted, page, caller_tier()))


@blp.route("/contact-points/<contact_point_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, CONTACT_POINT, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_contact_point(_args, contact_point_id):
    """One contact point."""
    return record_response(contact_points.get_contact_point(context(), contact_point_id, caller()))


add_publishing_routes(blp, collection="contact-points", record_type="contact_point", component="ContactPoint",
                      id_param="contact_point_id")
