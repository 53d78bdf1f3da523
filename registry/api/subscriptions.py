"""Webhook subscriptions of partner systems (see registry.services.subscriptions): a client with
directory:read or directory:restricted manages its own; an admin sees and manages every client's."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller, context, requires
from registry.api.args import NoArgs, PlainString, QueryArgs, RegistryBlueprint, if_match_version
from registry.api.cache import never_cached
from registry.api.publishing import IF_MATCH, write_errors
from registry.api.responses import json_response, record_response
from registry.services import subscriptions

blp = RegistryBlueprint("subscriptions", __name__, description=(
    "Webhooks: be notified (thin, signed Standard Webhooks messages) when the directory changes."))

SCHEMAS = "#/components/schemas/Subscriptions/$defs/"
SUBSCRIPTION = {"$ref": SCHEMAS + "subscription"}
WITH_SECRET = {"$ref": SCHEMAS + "subscription_with_secret"}
ERRORS = [(400, "BAD_REQUEST", "Unknown query parameter or malformed JSON"),
          (401, "UNAUTHORIZED", "No valid access token"),
          (403, "FORBIDDEN", "The token lacks directory:read (or directory:restricted, or admin)")]
ITEM_ERRORS = [(404, "NOT_FOUND", "No such subscription, or another client's")]
WRITE_ERRORS = [(409, "CONFLICT", "Another subscription of the client sends the same notifications to that URL"),
                (412, "PRECONDITION_FAILED", "If-Match names another version than the current one"),
                (428, "PRECONDITION_REQUIRED", "If-Match missing")]
URL_REFUSED = (422, "UNPROCESSABLE_ENTITY", "A URL the outbound rules refuse (the problem says why), an unknown "
               "network, country or type, or an unknown field")


never_cached(blp)


def _values(description: str) -> ma.fields.List:
    return ma.fields.List(PlainString(max_length=200),
                          metadata={"description": description})


class Filters(QueryArgs):
    networks = _values("Only records of these networks (owner, member or role): codes, acronyms or names.")
    countries = _values("Only records of these countries: alpha-2, alpha-3 or names in any language.")
    types = _values("Only these record types: network, authority, contact_point, emergency_note, procedure.")


class NewSubscription(Filters):
    url = PlainString(required=True, max_length=subscriptions.MAX_URL_LENGTH,
                           metadata={"description": "Where to POST notifications: http(s), not a private address."})


class SubscriptionChange(Filters):
    url = PlainString(max_length=subscriptions.MAX_URL_LENGTH,
                           metadata={"description": "A new receiver (its failure count starts again)."})
    active = ma.fields.Boolean(metadata={"description": "true resumes a paused or disabled subscription from its "
                                                        "cursor; false pauses it."})


class DeliveriesArgs(QueryArgs):
    limit = ma.fields.Integer(load_default=50,
                              validate=ma.validate.Range(min=1, max=subscriptions.MAX_DELIVERIES_SHOWN),
                              metadata={"description": "Newest attempts returned."})


@blp.route("/subscriptions", methods=["POST"])
@requires("subscriptions:manage")
@blp.arguments(NewSubscription, location="json")
@blp.response(201, WITH_SECRET, content_type="application/json")
@write_errors(blp, [*ERRORS, URL_REFUSED, (409, "CONFLICT", "The client has this subscription already")])
def create(body):
    """Subscribe the calling client to changes.

    From now on, what arrives at this node and passes the filters at the client's tier is notified
    to `url`. The answer holds the signing secret: the only time it is shown."""
    created = subscriptions.create(context(), caller(), body["url"], body.get("networks", []),
                                   body.get("countries", []), body.get("types", []))
    return record_response(created, status=201)


@blp.route("/subscriptions", methods=["GET"])
@requires("subscriptions:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, {"type": "array", "items": SUBSCRIPTION}, content_type="application/json")
@write_errors(blp, ERRORS)
def list_subscriptions(_args):
    """The calling client's subscriptions (an admin's: every client's), never a secret."""
    return json_response(subscriptions.list_subscriptions(context(), caller()))


@blp.route("/subscriptions/<subscription_id:subscription_id>", methods=["GET"])
@requires("subscriptions:manage")
@blp.arguments(NoArgs, location="query")
@blp.response(200, SUBSCRIPTION, content_type="application/json")
@write_errors(blp, ERRORS + ITEM_ERRORS)
def read(_args, subscription_id):
    """One subscription, with its ETag for a PATCH or DELETE."""
    return record_response(subscriptions.read(context(), caller(), subscription_id))


@blp.route("/subscriptions/<subscription_id:subscription_id>", methods=["PATCH"])
@requires("subscriptions:manage")
@blp.arguments(SubscriptionChange, location="json")
@blp.doc(parameters=[IF_MATCH])
@blp.response(200, SUBSCRIPTION, content_type="application/json")
@write_errors(blp, [*ERRORS, *ITEM_ERRORS, *WRITE_ERRORS, URL_REFUSED])
def update(body, subscription_id):
    """Change, pause or resume a subscription.

    A new URL or filters; `active: false` pauses it, `active: true` resumes it (also after the
    deliverer disabled it: its failures start again at 0) from its cursor. A notification being
    retried is dropped; the next one covers everything after the cursor under the new settings."""
    return record_response(subscriptions.update(context(), caller(), subscription_id, body, if_match_version()))


@blp.route("/subscriptions/<subscription_id:subscription_id>", methods=["DELETE"])
@requires("subscriptions:manage")
@blp.doc(parameters=[IF_MATCH])
@blp.response(204)
@write_errors(blp, [*ERRORS, *ITEM_ERRORS, *WRITE_ERRORS[1:],
                    (409, "CONFLICT", "Never answered here (listed with every write of an item)")])
def delete(subscription_id):
    """Unsubscribe: the subscription and its delivery log are removed."""
    subscriptions.delete(context(), caller(), subscription_id, if_match_version())
    return "", 204


@blp.route("/subscriptions/<subscription_id:subscription_id>/rotate-secret", methods=["POST"])
@requires("subscriptions:manage")
@blp.response(200, WITH_SECRET, content_type="application/json")
@write_errors(blp, ERRORS + ITEM_ERRORS)
def rotate_secret(subscription_id):
    """Give a subscription a new signing secret.

    The answer holds it: the only time it is shown. For 24 hours notifications carry two signatures
    in `webhook-signature`, the new secret's and the previous one's, so the receiver can switch over."""
    return record_response(subscriptions.rotate_secret(context(), caller(), subscription_id))


@blp.route("/subscriptions/<subscription_id:subscription_id>/deliveries", methods=["GET"])
@requires("subscriptions:manage")
@blp.arguments(DeliveriesArgs, location="query")
@blp.response(200, {"type": "array", "items": {"$ref": SCHEMAS + "delivery"}}, content_type="application/json")
@write_errors(blp, ERRORS + ITEM_ERRORS)
def deliveries(args, subscription_id):
    """The delivery attempts, newest first: status, error, duration, attempt number, message id."""
    return json_response(subscriptions.deliveries(context(), caller(), subscription_id, args["limit"]))
