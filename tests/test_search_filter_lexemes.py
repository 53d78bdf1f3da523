"""The words that say who may see a document, its type and its country are in the SQL index beside its own
words (`search.sql.filter_words`): migration 0013 gives the PostgreSQL vectors written before it exactly the
lexemes the write path writes, and its downgrade takes exactly those away. SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import fresh_database_url, make_settings
from sqlalchemy import text

from registry import migrations
from registry.context import Context
from registry.services.seed import seed


def _index(ctx) -> list:
    with ctx.db.read() as session:
        if ctx.db.dialect == "sqlite":
            return session.execute(text("SELECT rowid, filters FROM search_fts ORDER BY rowid")).all()
        return session.execute(text("SELECT key, CAST(search_vector AS text) FROM search_documents ORDER BY key")).all()


def test_the_migration_writes_the_filter_lexemes_the_write_path_writes(backend, tmp_path):
    url = fresh_database_url(backend, tmp_path)
    ctx = Context.create(make_settings(url, tmp_path))
    try:
        seed(ctx)
        written = _index(ctx)
        assert written
        ctx.db.dispose()
        migrations.downgrade(url, "0012")
        before = _index(ctx)
        if backend == "postgresql":
            assert all("'!v" not in vector and "'!t" not in vector for _key, vector in before), \
                "the downgrade takes the filter lexemes away"
            assert any("'!v0'" in vector for _key, vector in written), "public documents carry the public tier's"
            assert all("'!v2'" in vector for _key, vector in written), "the restricted tier sees every document"
        migrations.upgrade(url)
        assert _index(ctx) == written
    finally:
        ctx.db.dispose()
