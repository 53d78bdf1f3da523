"""The SQL search index: SQLite FTS5 and PostgreSQL full text, in the registry's own database.

`index_records` is called by the single write path inside the writing transaction, so the index is
never behind the records. Both engines share the portable tables (`search_documents`,
`search_facets`) and the query shape; they differ in how words are matched and ranked:

- SQLite: an FTS5 table (unicode61 tokenizer, diacritics removed) whose columns are the names,
  the text each tier adds, and `filters` (internal words for tier, type and country); a caller's
  words are matched against the columns of their tier with a column filter, ranked by bm25 with
  names weighted highest.
- PostgreSQL: one tsvector per document whose weights are the tiers (A names, B public text,
  C partner, D restricted), built with the `registry_folded` configuration (simple + unaccent); a
  caller's words are restricted to their tier's weights (`'word':ABC`) and ranked by ts_rank.

Typo tolerance: a word the caller's tier cannot find gets the indexed words within its allowed edit
distance (`text.allowed_edits`) and with the same first letter as alternatives, found in FTS5's
vocabulary (fts5vocab) or PostgreSQL's `search_terms` table through a pg_trgm index, and kept only
when the caller's tier can find them (both vocabularies span every tier).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import orjson
from rapidfuzz.distance import Levenshtein
from sqlalchemy import (
    Connection,
    Date,
    Float,
    Integer,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from registry import models
from registry.db import id_chunks
from registry.migrations import extension_schema
from registry.progress import Progress, silent
from registry.record_types import RECORD_TYPES
from registry.search import MARK_END, MARK_START, TYPE_ORDER, Hit, SearchPage, SearchRequest
from registry.search.documents import (
    APPLIES_TO_ALL_WHEN_ABSENT,
    COUNTED_FACETS,
    SEARCHED_TYPES,
    SearchDocument,
    build,
    dependents,
    know_member_networks,
)
from registry.search.text import Word, words
from registry.visibility import Tier

D = models.SearchDocumentRow.__table__
F = models.SearchFacet.__table__
TEXT_COLUMNS = ("text_public", "text_partner", "text_restricted")
# Most typo corrections tried per word, closest first, out of at most this many candidates checked.
MAX_CORRECTIONS = 8
MAX_CANDIDATES_CHECKED = 32
REBUILD_BATCH = 1000


# -- writing ---------------------------------------------------------------------------------------

@dataclass
class Indexing:
    """The records a batch of writes stored, whose documents, and those of the records built from them,
    are written once the batch is done (`index_records`): each document is built once, from what the
    transaction holds by then, whatever order the batch wrote its records in."""

    # (type, row, the ids of the authorities that were members before, for a network) in write order
    written: list[tuple[str, object, set[str]]] = field(default_factory=list)
    # ids whose row was stored for the first time: they have no document yet
    fresh: set[str] = field(default_factory=set)

    def add(self, record_type: str, row, former_members: set[str] = frozenset(), first: bool = False) -> None:
        if first:
            self.fresh.add(row.id)
        self.written.append((record_type, row, former_members))


def index_records(session: Session, indexing: Indexing) -> None:
    """Bring the documents of the written rows, and of the records whose documents draw on them, up to date."""
    targets = {row.id: (record_type, row) for record_type, row, _ in indexing.written
               if record_type in SEARCHED_TYPES}
    for other_type, other_id in dependents(session, indexing.written):
        if other_id not in targets:
            targets[other_id] = (other_type, session.get(RECORD_TYPES[other_type].model, other_id))
    know_member_networks(session, [i for i, (t, row) in targets.items() if t == "authority" and row is not None])
    _write_documents(session, {i: build(session, t, row) if row is not None else None
                               for i, (t, row) in targets.items()}, fresh=indexing.fresh)


# The statements of `_write_documents`, built once: they run for every batch written.
_DOCUMENT_KEYS = select(D.c.id, D.c.key).where(D.c.id.in_(bindparam("ids")))
_DELETE_FACETS = delete(F).where(F.c.key == bindparam("key"))
_DELETE_FTS = text("DELETE FROM search_fts WHERE rowid = :key")
_DELETE_DOCUMENT = delete(D).where(D.c.key == bindparam("key"))
# In the order of the documents given, so that each key goes with its document.
_INSERT_DOCUMENT = insert(D).returning(D.c.key, sort_by_parameter_order=True)
_UPDATE_DOCUMENT = update(D).where(D.c.key == bindparam("document_key"))
_INSERT_FACETS = insert(F)
_INSERT_FTS = text("INSERT INTO search_fts (rowid, names, text_public, text_partner, text_restricted, filters) "
                   "VALUES (:key, :names, :public, :partner, :restricted, :filters)")
_UPDATE_VECTOR = text(
    "UPDATE search_documents SET search_vector = "
    "setweight(to_tsvector('registry_folded', :a), 'A') || setweight(to_tsvector('registry_folded', :b), 'B')"
    " || setweight(to_tsvector('registry_folded', :c), 'C') || setweight(to_tsvector('registry_folded', :d), 'D')"
    " || array_to_tsvector(CAST(:filters AS text[])) WHERE key = :key")
_INSERT_TERMS = text("INSERT INTO search_terms (term) SELECT unnest(CAST(:terms AS text[])) ON CONFLICT DO NOTHING")


def _write_documents(session: Session, documents: dict[str, SearchDocument | None], fresh: set[str]) -> None:
    """Replace the documents of the ids given (None: the record has none any more), a few statements for
    all of them; `fresh` ids have none yet."""
    sqlite = session.bind.dialect.name == "sqlite"
    keys: dict[str, int] = {}
    held = [i for i in documents if i not in fresh]
    for chunk in id_chunks(held):
        keys |= dict(session.execute(_DOCUMENT_KEYS, {"ids": chunk}).all())
    if keys:
        replaced = [{"key": key} for key in keys.values()]
        session.execute(_DELETE_FACETS, replaced)
        if sqlite:
            session.execute(_DELETE_FTS, replaced)
    gone = [{"key": keys[i]} for i, document in documents.items() if document is None and i in keys]
    if gone:
        session.execute(_DELETE_DOCUMENT, gone)
    kept = [(keys[i], d) for i, d in documents.items() if d is not None and i in keys]
    if kept:
        session.execute(_UPDATE_DOCUMENT, [{"document_key": key, **_columns(d)} for key, d in kept])
    new = [d for i, d in documents.items() if d is not None and i not in keys]
    if new:
        kept += zip(session.execute(_INSERT_DOCUMENT, [_columns(d) for d in new]).scalars().all(), new, strict=True)
    if not kept:
        return
    facets = [{"key": key, "facet": f, "value": v} for key, d in kept for f, v in sorted(d.facets)]
    if facets:
        session.execute(_INSERT_FACETS, facets)
    texts = [(key, d, [d.names, *(d.text[t] for t in Tier)]) for key, d in kept]
    if sqlite:
        session.execute(_INSERT_FTS, [{"key": key,
                                       "filters": " ".join(SqliteSearch.FILTER + w for w in filter_words(d)),
                                       **dict(zip(("names", "public", "partner", "restricted"), columns, strict=True))}
                                      for key, d, columns in texts])
        return
    # The vector is built from folded words, exactly the words queries are made of.
    folded = [(key, [" ".join(words(column)) for column in columns]) for key, _d, columns in texts]
    filters = {key: [PostgresSearch.FILTER + w for w in filter_words(d)] for key, d, _columns in texts}
    session.execute(_UPDATE_VECTOR, [{"key": key, "filters": filters[key], **dict(zip("abcd", columns, strict=True))}
                                     for key, columns in folded])
    vocabulary = sorted({w for _key, columns in folded for column in columns for w in column.split()})
    session.execute(_INSERT_TERMS, {"terms": vocabulary})


def _columns(document: SearchDocument) -> dict:
    return {
        "id": document.id, "type": document.type, "origin": document.origin, "min_tier": int(document.min_tier),
        "country": document.country, "authority_id": document.authority_id, "kind": document.kind,
        "valid_from": document.valid_from, "valid_until": document.valid_until, "names": document.names,
        "sort_name": document.sort_name, "facet_values": document.facet_values,
        **{column: document.text[tier] for column, tier in zip(TEXT_COLUMNS, Tier, strict=True)},
    }


def rebuild_documents(db, progress: Progress = silent) -> int:
    """Rebuild the SQL index of every live record in one transaction; the number of documents."""
    count = done = 0
    with db.write() as session:
        sqlite = session.bind.dialect.name == "sqlite"
        session.execute(delete(F))
        session.execute(delete(D))
        session.execute(text("DELETE FROM search_fts" if sqlite else "TRUNCATE search_terms"))
        live = {t: session.scalars(select(RECORD_TYPES[t].model.id).where(RECORD_TYPES[t].model.deleted.is_(False))
                                   .order_by(RECORD_TYPES[t].model.id)).all() for t in SEARCHED_TYPES}
        total = sum(map(len, live.values()))
        for record_type, ids in live.items():
            model = RECORD_TYPES[record_type].model
            for chunk in id_chunks(ids, REBUILD_BATCH):
                rows = session.scalars(select(model).where(model.id.in_(chunk))).all()
                know_member_networks(session, [row.id for row in rows] if record_type == "authority" else [])
                documents = {row.id: build(session, record_type, row) for row in rows}
                _write_documents(session, documents, fresh=set(documents))
                count += sum(document is not None for document in documents.values())
                session.expunge_all()
                done += len(chunk)
                progress(done, total)
    return count


def rebuild_if_empty(db) -> int | None:
    """After an upgrade: build the index when records exist but no document does (None: nothing to do)."""
    with db.read() as session:
        if session.scalar(select(D.c.key).limit(1)) is not None:
            return None
        if not any(session.scalar(select(RECORD_TYPES[t].model.id).limit(1)) for t in SEARCHED_TYPES):
            return None
    return rebuild_documents(db)


# -- searching -------------------------------------------------------------------------------------

def filter_words(document: SearchDocument) -> list[str]:
    """The tiers that see the document, its type and its country, as words the index holds beside the
    document's own (SQLite: the FTS5 `filters` column; PostgreSQL: lexemes of the vector that no folded word
    can be). Matched with the caller's words, they let the engine drop what the caller may not see, or did
    not ask for, before ranking: a common word can match thousands of documents."""
    out = [f"v{int(tier)}" for tier in Tier if tier >= document.min_tier]
    out.append(f"t{TYPE_ORDER[document.type]}")
    if document.country:
        out.append(f"c{document.country.lower()}")
    return out


def wanted_filters(request: SearchRequest, narrowest: bool = False) -> list[list[str]]:
    """The filter words a request asks for: a document must hold one of each group. With `narrowest`, only
    the country's when it asks for one (the statement checks the tier and the types on every match anyway)."""
    country = [[f"c{request.country.lower()}"]] if request.country else []
    if narrowest and country:
        return country
    wanted = [[f"v{int(request.tier)}"]]
    if len(request.types) < len(TYPE_ORDER):
        wanted.append([f"t{TYPE_ORDER[t]}" for t in request.types])
    return wanted + country


