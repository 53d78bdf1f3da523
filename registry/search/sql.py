"""The SQL search index: SQLite FTS5 and PostgreSQL full text, in the registry's own database.

`index_record` is called by the single write path inside the writing transaction, so the index is
never behind the records. Both engines share the portable tables (`search_documents`,
`search_facets`) and the query shape; they differ in how words are matched and ranked:

- SQLite: an FTS5 table (unicode61 tokenizer, diacritics removed) whose columns are the names and
  the text each tier adds; a caller's words are matched against the columns of their tier with a
  column filter, ranked by bm25 with names weighted highest.
- PostgreSQL: one tsvector per document whose weights are the tiers (A names, B public text,
  C partner, D restricted), built with the `registry_folded` configuration (simple + unaccent); a
  caller's words are restricted to their tier's weights (`'word':ABC`) and ranked by ts_rank.

Typo tolerance: a word that is not in the index vocabulary (FTS5's fts5vocab; on PostgreSQL the
`search_terms` table with a pg_trgm index) is replaced by the indexed words within its allowed
edit distance (`text.allowed_edits`), with the same first letter.
"""

from __future__ import annotations

from functools import cached_property

import orjson
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Float, Integer, case, delete, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session

from registry import models
from registry.migrations import extension_schema
from registry.search import MARK_END, MARK_START, TYPE_ORDER, Hit, SearchPage, SearchRequest
from registry.search.documents import SEARCHED_TYPES, SearchDocument, build, dependents
from registry.search.text import Word, words
from registry.services.record_types import RECORD_TYPES
from registry.visibility import Tier

D = models.SearchDocumentRow.__table__
F = models.SearchFacet.__table__
TEXT_COLUMNS = ("text_public", "text_partner", "text_restricted")
# Facet counts returned beside the results (language is a filter only).
COUNTED_FACETS = ("network", "crime_type", "request_type")
# Facets where a document without any value applies to every value (a note for all crimes).
APPLIES_TO_ALL_WHEN_ABSENT = ("crime_type", "request_type")
# Most typo corrections tried per word, closest first.
MAX_CORRECTIONS = 8
REBUILD_BATCH = 1000


# -- writing ---------------------------------------------------------------------------------------

def index_record(session: Session, record_type: str, row, former_members: set[str] = frozenset()) -> None:
    """Bring the documents of `row`, and of the records whose documents draw on it, up to date."""
    if record_type in SEARCHED_TYPES:
        _write_document(session, row.id, build(session, record_type, row))
    for other_type, other_id in dependents(session, record_type, row, former_members):
        other = session.get(RECORD_TYPES[other_type].model, other_id)
        _write_document(session, other_id, build(session, other_type, other) if other is not None else None)


def _write_document(session: Session, record_id: str, document: SearchDocument | None) -> None:
    key = session.scalar(select(D.c.key).where(D.c.id == record_id))
    sqlite = session.bind.dialect.name == "sqlite"
    if key is not None:
        session.execute(delete(F).where(F.c.key == key))
        if sqlite:
            session.execute(text("DELETE FROM search_fts WHERE rowid = :key"), {"key": key})
    if document is None:
        if key is not None:
            session.execute(delete(D).where(D.c.key == key))
        return
    values = {
        "id": document.id, "type": document.type, "origin": document.origin, "min_tier": int(document.min_tier),
        "country": document.country, "authority_id": document.authority_id, "kind": document.kind,
        "valid_from": document.valid_from, "valid_until": document.valid_until, "names": document.names,
        **{column: document.text[tier] for column, tier in zip(TEXT_COLUMNS, Tier, strict=True)},
    }
    if key is None:
        key = session.execute(insert(D).values(values).returning(D.c.key)).scalar_one()
    else:
        session.execute(update(D).where(D.c.key == key).values(values))
    if document.facets:
        session.execute(insert(F), [{"key": key, "facet": f, "value": v} for f, v in sorted(document.facets)])
    columns = [document.names, *(document.text[t] for t in Tier)]
    if sqlite:
        session.execute(text("INSERT INTO search_fts (rowid, names, text_public, text_partner, text_restricted) "
                             "VALUES (:key, :names, :public, :partner, :restricted)"),
                        {"key": key, **dict(zip(("names", "public", "partner", "restricted"), columns, strict=True))})
        return
    # The vector is built from folded words, exactly the words queries are made of.
    folded = [" ".join(words(column)) for column in columns]
    session.execute(text(
        "UPDATE search_documents SET search_vector = "
        "setweight(to_tsvector('registry_folded', :a), 'A') || setweight(to_tsvector('registry_folded', :b), 'B')"
        " || setweight(to_tsvector('registry_folded', :c), 'C') || setweight(to_tsvector('registry_folded', :d), 'D')"
        " WHERE key = :key"), {"key": key, **dict(zip("abcd", folded, strict=True))})
    vocabulary = sorted({w for column in folded for w in column.split()})
    session.execute(text("INSERT INTO search_terms (term) SELECT unnest(CAST(:terms AS text[])) "
                         "ON CONFLICT DO NOTHING"), {"terms": vocabulary})


