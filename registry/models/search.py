"""The SQL search index (one row per searchable live record) and the Elasticsearch indexer's cursors.

Engine-specific parts live only in migration 0003 and `registry.search.sql`: the FTS5 table on
SQLite; the tsvector column, its GIN index, the trigram vocabulary and the text search
configuration on PostgreSQL (`registry.migrations.ENGINE_SPECIFIC` lists them).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base


class SearchDocumentRow(Base):
    __tablename__ = "search_documents"
    # An integer key, so that SQLite's FTS5 rows can share it as their rowid.
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(192), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(63))
    min_tier: Mapped[int] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(2))
    authority_id: Mapped[str | None] = mapped_column(String(192))
    kind: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # What a search reads of every match: the tie-break order and the facets to count. Before the
    # long text columns, so that reading them does not walk a row's overflow pages.
    sort_name: Mapped[str] = mapped_column(String(200))
    facet_values: Mapped[str] = mapped_column(Text)
    names: Mapped[str] = mapped_column(Text)
    text_public: Mapped[str] = mapped_column(Text)
    text_partner: Mapped[str] = mapped_column(Text)
    text_restricted: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_search_documents_type_country", "type", "country"),)


class SearchFacet(Base):
    """Multi-valued filters of a search document: network, crime_type, request_type, language."""

    __tablename__ = "search_facets"
    key: Mapped[int] = mapped_column(ForeignKey("search_documents.key", ondelete="CASCADE"), primary_key=True)
    facet: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_search_facets_facet_value", "facet", "value"),)


class SearchCursor(Base):
    """How far into each origin's change log an Elasticsearch index has been brought."""

    __tablename__ = "search_cursors"
    index: Mapped[str] = mapped_column(String(200), primary_key=True)
    origin: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
