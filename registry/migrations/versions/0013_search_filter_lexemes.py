"""PostgreSQL search: the filter lexemes (tiers that see the document, its type, its country) in each vector

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:45:00

The write path adds them to every vector it writes (`registry.search.sql.filter_words`); this gives the
documents written before them the same lexemes, computed from the document's own columns. SQLite keeps
the same words in its FTS5 `filters` column since 0003: nothing to do there.
"""

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# `filter_words` in SQL, with PostgresSearch.FILTER ("!") before each word; the type order is TYPE_ORDER.
FILTER_LEXEMES = (
    "ARRAY(SELECT '!v' || tier FROM generate_series(min_tier, 2) AS tier)"
    " || ARRAY['!t' || CASE type WHEN 'authority' THEN '0' WHEN 'contact_point' THEN '1' ELSE '2' END]"
    " || CASE WHEN country IS NULL THEN ARRAY[]::text[] ELSE ARRAY['!c' || lower(country)] END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("UPDATE search_documents SET search_vector = "
               f"coalesce(search_vector, ''::tsvector) || array_to_tsvector({FILTER_LEXEMES})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"UPDATE search_documents SET search_vector = ts_delete(search_vector, {FILTER_LEXEMES})")
