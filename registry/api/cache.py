"""A per-process cache of successful GET answers.

Every answer depends only on the request (its Accept included), the caller's scopes, the data and
the day (contact points and notes are "current" or "in force" relative to today). The data version
is the last arrival and the sum of the origins' change-log counters: every change raises it, so an
entry can never outlive the data it was built from, and no invalidation is needed, also across
worker processes. With a search index that follows the change log after commit, the index's own
position is part of the key too. Answers that depend on anything else (administration) are
no-store and never kept.
"""

from __future__ import annotations

from datetime import date

from cachetools import LRUCache
from flask import Flask, Response, request

from registry.api import caller, context
from registry.services.records import data_version


def init_cache(app: Flask, size: int) -> None:
    if size <= 0:
        return
    entries: LRUCache = LRUCache(maxsize=size)

    def key():
        ctx = context()
        # An index that follows the change log after commit (Elasticsearch) may lag the data: its
        # position is part of the key, so an answer built while it lagged is not served after.
        # Accept too: some routes answer JSON, CSV, vCard or JSON-LD by it (registry.api.responses.negotiated).
        return (request.full_path, request.headers.get("Accept", ""), caller().cache_key, data_version(ctx),
                ctx.search.indexed_version(), date.today())

    @app.before_request
    def answer_from_cache():
        if request.method != "GET" or not request.path.startswith("/api/v1/"):
            return None
        request.environ["registry.cache_key"] = cache_key = key()
        cached = entries.get(cache_key)
        if cached is None:
            return None
        body, headers = cached
        return Response(body, headers=headers).make_conditional(request)

    @app.after_request
    def remember(response: Response):
        cache_key = request.environ.get("registry.cache_key")
        if (cache_key is not None and response.status_code == 200 and not response.is_streamed
                and "no-store" not in response.headers.get("Cache-Control", "")):
            entries[cache_key] = (response.get_data(), list(response.headers.items()))
        return response


def never_cached(blueprint) -> None:
    """Mark the answers of `blueprint` no-store: they depend on more than the directory's data version
    (clients, keys, audit, sync state, subscriptions), so neither this cache nor a client may keep them."""
    @blueprint.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response
