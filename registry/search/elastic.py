"""The Elasticsearch backend (also OpenSearch-compatible servers), through the official client.

The index follows the change log, which is the transactional outbox: every write appends to it in
the writing transaction, and after that transaction commits the indexer reads each origin's
entries past its cursor (`search_cursors`), bulk-indexes the documents they touch and moves the
cursors. A failed catch-up loses nothing: the entries stay and the next one (after the next write,
or `registry reindex`) takes them. `rebuild` builds a new index beside the live one and swaps the
alias in one step, so searches never see a half-built index.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from elastic_transport import TransportError, Urllib3HttpNode
from elasticsearch import Elasticsearch, NotFoundError, helpers
from sqlalchemy import delete, event, func, select

from registry import models
from registry.db import CHANGED_RECORDS, id_chunks
from registry.errors import SearchUnavailable
from registry.progress import Progress, silent
from registry.record_types import RECORD_TYPES
from registry.search import MARK_END, MARK_START, TYPE_ORDER, Hit, SearchPage, SearchRequest
from registry.search.documents import (
    APPLIES_TO_ALL_WHEN_ABSENT,
    COUNTED_FACETS,
    FACETS,
    SEARCHED_TYPES,
    SearchDocument,
    build,
    dependents,
)
from registry.visibility import Tier

log = logging.getLogger(__name__)

FIELDS = ("names", "text_public", "text_partner", "text_restricted")
BOOSTS = {"names": 10, "text_public": 2, "text_partner": 1, "text_restricted": 1}
CATCH_UP_BATCH = 500
# Records read and indexed at a time by a rebuild (its progress is told after each).
REBUILD_CHUNK = 5000

# Words are split on whitespace, punctuation and symbols ("a.ibraimov@example.org" is four words),
# lowercased and stripped of accents: the words `text.words` makes of a query and the SQL backends
# index. Punctuation is replaced before the standard tokenizer rather than split by a char_group
# tokenizer, which osmem-server ignores.
INDEX_SETTINGS = {
    "number_of_shards": 1,
    "analysis": {
        "char_filter": {"punctuation": {"type": "pattern_replace", "pattern": "[\\p{Punct}\\p{S}]",
                                        "replacement": " "}},
        "analyzer": {"folded": {"type": "custom", "char_filter": ["punctuation"], "tokenizer": "standard",
                                "filter": ["lowercase", "asciifolding"]}},
    },
}
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        **{name: {"type": "text", "analyzer": "folded"} for name in FIELDS},
        **{name: {"type": "keyword"} for name in ("id", "type", "origin", "country", "authority_id", "kind",
                                                   "sort_names", *FACETS)},
        "min_tier": {"type": "integer"},
        "type_order": {"type": "integer"},
        "valid_from": {"type": "date"},
        "valid_until": {"type": "date"},
    },
}


class PlainJsonNode(Urllib3HttpNode):
    """Sends `application/json` where the client would send Elasticsearch's versioned media type
    (`application/vnd.elasticsearch+json; compatible-with=9`): Elasticsearch accepts both, and
    OpenSearch-compatible servers only the plain one."""

    VERSIONED = re.compile(r"application/vnd\.elasticsearch\+([\w-]+); compatible-with=\d+")

    def perform_request(self, method, target, body=None, headers=None, **kwargs):
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = self.VERSIONED.sub(r"application/\1", headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


class ElasticsearchSearch:
    name = "elasticsearch"

    def __init__(self, url: str, alias: str, db, timeout: float = 10.0):
        self.alias = alias
        self.db = db
        self.client = Elasticsearch(url, node_class=PlainJsonNode, request_timeout=timeout, max_retries=2,
                                    retry_on_timeout=True)
        # After any transaction that wrote records, bring the index up to date.
        event.listen(db.writer, "after_commit", self._after_commit)

    # -- indexing ----------------------------------------------------------------------------------

    def _after_commit(self, session) -> None:
        if not session.info.pop(CHANGED_RECORDS, False):
            return
        try:
            self.catch_up()
        except Exception:  # the change log keeps what was not indexed; the next catch-up takes it
            log.exception("search index catch-up failed; it will be retried after the next write")

    def catch_up(self) -> int:
        if not self.client.indices.exists_alias(name=self.alias):
            return 0
        indexed = 0
        while True:
            with self.db.read() as session:
                batch = self._pending(session)
                if not batch:
                    return indexed
                touched: dict[str, str] = {}
                written = []
                for entry in batch:
                    touched[entry.record_id] = entry.type
                    row = session.get(RECORD_TYPES[entry.type].model, entry.record_id)
                    if row is not None:
                        former = _former_members(session, entry) if entry.type == "network" else set()
                        written.append((entry.type, row, former))
                touched.update({i: t for t, i in dependents(session, written)})
                actions = list(self._actions(session, touched))
                cursors = {}
                for entry in batch:
                    cursors[entry.origin] = max(cursors.get(entry.origin, 0), entry.seq)
            if actions:
                # Any failed item raises before the cursors move, so nothing is skipped silently;
                # deleting a document the index never had (404) is not a failure.
                helpers.bulk(self.client, actions, refresh="wait_for", ignore_status=(404,))
            with self.db.write() as session:
                for origin, seq in cursors.items():
                    _move_cursor(session, self.alias, origin, seq)
            indexed += len(actions)

    def _behind(self, session) -> dict[str, tuple[int, int]]:
        """origin -> (indexed up to, last seq) for every origin the index is behind on."""
        cursors = dict(session.execute(select(models.SearchCursor.origin, models.SearchCursor.seq)
                                       .where(models.SearchCursor.index == self.alias)).all())
        positions = session.execute(select(models.OriginSequence.origin, models.OriginSequence.last_seq))
        return {origin: (cursors.get(origin, 0), last) for origin, last in positions if last > cursors.get(origin, 0)}

    def _pending(self, session) -> list:
        entries: list = []
        log_entry = models.ChangeLogEntry
        for origin, (done, last) in sorted(self._behind(session).items()):
            logged = session.scalars(select(log_entry).where(log_entry.origin == origin, log_entry.seq > done)
                                     .order_by(log_entry.seq).limit(CATCH_UP_BATCH - len(entries))).all()
            first_logged = logged[0].seq if logged else last + 1
            if first_logged > done + 1:
                # Copies that came in with a snapshot have no log entries below its as_of_seq: their
                # rows carry the seq of their version, so they are indexed from the rows.
                entries += _copies_between(session, origin, done, first_logged, CATCH_UP_BATCH - len(entries))
                if len(entries) >= CATCH_UP_BATCH:
                    break
            entries += logged[:CATCH_UP_BATCH - len(entries)]
            if len(entries) >= CATCH_UP_BATCH:
                break
        return entries

    def _actions(self, session, touched: dict[str, str], index: str | None = None):
        for record_id, record_type in touched.items():
            if record_type not in SEARCHED_TYPES:
                continue
            row = session.get(RECORD_TYPES[record_type].model, record_id)
            document = build(session, record_type, row) if row is not None else None
            if document is None:
                yield {"_op_type": "delete", "_index": index or self.alias, "_id": record_id}
            else:
                yield {"_op_type": "index", "_index": index or self.alias, "_id": record_id,
                       "_source": _source(document)}

    def rebuild(self, progress: Progress = silent) -> int:
        index = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=index, settings=INDEX_SETTINGS, mappings=MAPPINGS)
        with self.db.read() as session:
            # The change log position the new index starts from; later changes are caught up.
            sequence = models.OriginSequence
            positions = dict(session.execute(select(sequence.origin, sequence.last_seq)).all())
            count = 0
            live = {t: session.scalars(select(RECORD_TYPES[t].model.id).where(RECORD_TYPES[t].model.deleted.is_(False))
                                       ).all() for t in SEARCHED_TYPES}
            total = sum(map(len, live.values()))
            for record_type, ids in live.items():
                for chunk in id_chunks(ids, REBUILD_CHUNK):
                    actions = self._actions(session, dict.fromkeys(chunk, record_type), index=index)
                    done, _ = helpers.bulk(self.client, actions, chunk_size=1000)
                    count += done
                    progress(count, total)
        self.client.indices.refresh(index=index)
        current = list(self.client.indices.get_alias(name=self.alias)) if self.client.indices.exists_alias(
            name=self.alias) else []
        self.client.indices.update_aliases(actions=[{"remove": {"index": old, "alias": self.alias}} for old in current]
                                           + [{"add": {"index": index, "alias": self.alias}}])
        for old in current:
            self.client.indices.delete(index=old, ignore_unavailable=True)
        with self.db.write() as session:
            session.execute(delete(models.SearchCursor).where(models.SearchCursor.index == self.alias))
            for origin, seq in positions.items():
                _move_cursor(session, self.alias, origin, seq)
        self.catch_up()
        return count

    def indexed_version(self) -> int:
        with self.db.read() as session:
            cursor = models.SearchCursor
            return session.scalar(select(func.coalesce(func.sum(cursor.seq), 0)).where(cursor.index == self.alias))

    def status(self) -> dict:
        with self.db.read() as session:
            pending = sum(last - done for done, last in self._behind(session).values())
        try:
            indices = list(self.client.indices.get_alias(name=self.alias))
            documents = self.client.count(index=self.alias)["count"]
        except NotFoundError:
            indices, documents = [], None
        return {"backend": self.name, "alias": self.alias, "indices": indices, "documents": documents,
                "pending": pending}

    # -- searching ---------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchPage:
        fields = [f"{name}^{BOOSTS[name]}" for name in FIELDS[:2 + int(request.tier)]]
        required = [_word_query(word, fields) for word in request.query.required]
        optional = [_word_query(word, fields) for word in request.query.optional]
        query: dict = {"filter": _filters(request)}
        if required:
            query["must"] = required
        if optional:
            if request.query.one_optional_needed:
                query["must"] = [{"bool": {"should": optional, "minimum_should_match": 1}}]
            else:
                query["should"] = optional
        body = {
            "query": {"bool": query},
            "from": request.offset,
            "size": request.limit,
            "track_total_hits": True,
            "sort": [{"_score": "desc"}, {"type_order": "asc"}, {"sort_names": "asc"}, {"id": "asc"}],
            "_source": ["id", "type"],
            "aggs": {"type": {"terms": {"field": "type", "size": 10}}},
        }
        if request.with_facets:
            body["aggs"] |= {"country": {"terms": {"field": "country", "size": 300}},
                             **{f: {"terms": {"field": f, "size": 500}} for f in COUNTED_FACETS}}
        if request.with_snippets and (required or optional):
            # Text before names (the name is the result's title); only the fields of the caller's tier.
            visible = list(FIELDS[1:2 + int(request.tier)]) + ["names"]
            body["highlight"] = {"pre_tags": [MARK_START], "post_tags": [MARK_END], "order": "score",
                                 "fields": {name: {"number_of_fragments": 1, "fragment_size": 120}
                                            for name in visible}}
        try:
            answer = self.client.search(index=self.alias, **body)
        except NotFoundError:
            raise SearchUnavailable("The search index has not been built yet: run `registry reindex`.") from None
        except TransportError as exc:
            raise SearchUnavailable(f"The search server is not answering ({type(exc).__name__}); "
                                    "try again shortly.") from None
        hits = []
        for hit in answer["hits"]["hits"]:
            snippet = None
            for name in body.get("highlight", {}).get("fields", {}):
                if hit.get("highlight", {}).get(name):
                    snippet = hit["highlight"][name][0]
                    break
            hits.append(Hit(hit["_source"]["id"], hit["_source"]["type"], round(float(hit["_score"] or 0.0), 6),
                            snippet))
        facets = {name: {bucket["key"]: bucket["doc_count"] for bucket in aggregation["buckets"]}
                  for name, aggregation in answer.get("aggregations", {}).items()}
        total = sum(facets["type"].values())
        return SearchPage(hits, total, facets if request.with_facets else {})


def _source(document: SearchDocument) -> dict:
    source = {
        "id": document.id, "type": document.type, "origin": document.origin, "min_tier": int(document.min_tier),
        "country": document.country, "authority_id": document.authority_id, "kind": document.kind,
        "valid_from": document.valid_from.isoformat() if document.valid_from else None,
        "valid_until": document.valid_until.isoformat() if document.valid_until else None,
        "names": document.names, "type_order": TYPE_ORDER[document.type], "sort_names": document.sort_name,
        **{name: document.text[tier] for name, tier in zip(FIELDS[1:], Tier, strict=True)},
    }
    for facet in FACETS:
        source[facet] = sorted(value for name, value in document.facets if name == facet)
    return source


def _word_query(word, fields: list[str]) -> dict:
    """One word, any of its forms, in any of the fields: typos allowed by its length, first letter exact."""
    return {"bool": {"minimum_should_match": 1, "should": [
        {"multi_match": {"query": form, "fields": fields, "fuzziness": word.edits, "prefix_length": 1}}
        for form in word.forms]}}


def _filters(request: SearchRequest) -> list[dict]:
    filters = [{"terms": {"type": list(request.types)}}, {"range": {"min_tier": {"lte": int(request.tier)}}}]
    if request.on is not None:
        on = request.on.isoformat()
        filters += [
            {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "valid_from"}}}},
                                 {"range": {"valid_from": {"lte": on}}}], "minimum_should_match": 1}},
            {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "valid_until"}}}},
                                 {"range": {"valid_until": {"gte": on}}}], "minimum_should_match": 1}},
        ]
    if request.country:
        filters.append({"term": {"country": request.country}})
    if request.kind:
        filters.append({"term": {"kind": request.kind}})
    for facet, values in sorted(request.facets.items()):
        clause = {"terms": {facet: sorted(values)}}
        if facet in APPLIES_TO_ALL_WHEN_ABSENT:
            clause = {"bool": {"should": [clause, {"bool": {"must_not": {"exists": {"field": facet}}}}],
                               "minimum_should_match": 1}}
        filters.append(clause)
    return filters


@dataclass(frozen=True)
class _CopyChange:
    """A copy's current version, standing in for the change-log entry a snapshot did not bring."""

    origin: str
    seq: int
    record_id: str
    type: str


