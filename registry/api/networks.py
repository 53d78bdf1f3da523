"""Networks and their members."""

from __future__ import annotations

from registry.api import caller_tier, context
from registry.api.args import NoArgs, RegistryBlueprint
from registry.api.responses import json_response
from registry.services import networks

blp = RegistryBlueprint("networks", __name__, description="Cooperation networks and their member authorities.")

NETWORK = {"$ref": "#/components/schemas/Network"}



@blp.route("/networks")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": NETWORK}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_networks(_args):
    """Every network this node holds, with its members."""
    return json_response(networks.list_networks(context(), caller_tier()))


@blp.route("/networks/<code>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, NETWORK, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
def get_network(_args, code):
    """One network by code ("globe") or record id."""
    return json_response(networks.get_network(context(), code, caller_tier()))
