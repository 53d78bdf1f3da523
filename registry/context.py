"""What every service, the authorization server and the federation work with: the settings, the
database, the taxonomy, the key stores of the instance folder, the search backend, the outbound HTTP
client and the store of secrets the node must send. Built once per process by `Context.create`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from registry.config import Settings
from registry.crypto.keys import KeyStore
from registry.crypto.stored_secrets import StoredSecrets
from registry.db import Database
from registry.outbound import Outbound
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
    # Every request the node makes (peers, key sets, webhooks) goes through its outbound rules.
    outbound: Outbound
    # Secrets the node must send or derive keys from (peers' client secrets, webhook secrets, cursor keys).
    secrets: StoredSecrets

    @classmethod
    def create(cls, settings: Settings) -> Context:
        instance = Path(settings.instance_path)
        token_keys = KeyStore(instance / "keys" / "access-tokens.json", "ES256",
                              grace=settings.access_token_ttl + settings.token_leeway)
        db = Database(settings.database_url)
        taxonomy = load_taxonomy(settings.seed_path)
        record_keys = KeyStore(instance / "keys" / "record-signing.json", "Ed25519", grace=float("inf"))
        return cls(settings, db, taxonomy, token_keys, create_backend(settings, db), record_keys,
                   Outbound(settings.federation_allow_hosts, settings.federation_timeout),
                   StoredSecrets(instance))