def _copies_between(session, origin: str, done: int, before: int, limit: int) -> list[_CopyChange]:
    """The origin's records whose current version has a seq in (done, before), in seq order."""
    changes = []
    for record_type in RECORD_TYPES.values():
        model = record_type.model
        changes += [_CopyChange(origin, seq, record_id, record_type.name) for record_id, seq in session.execute(
            select(model.id, model.seq).where(model.origin == origin, model.seq > done, model.seq < before)
            .order_by(model.seq).limit(limit))]
    return sorted(changes, key=lambda change: change.seq)[:limit]


def _former_members(session, entry) -> set[str]:
    """The members a network had before this change-log entry (their documents list the network)."""
    log_entry = models.ChangeLogEntry
    previous = session.scalar(select(log_entry.body).where(log_entry.origin == entry.origin,
                                                           log_entry.record_id == entry.record_id,
                                                           log_entry.seq < entry.seq)
                              .order_by(log_entry.seq.desc()).limit(1))
    return {m["authority_id"] for m in (previous or {}).get("members", [])}


def _move_cursor(session, index: str, origin: str, seq: int) -> None:
    cursor = session.get(models.SearchCursor, (index, origin))
    if cursor is None:
        session.add(models.SearchCursor(index=index, origin=origin, seq=seq))
    else:
        cursor.seq = max(cursor.seq, seq)