@dataclass(frozen=True)
class _Shape:
    """What decides the text of a search statement; the values a request brings are bound parameters."""

    required: bool
    optional: bool
    one_optional_needed: bool
    dated: bool
    country: bool
    kind: bool
    facets: tuple[str, ...]
    with_facets: bool

    @classmethod
    def of(cls, request: SearchRequest, required: bool, optional: bool) -> _Shape:
        return cls(required, optional, optional and request.query.one_optional_needed, request.on is not None,
                   request.country is not None, request.kind is not None, tuple(sorted(request.facets)),
                   request.with_facets)


class _SqlSearch:
    """The query shape both engines share; subclasses match and rank words."""

    def __init__(self, db):
        self.db = db
        self._statements: dict[_Shape, object] = {}

    def catch_up(self) -> int:
        return 0

    def indexed_version(self) -> None:
        return None

    def rebuild(self, progress: Progress = silent) -> int:
        return rebuild_documents(self.db, progress)

    def status(self) -> dict:
        with self.db.read() as session:
            documents = session.scalar(select(func.count()).select_from(D))
        return {"backend": self.name, "documents": documents, "pending": 0}

    def search(self, request: SearchRequest) -> SearchPage:
        """One statement over the matches, ranked once: the page, and the counts per type and country
        with the facet values of each group concatenated (counted here). The words are first searched
        as typed; a required word the tier cannot find only comes into play when nothing matched, and
        then its typo corrections are looked up and the search is made again."""
        with self.db.read() as session:
            connection = session.connection()
            required = [list(w.forms) for w in request.query.required]
            optional = [self._alternatives(connection, w, request.tier) for w in request.query.optional]
            page, groups = self._run(connection, request, required, optional)
            if not groups and any(w.edits for w in request.query.required):
                corrected = [self._alternatives(connection, w, request.tier) for w in request.query.required]
                if corrected != required:
                    required = corrected
                    page, groups = self._run(connection, request, required, optional)
            snippets = {}
            if request.with_snippets and page and (required or optional):
                snippets = self._snippets(connection, [row.key for row in page], required + optional, request.tier)
        hits = [Hit(row.id, row.type, round(float(row.score), 6), snippets.get(row.key)) for row in page]
        total = sum(row.count for row in groups)
        return SearchPage(hits, total, _facet_counts(groups) if request.with_facets else {})

    def _run(self, connection, request: SearchRequest, required, optional) -> tuple[list, list]:
        """The page's rows (key, id, type, score), best first, and the (type, country, count, facet values)
        groups of every match."""
        shape = _Shape.of(request, bool(required), bool(optional))
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = self._statement(shape)
        parameters = {"types": list(request.types), "tier": int(request.tier), "on": request.on,
                      "country": request.country, "kind": request.kind, "limit": request.limit,
                      "offset": request.offset,
                      **{f"facet_{facet}": sorted(values) for facet, values in request.facets.items()}}
        if required:
            parameters |= self._match_parameters("required", required, request, all_words=True)
        if optional:
            parameters |= self._match_parameters("optional", optional, request, all_words=False)
        page, groups = [], []
        for row in connection.execute(statement, parameters):
            (groups if row.position is None else page).append(row)
        page.sort(key=lambda row: row.position)
        return page, groups

    def _statement(self, shape: _Shape):
        """The statement of one shape of request: the matches, with their score, materialized once and
        read twice (the page, the groups); every value a request brings is a bound parameter, so each
        shape is built and compiled once."""
        score = literal(0.0, Float)
        query = select(D.c.key, D.c.id, D.c.type, D.c.country, D.c.sort_name, D.c.facet_values).select_from(D)
        where = _filters(shape)
        if shape.required:
            query, condition, found = self._match(query, "required", outer=False)
            where.append(condition)
            score = score + found
        if shape.optional:
            needed = shape.one_optional_needed
            query, condition, some = self._match(query, "optional", outer=not needed)
            if needed:
                where.append(condition)
                score = score + some
            else:
                score = score + func.coalesce(some, 0.0)
        matched = query.add_columns(score.label("score")).where(*where).cte("matched")

        def order(rows):
            return rows.c.score.desc(), case(TYPE_ORDER, value=rows.c.type), rows.c.sort_name, rows.c.id

        # The database keeps only the page's rows while sorting (a top-N sort); their positions are
        # numbered among those rows alone.
        best = (select(matched.c.key, matched.c.id, matched.c.type, matched.c.score, matched.c.sort_name)
                .order_by(*order(matched)).limit(bindparam("limit")).offset(bindparam("offset")).subquery("best"))
        page = select(best.c.key, best.c.id, best.c.type, best.c.score,
                      func.row_number().over(order_by=order(best)).label("position")).subquery("page")
        return union_all(
            select(page.c.key, page.c.id, page.c.type, page.c.score, page.c.position,
                   null().label("country"), null().label("count"), null().label("facet_values")),
            select(null(), null(), matched.c.type, null(), null(), matched.c.country, func.count(),
                   func.aggregate_strings(matched.c.facet_values, " ") if shape.with_facets else literal(""))
            .group_by(matched.c.type, matched.c.country))

    def _alternatives(self, connection: Connection, word: Word, tier: Tier) -> list[str]:
        """The word's forms, or, when none is a word the caller's tier can find, the words of that tier it
        may be a typo of. Both questions are asked of the tier's part of the index only: a word that
        exists only in restricted text neither stops nor steers an anonymous caller's correction, so
        the corrections say nothing of what a tier above the caller's holds."""
        if word.edits == 0 or self._known(connection, list(word.forms), tier):
            return list(word.forms)
        corrections: dict[str, int] = {}
        for form in word.forms:
            for candidate in self._candidates(connection, form):
                distance = Levenshtein.distance(form, candidate, score_cutoff=word.edits)
                if distance <= word.edits and candidate[:1] == form[:1]:
                    corrections[candidate] = min(distance, corrections.get(candidate, distance))
        # The vocabulary spans every tier: keep the candidates the caller's tier can find, closest first.
        closest = []
        for candidate in sorted(corrections, key=lambda c: (corrections[c], c))[:MAX_CANDIDATES_CHECKED]:
            if self._known(connection, [candidate], tier):
                closest.append(candidate)
                if len(closest) == MAX_CORRECTIONS:
                    break
        return list(word.forms) + closest


