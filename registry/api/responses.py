"""Successful answers: JSON with a strong ETag over the body, 304 on a matching If-None-Match,
and pagination headers for lists."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import orjson
from flask import Response, request

from registry.services import PageResult


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
        response.headers["Location"] = request.base_url.rstrip("/") + "/" + record["id"]
    # Writes are audited with the record they touched (known only now for a POST).
    request.environ["registry.record_id"] = record["id"]
    return response.make_conditional(request) if request.method in ("GET", "HEAD") else response


def page_response(result: PageResult) -> Response:
    """The page's items as a JSON array; the total and neighbouring pages in headers (RFC 8288)."""
    page = result.page
    last = max(1, -(-result.total // page.size))
    links = []

    def link(number, rel):
        args = request.args.to_dict() | {"page": number, "page_size": page.size}
        links.append(f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"')

    link(1, "first")
    if page.number > 1:
        link(min(page.number - 1, last), "prev")
    if page.number < last:
        link(page.number + 1, "next")
    link(last, "last")
    headers = {"X-Total-Count": str(result.total), "Link": ", ".join(links)}
    return json_response(result.items, headers=headers)
