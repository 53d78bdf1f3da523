"""Search: one `SearchBackend` interface, three backends.

- `sql.SqliteSearch`: FTS5 in the registry's own SQLite database (the embedded default);
- `sql.PostgresSearch`: tsvector + GIN, unaccent and pg_trgm in the registry's PostgreSQL database;
- `elastic.ElasticsearchSearch`: an Elasticsearch (or OpenSearch-compatible) index, fed from the
  change log, selected by `REGISTRY_SEARCH_URL`.

The SQL index is written by the single write path inside the writing transaction; the
Elasticsearch index follows the change log (its transactional outbox) after commit. Every backend
gets the same `SearchRequest` (words already folded and transliterated by `text`, filters already
resolved to codes) and answers with the same `SearchPage`; `tests/test_search_conformance.py`
holds them to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from registry.progress import Progress, silent
from registry.search.text import MARK_END, MARK_START, ParsedQuery
from registry.visibility import Tier

__all__ = ["MARK_END", "MARK_START", "TYPE_ORDER", "Hit", "SearchBackend", "SearchPage", "SearchRequest",
           "create_backend"]

# Ties in score list authorities first, then contact points, then notes.
TYPE_ORDER = {"authority": 0, "contact_point": 1, "emergency_note": 2}


@dataclass(frozen=True)
class SearchRequest:
    query: ParsedQuery
    tier: Tier
    # contact points and notes must be current on this day (None: any day)
    on: date | None
    types: tuple[str, ...]
    country: str | None = None
    kind: str | None = None
    # facet -> codes, one of which a document must carry (network, crime_type, request_type, language)
    facets: dict[str, frozenset[str]] = field(default_factory=dict)
    offset: int = 0
    limit: int = 20
    with_facets: bool = True
    with_snippets: bool = True


@dataclass(frozen=True)
class Hit:
    id: str
    type: str
    score: float
    snippet: str | None = None


@dataclass
class SearchPage:
    hits: list[Hit]
    total: int
    # facet -> value -> count, over every match (not only this page): type, country, network, ...
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchBackend(Protocol):
    name: str

    def search(self, request: SearchRequest) -> SearchPage:
        """The page of matches `request` asks for, best first, with facet counts over all matches."""

    def catch_up(self) -> int:
        """Index what changed since the last call; the number of records indexed (0 for SQL
        backends, whose index is written in the writing transaction)."""

    def rebuild(self, progress: Progress = silent) -> int:
        """Build the whole index anew from the records; the number of documents indexed. `progress` is
        told how many records were read of how many."""

    def status(self) -> dict:
        """What the backend is and how current its index is."""

    def indexed_version(self) -> int | None:
        """How far the index has followed the change log, for caches of answers built from it
        (None when the index is always current: written in the writing transaction)."""


def create_backend(settings, db) -> SearchBackend:
    if settings.search_url:
        from registry.search.elastic import ElasticsearchSearch

        return ElasticsearchSearch(settings.search_url, settings.search_index, db)
    from registry.search.sql import PostgresSearch, SqliteSearch

    return PostgresSearch(db) if db.dialect == "postgresql" else SqliteSearch(db)