def _facet_counts(groups) -> dict[str, dict[str, int]]:
    """Counts per facet from the (type, country, count, the group's facet values joined by spaces) rows."""
    types: Counter = Counter()
    countries: Counter = Counter()
    for row in groups:
        types[row.type] += row.count
        if row.country:
            countries[row.country] += row.count
    facets: dict[str, dict[str, int]] = {"type": dict(types), "country": dict(countries)}
    facets |= {name: {} for name in COUNTED_FACETS}
    for word, n in Counter(" ".join(row.facet_values for row in groups if row.facet_values).split()).items():
        facet, _, value = word.partition("=")
        if facet in COUNTED_FACETS:
            facets[facet][value] = n
    return facets


def _filters(shape: _Shape) -> list:
    clauses = [D.c.type.in_(bindparam("types", expanding=True)), D.c.min_tier <= bindparam("tier", type_=Integer)]
    if shape.dated:
        on = bindparam("on", type_=Date)
        clauses += [or_(D.c.valid_from.is_(None), D.c.valid_from <= on),
                    or_(D.c.valid_until.is_(None), D.c.valid_until >= on)]
    if shape.country:
        clauses.append(D.c.country == bindparam("country"))
    if shape.kind:
        clauses.append(D.c.kind == bindparam("kind"))
    for facet in shape.facets:
        has_value = exists().where(F.c.key == D.c.key, F.c.facet == facet,
                                   F.c.value.in_(bindparam(f"facet_{facet}", expanding=True)))
        if facet in APPLIES_TO_ALL_WHEN_ABSENT:
            has_value = or_(has_value, ~exists().where(F.c.key == D.c.key, F.c.facet == facet))
        clauses.append(has_value)
    return clauses


