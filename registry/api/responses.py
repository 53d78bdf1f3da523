"""Successful answers: JSON with a strong ETag over the body, 304 on a matching If-None-Match,
and pagination headers for lists; exports (CSV, vCard, JSON-LD), and the choice between
representations by Accept."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import dump_options_header

from registry.exports import JSON, Export, NotAcceptable
from registry.services import Page, PageResult


def json_response(data, status: int = 200, headers=None) -> Response:
    body = orjson.dumps(data)
    response = Response(body, status=status, headers=headers, mimetype="application/json")
    response.set_etag(hashlib.blake2b(body, digest_size=16).hexdigest())
    return response.make_conditional(request)


def record_response(record: dict, status: int = 200) -> Response:
    """One record. Its ETag starts with the version, which is what If-Match on a write is checked
    against; the hash after it tells representations of one version (per tier) apart."""
    body = orjson.dumps(record)
    response = Response(body, status=status, mimetype="application/json")
    response.set_etag(f"{record['version']}-{hashlib.blake2b(body, digest_size=8).hexdigest()}")
    if status == 201:
        response.headers["Location"] = f"{public_url(request.path).rstrip('/')}/{record['id']}"
    # Writes are audited with the record they touched (known only now for a POST).
    request.environ["registry.record_id"] = record["id"]
    return response.make_conditional(request) if request.method in ("GET", "HEAD") else response


def public_url(path: str) -> str:
    """An absolute URL on this node, from REGISTRY_PUBLIC_URL: never from the request's Host header,
    which the caller chooses (and a cached answer would hand the choice on to every later caller)."""
    return current_app.extensions["registry"].settings.public_url + path


def page_links(page: Page, total: int) -> dict[str, str]:
    """X-Total-Count and the neighbouring pages (RFC 8288): the same on every page-numbered answer."""
    last = max(1, -(-total // page.size))
    links = []

    def link(number, rel):
        args = request.args.to_dict() | {"page": number, "page_size": page.size}
        links.append(f'<{public_url(request.path)}?{urlencode(args)}>; rel="{rel}"')

    link(1, "first")
    if page.number > 1:
        link(min(page.number - 1, last), "prev")
    if page.number < last:
        link(page.number + 1, "next")
    link(last, "last")
    return {"X-Total-Count": str(total), "Link": ", ".join(links)}


def page_response(result: PageResult) -> Response:
    """The page's items as a JSON array; the total and neighbouring pages in headers."""
    return json_response(result.items, headers=page_links(result.page, result.total))


def answer_response(answer: dict, page: Page) -> Response:
    """A lookup or search answer (an object that says how it read the question, with `total`), paged
    like the lists: the same headers."""
    return json_response(answer, headers=page_links(page, answer["total"]))


def export_response(export: Export) -> Response:
    """An export: a download when it has a file name; streamed as it is produced, or whole with an ETag."""
    headers = {}
    if export.filename:
        headers["Content-Disposition"] = dump_options_header("attachment", {"filename": export.filename})
    if export.total is not None:
        headers["X-Total-Count"] = str(export.total)
    if export.streamed:
        return Response(export.body, headers=headers, content_type=export.media_type)
    body = export.body.encode()
    response = Response(body, headers=headers, content_type=export.media_type)
    response.set_etag(hashlib.blake2b(body, digest_size=16).hexdigest())
    return response.make_conditional(request)


def also_as(blueprint, descriptions: dict[str, str]):
    """Declare the representations a route answers with besides JSON (media type -> description):
    documented in the OpenAPI document, chosen among by `negotiated`, and the choice the response
    cache keys answers by."""
    document = blueprint.doc(**alternatives(descriptions))

    def decorate(view):
        view.offers = (JSON, *descriptions)
        return document(view)

    return decorate


def offered(view) -> tuple[str, ...]:
    """The representations `view` declared (`also_as`); a route that declared none answers JSON only."""
    return getattr(view, "offers", (JSON,))


def negotiated(representations: dict[str, Callable[[], Response]]) -> Response:
    """The representation the request's Accept prefers among the route's declared ones (media
    type -> how to answer with it), by quality then specificity; the first one (JSON) without
    Accept, for */* and on a tie. An Accept that excludes them all is a 406 that lists them."""
    declared = offered(current_app.view_functions[request.endpoint])
    if tuple(representations) != declared:
        raise RuntimeError(f"{request.endpoint} answers {tuple(representations)} but declares {declared}")
    response = representations[preferred(list(declared))]()
    response.vary.add("Accept")
    return response


def preferred(offers) -> str:
    accept = request.accept_mimetypes
    if not accept:
        return offers[0]
    # Parameters (text/vcard;version=4.0, text/csv;header=present) name no other representation.
    plain = MIMEAccept([(value.split(";")[0].strip(), quality) for value, quality in accept])
    best = plain.best_match(list(offers))
    if best is None:
        raise NotAcceptable(list(offers))
    return best


def alternatives(descriptions: dict[str, str]) -> dict:
    """OpenAPI for the representations a route serves besides JSON, by media type (for `blp.doc`)."""
    content = {media_type: {"schema": {"type": "object" if media_type.endswith("json") else "string",
                                       "description": description}}
               for media_type, description in descriptions.items()}
    return {"responses": {200: {"content": content}}}
