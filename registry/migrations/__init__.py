"""Alembic migrations, run programmatically by `registry db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent

# Objects of the search index that exist on one engine only and have no model (see migration 0003).
ENGINE_SPECIFIC = {"search_fts", "search_fts_vocabulary", "search_terms", "search_vector",
                   "ix_search_documents_vector", "ix_search_terms_trigram"}


def include_name(name, type_, parent_names) -> bool:
    """For autogenerate: compare the models with everything but the engine-specific search objects
    (and FTS5's own shadow tables, search_fts_data and the like)."""
    return not (name in ENGINE_SPECIFIC or (type_ == "table" and name.startswith("search_fts_")))


def extension_schema(connection, name: str) -> str:
    """The schema a PostgreSQL extension's objects live in (they are qualified with it, since the
    search path need not include it)."""
    from sqlalchemy import text

    return connection.execute(text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                   "ON n.oid = e.extnamespace WHERE e.extname = :name"), {"name": name}).scalar_one()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_heads(database_url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