def _mark(text_with_marks: str | None) -> str | None:
    return text_with_marks if text_with_marks and MARK_START in text_with_marks else None


class SqliteSearch(_SqlSearch):
    name = "sqlite-fts5"
    COLUMNS = ("names", *TEXT_COLUMNS)
    # bm25 weights of the FTS5 columns: a name outranks a mention in text; `filters` does not rank.
    WEIGHTS = (10.0, 2.0, 1.0, 1.0, 0.0)
    # The filter words in their own column; a caller's words are never matched against it.
    FILTER = "zz"

    def _known(self, connection, forms: list[str], tier: Tier) -> bool:
        # A match on the index itself is a lookup (fts5vocab answers `term = ?` by a scan), in the tier's
        # columns of the documents the tier sees.
        match = self._expression([forms], tier, all_words=False) + f' AND filters : "{self.FILTER}v{int(tier)}"'
        return connection.execute(text("SELECT 1 FROM search_fts WHERE search_fts MATCH :match LIMIT 1"),
                                  {"match": match}).scalar() is not None

    def _candidates(self, connection, form: str) -> list[str]:
        # fts5vocab answers a range on `term` without scanning the whole vocabulary.
        low = form[:1]
        high = chr(ord(low) + 1)
        rows = connection.execute(text("SELECT term FROM search_fts_vocabulary WHERE term >= :low AND term < :high "
                                    "AND length(term) BETWEEN :shortest AND :longest"),
                                  {"low": low, "high": high, "shortest": len(form) - 2,
                                   "longest": len(form) + 2}).scalars()
        return list(rows)

    def _expression(self, alternatives: list[list[str]], tier: Tier, all_words: bool,
                    request: SearchRequest | None = None) -> str:
        columns = " ".join(self.COLUMNS[:2 + int(tier)])
        groups = ["(" + " OR ".join(_fts5_string(form) for form in forms) + ")" for forms in alternatives]
        expression = "{" + columns + "} : (" + (" AND " if all_words else " OR ").join(groups) + ")"
        if request is not None:
            # bm25 counts the documents that hold each phrase of the query, reading the phrase's whole list,
            # and a tier's or a type's word is in tens of thousands. A country's word alone leaves few
            # matches: then the statement checks the tier and the type on each of them instead.
            for group in wanted_filters(request, narrowest=True):
                expression += " AND filters : (" + " OR ".join(_fts5_string(self.FILTER + w) for w in group) + ")"
        return expression

    def _match(self, query, name: str, *, outer: bool):
        """The documents' words matched in the FTS5 table, joined by rowid: (query, condition, score)."""
        score = f"-bm25(search_fts, {', '.join(str(w) for w in self.WEIGHTS)})"
        statement = text(f"SELECT rowid AS key, {score} AS score FROM search_fts WHERE search_fts MATCH :{name}_match")
        found = statement.columns(key=Integer, score=Float).subquery(name)
        query = query.outerjoin(found, found.c.key == D.c.key) if outer else query.join(found, found.c.key == D.c.key)
        return query, true(), found.c.score

    def _match_parameters(self, name: str, alternatives, request: SearchRequest, *, all_words: bool) -> dict:
        return {f"{name}_match": self._expression(alternatives, request.tier, all_words, request)}

    def _snippets(self, connection, keys: list[int], alternatives, tier: Tier) -> dict[int, str]:
        visible = list(range(2 + int(tier)))
        # Text columns first: the name is shown as the result's title anyway.
        columns = visible[1:] + visible[:1]
        snippets = ", ".join(f"snippet(search_fts, {c}, :start, :end, '…', 16)" for c in columns)
        rows = connection.execute(
            text(f"SELECT rowid, {snippets} FROM search_fts WHERE search_fts MATCH :match AND rowid IN "
                 "(SELECT value FROM json_each(:keys))"),
            {"start": MARK_START, "end": MARK_END, "keys": _json(keys),
             "match": self._expression(alternatives, tier, all_words=False)})
        out = {}
        for key, *texts in rows:
            marked = next((t for t in map(_mark, texts) if t), None)
            if marked:
                out[key] = marked
        return out


