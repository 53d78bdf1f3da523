"""The node's exclusive locks (one `sync --watch`, one `deliver --watch` per database): held by one process at
a time, and, on PostgreSQL, per schema, so that registries sharing a database in schemas of their own never
stand by for each other."""

from __future__ import annotations

from conftest import fresh_database_url

from registry.db import Database


def test_a_lock_is_held_once_per_database_and_schema(backend, tmp_path):
    first_url = fresh_database_url(backend, tmp_path)
    other_url = fresh_database_url(backend, tmp_path)
    first, same, other = Database(first_url), Database(first_url), Database(other_url)
    try:
        with first.exclusive("watch-sync") as held:
            assert held
            with same.exclusive("watch-sync") as again:
                assert not again
            with other.exclusive("watch-sync") as elsewhere:
                assert elsewhere
            with same.exclusive("watch-deliver") as different:
                assert different
        with same.exclusive("watch-sync") as released:
            assert released
    finally:
        for database in (first, same, other):
            database.dispose()
