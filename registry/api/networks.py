"""Networks and their members."""

from __future__ import annotations

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, RegistryBlueprint, if_match_version, request_json
from registry.api.publishing import IF_MATCH, ITEM_ERRORS, WRITE_ERRORS, add_history_route, write_errors
from registry.api.responses import also_as, export_response, json_response, negotiated, record_response
from registry.exports import JSON, JSON_LD, VCARD, jsonld, vcard
from registry.services import coverage, networks, publishing, verification

blp = RegistryBlueprint("networks", __name__, description="Cooperation networks and their member authorities.")

NETWORK = {"$ref": "#/components/schemas/Network"}
VCARD_DESCRIPTION = ("vCard 4.0: every member authority (KIND:org) and its current contact points that hold a role "
                     "in the network, at the caller's tier, then the network as a KIND:group card whose MEMBERs are "
                     "the authorities.")
JSON_LD_DESCRIPTION = ("schema.org Organization with its members (GovernmentOrganization, with their contact points "
                       "in the network).")


@blp.route("/networks")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": NETWORK}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_networks(_args):
    """Every network this node holds, with its members."""
    return json_response(networks.list_networks(context(), caller_tier()))


@blp.route("/networks/<spelling:code>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, NETWORK, content_type="application/json")
@also_as(blp, {VCARD: VCARD_DESCRIPTION, JSON_LD: JSON_LD_DESCRIPTION})
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(406, response="NOT_ACCEPTABLE", description="Accept names none of JSON, vCard, JSON-LD")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_network(_args, code):
    """One network by code ("globe") or record id.

    With Accept: text/vcard or application/ld+json, its members as vCard or JSON-LD (as .vcf and .jsonld)."""
    return negotiated({
        JSON: lambda: record_response(networks.get_network(context(), code, caller())),
        VCARD: lambda: export_response(vcard.network(context(), code, caller())),
        JSON_LD: lambda: export_response(jsonld.network(context(), code, caller())),
    })


@blp.route("/networks/<spelling:code>.vcf")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "string", "description": VCARD_DESCRIPTION}, content_type=VCARD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def network_vcard(_args, code):
    """The network's member authorities and their contact points in it, as vCard 4.0, streamed."""
    return export_response(vcard.network(context(), code, caller()))


@blp.route("/networks/<spelling:code>.jsonld")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "object", "description": JSON_LD_DESCRIPTION}, content_type=JSON_LD)
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def network_jsonld(_args, code):
    """The network and its members as schema.org JSON-LD."""
    return export_response(jsonld.network(context(), code, caller()))


MEMBER_INPUT = {
    "type": "object",
    "properties": {"role": {"enum": ["member", "observer", "associate"]},
                   "since": {"$ref": "#/components/schemas/Common/$defs/date"}},
    "required": ["role"],
    "additionalProperties": False,
}


@blp.route("/networks/<spelling:code>/members/<record_id:authority_id>", methods=["PUT"])
@blp.doc(summary="Add or change a member", parameters=[IF_MATCH], description=(
    "Adds the authority to the network's member list, or changes its role or date: a new version of "
    "the network record. Needs publish:<spelling:code> and If-Match with the network's ETag."),
    requestBody={"required": True, "content": {"application/json": {"schema": MEMBER_INPUT}}})
@blp.response(200, NETWORK, content_type="application/json", description="The network's new version")
@write_errors(blp, WRITE_ERRORS + ITEM_ERRORS)
def put_member(code, authority_id):
    result = publishing.put_member(context(), caller(), code, authority_id, request_json(), if_match_version())
    return record_response(result)


@blp.route("/networks/<spelling:code>/members/<record_id:authority_id>", methods=["DELETE"])
@blp.doc(summary="Remove a member", parameters=[IF_MATCH], description=(
    "Removes the authority from the network's member list (a new version of the network record)."))
@blp.response(200, NETWORK, content_type="application/json", description="The network's new version")
@write_errors(blp, WRITE_ERRORS + ITEM_ERRORS)
def delete_member(code, authority_id):
    return record_response(publishing.delete_member(context(), caller(), code, authority_id, if_match_version()))


@blp.route("/networks/<spelling:code>/gaps")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"$ref": "#/components/schemas/Coverage"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(401, response="UNAUTHORIZED", description="No valid token")
@blp.alt_response(403, response="FORBIDDEN", description="The token does not publish for this network")
@blp.alt_response(404, response="NOT_FOUND", description="No such network")
def network_gaps(_args, code):
    """For the network's editors (publish:<network>): the notes in force that send people to a kind of
    contact point (any 24/7 contact point, say), each with the countries that have none."""
    return json_response(coverage.gaps(context(), code, caller()))


@blp.route("/networks/<spelling:code>/freshness")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"$ref": "#/components/schemas/Freshness"}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(401, response="UNAUTHORIZED", description="No valid token")
@blp.alt_response(403, response="FORBIDDEN", description="The token neither publishes for this network nor is admin")
@blp.alt_response(404, response="NOT_FOUND", description="No such network")
def network_freshness(_args, code):
    """For the network's editors (publish:<network>) and admins: how many of the contact points this node
    publishes for the network are confirmed, due, unanswered and bounced, and each of them, the least
    recently verified first (verification rounds: `registry verify run`)."""
    response = json_response(verification.freshness(context(), caller(), code))
    # It follows the verification requests (sent, reminded, bounced) as well as the records: the data
    # version does not see those, so neither the response cache nor a client may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


add_history_route(blp, item="/networks/<spelling:code>", record_type="network", id_param="code")