class PostgresSearch(_SqlSearch):
    name = "postgresql"
    # The tsvector weights each tier may match: names (A), then the text each tier adds.
    TIER_WEIGHTS = {Tier.PUBLIC: "AB", Tier.PARTNER: "ABC", Tier.RESTRICTED: "ABCD"}
    # Filter lexemes begin with a character no folded word holds: a caller's words never match them.
    FILTER = "!"

    @cached_property
    def _trgm(self) -> str:
        with self.db.read() as session:
            return extension_schema(session.connection(), "pg_trgm")

    def _known(self, connection, forms: list[str], tier: Tier) -> bool:
        # search_terms spans every tier: ask the tier's weights of the documents the tier sees.
        return connection.execute(text(
            "SELECT 1 FROM search_documents WHERE min_tier <= :tier "
            "AND search_vector @@ to_tsquery('registry_folded', :query) LIMIT 1"),
            {"tier": int(tier), "query": self._tsquery([forms], tier, all_words=False)}).scalar() is not None

    def _candidates(self, connection, form: str) -> list[str]:
        return list(connection.execute(text(
            f'SELECT term FROM search_terms WHERE term OPERATOR("{self._trgm}".%) :form '
            "AND length(term) BETWEEN :shortest AND :longest"),
            {"form": form, "shortest": len(form) - 2, "longest": len(form) + 2}).scalars())

    def _tsquery(self, alternatives, tier: Tier | None, all_words: bool) -> str:
        weights = f":{self.TIER_WEIGHTS[tier]}" if tier is not None else ""
        groups = ["(" + " | ".join(_tsquery_lexeme(form) + weights for form in forms) + ")" for forms in alternatives]
        return (" & " if all_words else " | ").join(groups)

    def _match(self, query, name: str, *, outer: bool):
        """The words, with the filter lexemes, matched on the document's own vector, no join; ranked by the
        words alone: (query, condition, score; None where the words are not there)."""
        words_ = f"to_tsquery('registry_folded', :{name}_query)"
        condition = text(f"search_documents.search_vector @@ ({words_} && CAST(:filter_query AS tsquery))")
        score = text(f"ts_rank(search_documents.search_vector, {words_})")
        return query, condition, case((condition, score), else_=null()) if outer else score

    def _match_parameters(self, name: str, alternatives, request: SearchRequest, *, all_words: bool) -> dict:
        filters = " & ".join("(" + " | ".join(_tsquery_lexeme(self.FILTER + w) for w in group) + ")"
                             for group in wanted_filters(request))
        return {f"{name}_query": self._tsquery(alternatives, request.tier, all_words), "filter_query": filters}

    def _snippets(self, connection, keys: list[int], alternatives, tier: Tier) -> dict[int, str]:
        visible = ", ".join(["names", *TEXT_COLUMNS[:1 + int(tier)]])
        rows = connection.execute(text(
            f"SELECT key, ts_headline('registry_folded', concat_ws(E'\\n', {visible}), "
            "to_tsquery('registry_folded', :query), :options) FROM search_documents WHERE key = ANY(:keys)"),
            {"keys": keys, "query": self._tsquery(alternatives, None, all_words=False),
             "options": f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=24, MinWords=8, '
                        'MaxFragments=2, FragmentDelimiter=" … "'})
        return {key: marked for key, headline in rows if (marked := _mark(headline))}


def _fts5_string(form: str) -> str:
    """An FTS5 string literal: whatever it holds is matched as words, never read as syntax."""
    return '"' + form.replace('"', '""') + '"'


def _tsquery_lexeme(form: str) -> str:
    """A quoted tsquery lexeme: never read as an operator."""
    return "'" + form.replace("\\", "\\\\").replace("'", "''") + "'"


def _json(values) -> str:
    return orjson.dumps(list(values)).decode()