def rebuild_documents(db) -> int:
    """Rebuild the SQL index of every live record in one transaction; the number of documents."""
    count = 0
    with db.write() as session:
        sqlite = session.bind.dialect.name == "sqlite"
        session.execute(delete(F))
        session.execute(delete(D))
        session.execute(text("DELETE FROM search_fts" if sqlite else "TRUNCATE search_terms"))
        for record_type in SEARCHED_TYPES:
            model = RECORD_TYPES[record_type].model
            ids = session.scalars(select(model.id).where(model.deleted.is_(False)).order_by(model.id)).all()
            for start in range(0, len(ids), REBUILD_BATCH):
                for row in session.scalars(select(model).where(model.id.in_(ids[start:start + REBUILD_BATCH]))):
                    document = build(session, record_type, row)
                    if document is not None:
                        _write_document(session, row.id, document)
                        count += 1
                session.expunge_all()
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

class _SqlSearch:
    """The query shape both engines share; subclasses match and rank words."""

    def __init__(self, db):
        self.db = db

    def catch_up(self) -> int:
        return 0

    def rebuild(self) -> int:
        return rebuild_documents(self.db)

    def status(self) -> dict:
        with self.db.read() as session:
            documents = session.scalar(select(func.count()).select_from(D))
        return {"backend": self.name, "documents": documents, "pending": 0}

    def search(self, request: SearchRequest) -> SearchPage:
        with self.db.read() as session:
            required = [self._alternatives(session, w) for w in request.query.required]
            optional = [self._alternatives(session, w) for w in request.query.optional]
            matched = self._matches(request, required, optional).cte("matched")
            total, facets = self._counts(session, matched, request)
            order = case(TYPE_ORDER, value=matched.c.type)
            page = session.execute(select(matched.c.key, matched.c.id, matched.c.type, matched.c.score)
                                   .order_by(matched.c.score.desc(), order, matched.c.names, matched.c.id)
                                   .limit(request.limit).offset(request.offset)).all()
            snippets = {}
            if request.with_snippets and page and (required or optional):
                snippets = self._snippets(session, [row.key for row in page], required + optional, request.tier)
        hits = [Hit(row.id, row.type, round(float(row.score), 6), snippets.get(row.key)) for row in page]
        return SearchPage(hits, total, facets)

    def _alternatives(self, session: Session, word: Word) -> list[str]:
        """The word's forms, or, when none is an indexed word, the indexed words it may be a typo of."""
        if word.edits == 0 or self._known(session, list(word.forms)):
            return list(word.forms)
        corrections: dict[str, int] = {}
        for form in word.forms:
            for candidate in self._candidates(session, form):
                distance = Levenshtein.distance(form, candidate, score_cutoff=word.edits)
                if distance <= word.edits and candidate[:1] == form[:1]:
                    corrections[candidate] = min(distance, corrections.get(candidate, distance))
        closest = sorted(corrections, key=lambda c: (corrections[c], c))[:MAX_CORRECTIONS]
        return list(word.forms) + closest

    def _matches(self, request: SearchRequest, required, optional):
        filters = _filters(request)
        score = literal(0.0, Float)
        query = select(D.c.key, D.c.id, D.c.type, D.c.country, D.c.names).select_from(D)
        if required:
            found = self._match_subquery(required, request.tier, all_words=True, name="required")
            query = query.join(found, found.c.key == D.c.key)
            score = score + found.c.score
        if optional:
            ranked = self._match_subquery(optional, request.tier, all_words=False, name="optional")
            if request.query.one_optional_needed:
                query = query.join(ranked, ranked.c.key == D.c.key)
                score = score + ranked.c.score
            else:
                query = query.outerjoin(ranked, ranked.c.key == D.c.key)
                score = score + func.coalesce(ranked.c.score, 0.0)
        return query.add_columns(score.label("score")).where(*filters)

    def _counts(self, session: Session, matched, request: SearchRequest) -> tuple[int, dict]:
        """The total and the facet counts over every match."""
        facets: dict[str, dict[str, int]] = {name: {} for name in ("type", "country", *COUNTED_FACETS)}
        for record_type, country, n in session.execute(
                select(matched.c.type, matched.c.country, func.count()).group_by(matched.c.type, matched.c.country)):
            facets["type"][record_type] = facets["type"].get(record_type, 0) + n
            if country is not None:
                facets["country"][country] = facets["country"].get(country, 0) + n
        if not request.with_facets:
            return sum(facets["type"].values()), {}
        # Every facet is counted and the uncounted ones dropped here: a condition on `facet` in SQL
        # would lead SQLite to scan the facet index instead of looking up each match's rows by key.
        # (Separate statements: SQLite runs a UNION ALL of these over the CTE several times slower.)
        for facet, value, n in session.execute(select(F.c.facet, F.c.value, func.count()).select_from(matched)
                                               .join(F, F.c.key == matched.c.key).group_by(F.c.facet, F.c.value)):
            if facet in facets:
                facets[facet][value] = n
        return sum(facets["type"].values()), facets


