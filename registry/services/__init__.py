"""The business layer. Never imports Flask: every function takes a `Context` and plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from registry.auth.keys import KeyStore
from registry.config import Settings
from registry.db import Database
from registry.search import SearchBackend, create_backend
from registry.taxonomy import Taxonomy, load_taxonomy


@dataclass(frozen=True)
class Context:
    settings: Settings
    db: Database
    taxonomy: Taxonomy
    # Access tokens are signed with ES256; a retired key verifies until its last token expires.
    token_keys: KeyStore
    search: SearchBackend
    # Record envelopes are signed with Ed25519; retired keys stay published, so old signatures verify.
    record_keys: KeyStore

    @classmethod
    def create(cls, settings: Settings) -> Context:
        token_keys = KeyStore(Path(settings.instance_path) / "keys" / "access-tokens.json", "ES256",
                              grace=settings.access_token_ttl + settings.token_leeway)
        db = Database(settings.database_url)
        taxonomy = load_taxonomy(settings.seed_path)
        record_keys = KeyStore(Path(settings.instance_path) / "keys" / "record-signing.json", "Ed25519",
                               grace=float("inf"))
        return cls(settings, db, taxonomy, token_keys, create_backend(settings, db), record_keys)


@dataclass(frozen=True)
class Page:
    """Which slice of a result list to return; `number` counts from 1."""

    number: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class PageResult:
    items: list[dict]
    total: int
    page: Page


def today() -> date:
    return date.today()
