"""A per-process cache of successful GET answers.

Every answer depends only on the route and what it reads of the request (its path parameters, its
validated query arguments, the representation negotiated from Accept), the caller's scopes, the
data and the day (contact points and notes are "current" or "in force" relative to today). So that
is the key, and nothing else of the request: a query parameter the route does not read, a second
spelling of the same arguments, or an Accept header full of unknown types cannot make entries of
their own, and a request the route would refuse (an unknown parameter, a bad value) is never
looked up or kept.

The data version is the last arrival and the sum of the origins' change-log counters: every change
raises it, so an entry can never outlive the data it was built from, and no invalidation is needed,
also across worker processes. With a search index that follows the change log after commit, the
index's own position is part of the key too. On SQLite the data version is read again only after some
connection has committed (`Database.until_next_commit`), so a hit runs no SQL statement; on PostgreSQL it
costs one query. Answers that depend on anything else (administration)
are no-store and never kept.

The cache is bounded in entries (REGISTRY_RESPONSE_CACHE_SIZE) and in bytes
(REGISTRY_RESPONSE_CACHE_BYTES), least recently used first out; an answer larger than a sixteenth of
the byte bound is not kept.
"""

from __future__ import annotations

from datetime import date

import orjson
from cachetools import LRUCache
from flask import Flask, Response, current_app, request

from registry import services
from registry.api import caller, context
from registry.api.args import RegistryBlueprint
from registry.api.responses import offered, preferred
from registry.exports import NotAcceptable
from registry.services.records import data_version

KEY = "registry.cache_key"
# "hit" or "miss" on the environ of a cacheable request, for the metrics.
CACHE_OUTCOME = "registry.cache_outcome"


class ResponseCache(LRUCache):
    """LRU entries of (body, headers), bounded by their bytes and by their number."""

    def __init__(self, max_entries: int, max_bytes: int):
        super().__init__(maxsize=max_bytes, getsizeof=_size)
        self.max_entries = max_entries

    def remember(self, key, body: bytes, headers: list[tuple[str, str]]) -> None:
        entry = (body, headers)
        if _size(entry) > self.maxsize // 16:
            return
        self[key] = entry
        while len(self) > self.max_entries:
            self.popitem()


def _size(entry) -> int:
    body, headers = entry
    return len(body) + sum(len(name) + len(value) for name, value in headers) + 200


def init_cache(app: Flask, max_entries: int, max_bytes: int) -> None:
    if max_entries <= 0 or max_bytes <= 0:
        return
    entries = ResponseCache(max_entries, max_bytes)
    app.extensions["registry_response_cache"] = entries

    @app.before_request
    def answer_from_cache():
        if request.method != "GET" or not request.path.startswith("/api/v1/"):
            return None
        cache_key = key()
        if cache_key is None:
            return None
        request.environ[KEY] = cache_key
        cached = entries.get(cache_key)
        request.environ[CACHE_OUTCOME] = "miss" if cached is None else "hit"
        if cached is None:
            return None
        body, headers = cached
        return Response(body, headers=headers).make_conditional(request)

    @app.after_request
    def remember(response: Response):
        cache_key = request.environ.get(KEY)
        if (cache_key is not None and response.status_code == 200 and not response.is_streamed
                and "no-store" not in response.headers.get("Cache-Control", "")):
            entries.remember(cache_key, response.get_data(), list(response.headers.items()))
        return response


def key() -> tuple | None:
    """What the answer to this request depends on, or None when the route would refuse the request."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return None
    arguments = route_arguments(view)
    if arguments is None:
        return None
    try:
        media_type = preferred(offered(view))
    except NotAcceptable:
        return None
    ctx = context()
    # An index that follows the change log after commit (Elasticsearch) may lag the data: its
    # position is part of the key, so an answer built while it lagged is not served after.
    # Answers that say who answers the phone now hold for the minute they were computed for.
    moment = services.now() if getattr(view, CLOCKED, False) else date.today()
    return (request.endpoint, tuple(sorted((request.view_args or {}).items())), arguments, media_type,
            caller().cache_key, data_version(ctx), ctx.search.indexed_version(), moment)


CLOCKED = "_registry_clocked"


def clocked(view):
    """Mark a route whose answer depends on the time of day (reachability), not only on the day."""
    setattr(view, CLOCKED, True)
    return view


def route_arguments(view) -> bytes | None:
    """The route's query arguments as its parser validates them, in one canonical form; None when it
    would refuse them. A route that declares no query arguments reads none: its key has none."""
    declared = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    schemas = [p["schema"] for p in declared if p["in"] == "query"]
    parsed = {}
    for schema in schemas:
        try:
            parsed |= RegistryBlueprint.ARGUMENTS_PARSER.parse(schema, request, location="query")
        except Exception:  # the route will answer the problem itself; nothing to look up or keep
            return None
    return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def never_cached(blueprint) -> None:
    """Mark the answers of `blueprint` no-store: they depend on more than the directory's data version
    (clients, keys, audit, sync state, subscriptions), so neither this cache nor a client may keep them."""
    @blueprint.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response