def _filters(request: SearchRequest) -> list:
    on = request.on
    clauses = [D.c.type.in_(request.types), D.c.min_tier <= int(request.tier)]
    if on is not None:
        clauses += [or_(D.c.valid_from.is_(None), D.c.valid_from <= on),
                    or_(D.c.valid_until.is_(None), D.c.valid_until >= on)]
    if request.country:
        clauses.append(D.c.country == request.country)
    if request.kind:
        clauses.append(D.c.kind == request.kind)
    for facet, values in sorted(request.facets.items()):
        has_value = exists().where(F.c.key == D.c.key, F.c.facet == facet, F.c.value.in_(sorted(values)))
        if facet in APPLIES_TO_ALL_WHEN_ABSENT:
            has_value = or_(has_value, ~exists().where(F.c.key == D.c.key, F.c.facet == facet))
        clauses.append(has_value)
    return clauses


def _mark(text_with_marks: str | None) -> str | None:
    return text_with_marks if text_with_marks and MARK_START in text_with_marks else None


class SqliteSearch(_SqlSearch):
    name = "sqlite-fts5"
    COLUMNS = ("names", *TEXT_COLUMNS)
    # bm25 weights of the FTS5 columns: a name outranks a mention in text.
    WEIGHTS = (10.0, 2.0, 1.0, 1.0)

    def _known(self, session, forms: list[str]) -> bool:
        # One equality per form: fts5vocab answers `term = ?` by a lookup, `IN` by a scan.
        return any(session.scalar(text("SELECT 1 FROM search_fts_vocabulary WHERE term = :form"),
                                  {"form": form}) is not None for form in forms)

    def _candidates(self, session, form: str) -> list[str]:
        # fts5vocab answers a range on `term` without scanning the whole vocabulary.
        low = form[:1]
        high = chr(ord(low) + 1)
        rows = session.scalars(text("SELECT term FROM search_fts_vocabulary WHERE term >= :low AND term < :high "
                                    "AND length(term) BETWEEN :shortest AND :longest"),
                               {"low": low, "high": high, "shortest": len(form) - 2, "longest": len(form) + 2})
        return list(rows)

    def _expression(self, alternatives: list[list[str]], tier: Tier, all_words: bool) -> str:
        columns = " ".join(self.COLUMNS[:2 + int(tier)])
        groups = ["(" + " OR ".join(_fts5_string(form) for form in forms) + ")" for forms in alternatives]
        return "{" + columns + "} : (" + (" AND " if all_words else " OR ").join(groups) + ")"

    def _match_subquery(self, alternatives, tier: Tier, *, all_words: bool, name: str):
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        statement = text(f"SELECT rowid AS key, -bm25(search_fts, {weights}) AS score FROM search_fts "
                         f"WHERE search_fts MATCH :{name}_match").bindparams(
            **{f"{name}_match": self._expression(alternatives, tier, all_words)})
        return statement.columns(key=Integer, score=Float).subquery(name)

    def _snippets(self, session, keys: list[int], alternatives, tier: Tier) -> dict[int, str]:
        visible = list(range(2 + int(tier)))
        # Text columns first: the name is shown as the result's title anyway.
        columns = visible[1:] + visible[:1]
        snippets = ", ".join(f"snippet(search_fts, {c}, :start, :end, '…', 16)" for c in columns)
        rows = session.execute(
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

    @cached_property
    def _trgm(self) -> str:
        with self.db.read() as session:
            return extension_schema(session.connection(), "pg_trgm")

    def _known(self, session, forms: list[str]) -> bool:
        return session.scalar(text("SELECT 1 FROM search_terms WHERE term = ANY(:forms) LIMIT 1"),
                              {"forms": forms}) is not None

    def _candidates(self, session, form: str) -> list[str]:
        return list(session.scalars(text(
            f'SELECT term FROM search_terms WHERE term OPERATOR("{self._trgm}".%) :form '
            "AND length(term) BETWEEN :shortest AND :longest"),
            {"form": form, "shortest": len(form) - 2, "longest": len(form) + 2}))

    def _tsquery(self, alternatives, tier: Tier | None, all_words: bool) -> str:
        weights = f":{self.TIER_WEIGHTS[tier]}" if tier is not None else ""
        groups = ["(" + " | ".join(_tsquery_lexeme(form) + weights for form in forms) + ")" for forms in alternatives]
        return (" & " if all_words else " | ").join(groups)

    def _match_subquery(self, alternatives, tier: Tier, *, all_words: bool, name: str):
        statement = text(
            f"SELECT key, ts_rank(search_vector, to_tsquery('registry_folded', :{name}_query)) AS score "
            f"FROM search_documents WHERE search_vector @@ to_tsquery('registry_folded', :{name}_query)"
        ).bindparams(**{f"{name}_query": self._tsquery(alternatives, tier, all_words)})
        return statement.columns(key=Integer, score=Float).subquery(name)

    def _snippets(self, session, keys: list[int], alternatives, tier: Tier) -> dict[int, str]:
        visible = ", ".join(["names", *TEXT_COLUMNS[:1 + int(tier)]])
        rows = session.execute(text(
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
