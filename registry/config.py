"""One Settings object, read from REGISTRY_* environment variables.

Every field carries its variable name and a help text; the README's settings table is checked
against this list by a test, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from limits import parse_many

from registry.wsgi import parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value the registry cannot use."""


def _setting(env: str, default, help: str):
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    node_id: str = _setting(
        "REGISTRY_NODE_ID", "local", "This node's identity in the federation (lowercase letters, digits, `-`)."
    )
    namespace: str = _setting(
        "REGISTRY_NAMESPACE", "", "Id namespace of the records this node issues (`<namespace>:<local id>`). "
        "Defaults to the node id."
    )
    instance_path: str = _setting(
        "REGISTRY_INSTANCE_PATH", str(PROJECT_ROOT / "instance"),
        "Folder for the embedded database and generated keys.",
    )
    database_url: str = _setting(
        "REGISTRY_DATABASE_URL", "",
        "SQLAlchemy URL. Default: SQLite file `registry.sqlite3` in the instance folder. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    host: str = _setting("REGISTRY_HOST", "127.0.0.1", "Address `registry serve` binds to.")
    port: int = _setting("REGISTRY_PORT", 8000, "Port `registry serve` listens on.")
    workers: int = _setting("REGISTRY_WORKERS", 2, "Number of gunicorn worker processes for `registry serve`.")
    worker_timeout: int = _setting(
        "REGISTRY_WORKER_TIMEOUT", 120,
        "Seconds a gunicorn worker may spend on one answer before it is restarted, streamed answers included "
        "(a snapshot or the directory feed of 100,000 records takes about 10-30 s).",
    )
    default_page_size: int = _setting("REGISTRY_DEFAULT_PAGE_SIZE", 50, "Page size when a request gives none.")
    max_page_size: int = _setting("REGISTRY_MAX_PAGE_SIZE", 200, "Largest page size a request may ask for.")
    response_cache_size: int = _setting(
        "REGISTRY_RESPONSE_CACHE_SIZE", 2048,
        "Answers each worker process keeps in its cache of GET responses (0 turns the cache off). "
        "Entries are keyed by the data version, so a write is visible at once.",
    )
    response_cache_bytes: int = _setting(
        "REGISTRY_RESPONSE_CACHE_BYTES", 32 * 1024 * 1024,
        "Bytes of answers (bodies and headers) each worker process keeps in its cache of GET responses at "
        "most; an answer larger than a sixteenth of it is not kept.",
    )
    public_url: str = _setting(
        "REGISTRY_PUBLIC_URL", "",
        "The URL clients reach this node at, without a trailing slash: the `iss` and `aud` of its access "
        "tokens. Default: `http://HOST:PORT`.",
    )
    trusted_proxies: str = _setting(
        "REGISTRY_TRUSTED_PROXIES", "",
        "Reverse proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDR networks. "
        "Empty: the header is ignored and the caller is the connection's address.",
    )
    access_token_ttl: int = _setting(
        "REGISTRY_ACCESS_TOKEN_TTL", 600, "Lifetime of access tokens in seconds (at most 900)."
    )
    token_leeway: int = _setting(
        "REGISTRY_TOKEN_LEEWAY", 30, "Clock skew in seconds tolerated on a token's `exp`, `nbf` and `iat`."
    )
    max_body_bytes: int = _setting(
        "REGISTRY_MAX_BODY_BYTES", 256 * 1024, "Largest request body accepted; a larger one gets 413."
    )
    rate_limit_client: str = _setting(
        "REGISTRY_RATE_LIMIT_CLIENT", "1200/minute",
        "Requests an authenticated client may make (flask-limiter notation, `;` between limits).",
    )
    rate_limit_address: str = _setting(
        "REGISTRY_RATE_LIMIT_ADDRESS", "600/minute", "Requests an anonymous caller may make per IP address."
    )
    rate_limit_token: str = _setting(
        "REGISTRY_RATE_LIMIT_TOKEN", "30/minute",
        "Requests to the OAuth endpoints (token, revocation, introspection) per IP address.",
    )
    rate_limit_storage_url: str = _setting(
        "REGISTRY_RATE_LIMIT_STORAGE_URL", "memory://",
        "Where rate-limit counters live. `memory://` counts per worker process; `redis://host:6379` "
        "shares them between processes and hosts.",
    )
    search_url: str = _setting(
        "REGISTRY_SEARCH_URL", "",
        "Elasticsearch (or OpenSearch-compatible) server to search with, e.g. `http://127.0.0.1:9200`. "
        "Empty: search the registry's own database (SQLite FTS5 or PostgreSQL full text).",
    )
    search_index: str = _setting(
        "REGISTRY_SEARCH_INDEX", "",
        "Name of the Elasticsearch alias searched (each `registry reindex` builds a new index behind it). "
        "Default: `registry-<node id>`.",
    )
    federation_allow_hosts: str = _setting(
        "REGISTRY_FEDERATION_ALLOW_HOSTS", "",
        "Hosts that peer and JWKS URLs may point to although they are private, loopback or link-local: "
        "comma-separated names, addresses or CIDR networks (e.g. `127.0.0.1` to run nodes side by side). "
        "Outbound requests to such addresses are refused otherwise.",
    )
    federation_timeout: int = _setting(
        "REGISTRY_FEDERATION_TIMEOUT", 30,
        "Seconds an outbound federation request may take (a snapshot: seconds between two reads).",
    )
    sync_interval: int = _setting(
        "REGISTRY_SYNC_INTERVAL", 60, "Seconds `registry sync --watch` waits between two rounds over its peers."
    )
    log_format: str = _setting(
        "REGISTRY_LOG_FORMAT", "json",
        "How `registry serve` writes its logs to standard error: `json`, one object per line with the request "
        "id, or `text` for people reading a terminal.",
    )
    metrics_allow: str = _setting(
        "REGISTRY_METRICS_ALLOW", "127.0.0.1,::1",
        "Addresses or CIDR networks that may read `/metrics` (the caller's address as the rate limits see "
        "it). `off`: `/metrics` answers 404 to everyone and nothing is counted.",
    )
    seed_path: str = _setting(
        "REGISTRY_SEED_PATH", str(PROJECT_ROOT / "seed_data"),
        "Folder holding the taxonomies and the demonstration directory.",
    )

    @classmethod
    def from_env(cls, environ=None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            if isinstance(f.default, int):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{f.metadata['env']} must be an integer, not {raw!r}") from None
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> Settings:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", self.node_id):
            raise ConfigError(f"REGISTRY_NODE_ID {self.node_id!r}: use lowercase letters, digits and '-'")
        namespace = self.namespace or self.node_id
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", namespace):
            raise ConfigError(f"REGISTRY_NAMESPACE {namespace!r}: use lowercase letters, digits and '-'")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ConfigError("REGISTRY_DEFAULT_PAGE_SIZE must be between 1 and REGISTRY_MAX_PAGE_SIZE")
        if not 1 <= self.access_token_ttl <= 900:
            raise ConfigError("REGISTRY_ACCESS_TOKEN_TTL must be between 1 and 900 seconds")
        if not 0 <= self.token_leeway <= 120:
            raise ConfigError("REGISTRY_TOKEN_LEEWAY must be between 0 and 120 seconds")
        if not 10 <= self.worker_timeout <= 3600:
            raise ConfigError("REGISTRY_WORKER_TIMEOUT must be between 10 and 3600 seconds")
        if not 1 <= self.federation_timeout <= 600:
            raise ConfigError("REGISTRY_FEDERATION_TIMEOUT must be between 1 and 600 seconds")
        if not 1 <= self.sync_interval <= 86400:
            raise ConfigError("REGISTRY_SYNC_INTERVAL must be between 1 and 86400 seconds")
        if self.response_cache_size < 0 or self.response_cache_bytes < 0:
            raise ConfigError("REGISTRY_RESPONSE_CACHE_SIZE and REGISTRY_RESPONSE_CACHE_BYTES must not be negative")
        if self.max_body_bytes < 1024:
            raise ConfigError("REGISTRY_MAX_BODY_BYTES must be at least 1024")
        for env, value in (("REGISTRY_RATE_LIMIT_CLIENT", self.rate_limit_client),
                           ("REGISTRY_RATE_LIMIT_ADDRESS", self.rate_limit_address),
                           ("REGISTRY_RATE_LIMIT_TOKEN", self.rate_limit_token)):
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"{env} {value!r}: use a rate such as '600/minute' or '10/second;500/hour'") \
                    from None
        public_url = (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", public_url):
            raise ConfigError(f"REGISTRY_PUBLIC_URL {public_url!r}: give an http(s) URL")
        if self.search_url and not re.fullmatch(r"https?://[^/?#\s]+/?", self.search_url):
            raise ConfigError(f"REGISTRY_SEARCH_URL {self.search_url!r}: give the server's http(s) URL, "
                              "e.g. http://127.0.0.1:9200")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"REGISTRY_TRUSTED_PROXIES: {exc}") from None
        if self.log_format not in ("json", "text"):
            raise ConfigError(f"REGISTRY_LOG_FORMAT {self.log_format!r}: use json or text")
        try:
            self.metrics_networks()
        except ValueError as exc:
            raise ConfigError(f"REGISTRY_METRICS_ALLOW: {exc} (or `off`)") from None
        search_index = self.search_index or f"registry-{self.node_id}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,150}", search_index):
            raise ConfigError(f"REGISTRY_SEARCH_INDEX {search_index!r}: use lowercase letters, digits, '-' and '_'")
        database_url = self.database_url or f"sqlite:///{Path(self.instance_path) / 'registry.sqlite3'}"
        return dataclasses.replace(self, namespace=namespace, database_url=database_url, public_url=public_url,
                                   search_index=search_index)

    def metrics_networks(self) -> list:
        """Who may read /metrics; empty when metrics are off."""
        return [] if self.metrics_allow.strip().lower() == "off" else parse_networks(self.metrics_allow)

    @classmethod
    def documented(cls) -> list[tuple[str, str]]:
        return [(f.metadata["env"], f.metadata["help"]) for f in dataclasses.fields(cls)]
