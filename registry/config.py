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


def _setting(env: str, default, help: str, shown: str):
    """A setting read from `env`; `help` and `shown` (the default as people read it) make its row of
    the README's settings table, which is generated from here (`make docs`)."""
    return field(default=default, metadata={"env": env, "help": help, "shown": shown})


@dataclass(frozen=True)
class Settings:
    node_id: str = _setting(
        "REGISTRY_NODE_ID", "local",
        "This node's identity in the federation (lowercase letters, digits, `-`). It is the `origin` of every "
        "record the node publishes.",
        shown="`local`",
    )
    namespace: str = _setting(
        "REGISTRY_NAMESPACE", "",
        "Id namespace of the records this node issues: ids are `<namespace>:<local id>`, e.g. `local:kg-gpo`.",
        shown="the node id",
    )
    instance_path: str = _setting(
        "REGISTRY_INSTANCE_PATH", str(PROJECT_ROOT / "instance"),
        "Folder for the embedded database and the generated keys (`keys/access-tokens.json`, mode 0600). Created "
        "at start.",
        shown="`./instance`",
    )
    database_url: str = _setting(
        "REGISTRY_DATABASE_URL", "",
        "SQLAlchemy URL. PostgreSQL: `postgresql+psycopg://user@host:port/db`.",
        shown="SQLite `registry.sqlite3` in the instance folder",
    )
    host: str = _setting(
        "REGISTRY_HOST", "127.0.0.1",
        "Address `registry serve` binds to.",
        shown="`127.0.0.1`",
    )
    port: int = _setting(
        "REGISTRY_PORT", 8000,
        "Port `registry serve` listens on.",
        shown="`8000`",
    )
    workers: int = _setting(
        "REGISTRY_WORKERS", 2,
        "gunicorn worker processes for `registry serve`.",
        shown="`2`",
    )
    worker_timeout: int = _setting(
        "REGISTRY_WORKER_TIMEOUT", 120,
        "Seconds a gunicorn (sync) worker may spend on one answer before it is restarted, streamed answers "
        "included: a federation snapshot or the directory feed of the 120,000-record benchmark directory takes "
        "10–30 s to serve. Raise it for larger directories.",
        shown="`120`",
    )
    default_page_size: int = _setting(
        "REGISTRY_DEFAULT_PAGE_SIZE", 50,
        "Page size when a request gives none.",
        shown="`50`",
    )
    lookup_page_size: int = _setting(
        "REGISTRY_LOOKUP_PAGE_SIZE", 10,
        "Authorities per page of `/api/v1/lookup` when a request gives no `page_size`: a practitioner needs the "
        "first few, ranked; `total` and the `Link` header lead to the rest.",
        shown="`10`",
    )
    max_page_size: int = _setting(
        "REGISTRY_MAX_PAGE_SIZE", 200,
        "Largest `page_size` a request may ask for; more is a 422.",
        shown="`200`",
    )
    response_cache_size: int = _setting(
        "REGISTRY_RESPONSE_CACHE_SIZE", 2048,
        "GET answers each worker process keeps (0: no cache). Entries are keyed by what the route reads of the "
        "request (path parameters, its query arguments as validated, the representation negotiated from "
        "`Accept`), the caller's scopes, the day and the data version (the last arrival and the sum of the "
        "origins' change-log counters), so a write is visible at once in every process; with Elasticsearch also "
        "by how far its index has followed the change log, so an answer built while the index lagged is not "
        "served once it has caught up. A parameter the route does not read, an unknown media type in `Accept` or "
        "a request the route refuses makes no entry.",
        shown="`2048`",
    )
    response_cache_bytes: int = _setting(
        "REGISTRY_RESPONSE_CACHE_BYTES", 32 * 1024 * 1024,
        "Bytes of answers (bodies and headers) each worker's response cache holds at most (32 MiB), least "
        "recently used out first; an answer larger than a sixteenth of it is not kept. 0: no cache.",
        shown="`33554432`",
    )
    public_url: str = _setting(
        "REGISTRY_PUBLIC_URL", "",
        "The URL clients reach this node at: the `iss` and `aud` of its access tokens, the base of the metadata's"
        " endpoint URLs and of every absolute URL in answers (`Link`, `Location`, exports, webhooks). The "
        "request's `Host` header is never used for them. Set it behind a proxy.",
        shown="`http://HOST:PORT`",
    )
    trusted_proxies: str = _setting(
        "REGISTRY_TRUSTED_PROXIES", "",
        "Reverse proxies whose `X-Forwarded-For` is believed, as comma-separated addresses or CIDR networks (e.g."
        " `127.0.0.1` for a proxy on the same host). When a request comes from one of them, the caller is the "
        "rightmost address of `X-Forwarded-For` that is not a trusted proxy; rate limits and the audit log count "
        "that address. Empty: the header is ignored. No other forwarded header is used.",
        shown="empty",
    )
    access_token_ttl: int = _setting(
        "REGISTRY_ACCESS_TOKEN_TTL", 600,
        "Lifetime of access tokens in seconds (1 to 900).",
        shown="`600`",
    )
    token_leeway: int = _setting(
        "REGISTRY_TOKEN_LEEWAY", 30,
        "Clock skew in seconds tolerated on `exp`, `nbf` and `iat` (0 to 120).",
        shown="`30`",
    )
    max_body_bytes: int = _setting(
        "REGISTRY_MAX_BODY_BYTES", 256 * 1024,
        "Largest request body; a larger one is a 413.",
        shown="`262144`",
    )
    rate_limit_client: str = _setting(
        "REGISTRY_RATE_LIMIT_CLIENT", "1200/minute",
        "Requests per authenticated client (flask-limiter notation; `;` separates several limits, e.g. "
        "`20/second;1200/minute`).",
        shown="`1200/minute`",
    )
    rate_limit_address: str = _setting(
        "REGISTRY_RATE_LIMIT_ADDRESS", "600/minute",
        "Requests per IP address from anonymous callers.",
        shown="`600/minute`",
    )
    rate_limit_token: str = _setting(
        "REGISTRY_RATE_LIMIT_TOKEN", "30/minute",
        "Requests per IP address to `/oauth/token`, `/oauth/revoke` and `/oauth/introspect`, where secrets are "
        "tried.",
        shown="`30/minute`",
    )
    rate_limit_storage_url: str = _setting(
        "REGISTRY_RATE_LIMIT_STORAGE_URL", "memory://",
        "Where rate-limit counters live. `memory://` counts per worker process (so the effective limit is "
        "multiplied by `REGISTRY_WORKERS`); `redis://127.0.0.1:6379` shares them between processes and hosts.",
        shown="`memory://`",
    )
    search_url: str = _setting(
        "REGISTRY_SEARCH_URL", "",
        "An Elasticsearch (or OpenSearch-compatible) server to search with, e.g. `http://127.0.0.1:9200` "
        "(credentials in the URL if needed). Empty: search the registry's own database (SQLite FTS5, or "
        "PostgreSQL full text). See [Search](#search).",
        shown="empty",
    )
    search_index: str = _setting(
        "REGISTRY_SEARCH_INDEX", "",
        "The Elasticsearch alias searched and written; each `registry reindex` builds a new index "
        "`<alias>-<timestamp>` behind it.",
        shown="`registry-<node id>`",
    )
    federation_allow_hosts: str = _setting(
        "REGISTRY_FEDERATION_ALLOW_HOSTS", "",
        "Hosts that are not globally reachable (private, shared, loopback, link-local...) that peer, JWKS and "
        "webhook URLs may point to: comma-separated names, addresses or CIDR networks (`127.0.0.1` to run nodes "
        "side by side, `10.0.0.0/8` inside a private network). Outbound requests to such addresses are refused "
        "otherwise.",
        shown="empty",
    )
    federation_timeout: int = _setting(
        "REGISTRY_FEDERATION_TIMEOUT", 30,
        "Seconds an outbound federation request may take in all (connect, headers and body); for a snapshot, the "
        "longest wait between two reads.",
        shown="`30`",
    )
    sync_interval: int = _setting(
        "REGISTRY_SYNC_INTERVAL", 60,
        "Seconds `registry sync --watch` waits between two rounds over its peers.",
        shown="`60`",
    )
    checkpoint_max_age: int = _setting(
        "REGISTRY_CHECKPOINT_MAX_AGE", 3600,
        "Seconds after which an origin's freshest checkpoint (its signed statement of what it holds, relayed "
        "by peers) is reported as stale by `registry sync status`, `/api/v1/federation/status` and the "
        "metrics: the origin, or every path to it, has not been heard from since.",
        shown="`3600`",
    )
    log_format: str = _setting(
        "REGISTRY_LOG_FORMAT", "json",
        "How `registry serve` writes its logs to standard error: `json`, one object per line (`time`, `level`, "
        "`logger`, `message`, `request_id`, `pid`, and for the access log `method`, `path`, `route`, `status`, "
        "`duration_ms`, `address`, `client_id`, `user_agent`; never the query string), or `text` for a terminal. "
        "The application writes the access log (gunicorn's own is off); `/healthz`, `/readyz` and `/metrics` are "
        "left out of it.",
        shown="`json`",
    )
    metrics_allow: str = _setting(
        "REGISTRY_METRICS_ALLOW", "127.0.0.1,::1",
        "Addresses or CIDR networks that may read `/metrics`, judged on the caller's address as the rate limits "
        "see it (behind a trusted proxy, the forwarded one). Others get a 404. `off`: `/metrics` is off (404 to "
        "everyone) and nothing is counted.",
        shown="`127.0.0.1,::1`",
    )
    smtp_url: str = _setting(
        "REGISTRY_SMTP_URL", "",
        "Where mail goes out (invitations): `smtp://host:port` (plain, as to a local relay), "
        "`smtp+starttls://user:password@host:587` (STARTTLS, then sign in) or `smtps://user:password@host:465` "
        "(TLS from the start); user and password URL-encoded. Empty: no mail is sent, and the invitation "
        "command prints the link to pass on.",
        shown="none",
    )
    mail_from: str = _setting(
        "REGISTRY_MAIL_FROM", "registry@localhost",
        "The sender address of the registry's mail.",
        shown="`registry@localhost`",
    )
    smtp_timeout: int = _setting(
        "REGISTRY_SMTP_TIMEOUT", 10,
        "Seconds to wait for the SMTP server before reporting the mail as not sent (the request that sent it "
        "waits no longer; the invitation can be re-sent).",
        shown="`10`",
    )
    invitation_ttl: int = _setting(
        "REGISTRY_INVITATION_TTL", 72 * 3600,
        "Seconds an invitation link stays valid.",
        shown="`259200` (3 days)",
    )
    verify_period_days: int = _setting(
        "REGISTRY_VERIFY_PERIOD_DAYS", 365,
        "Days a contact point's `verified_at` counts as confirmed; older, or never verified, it is due for the "
        "next verification round (`registry verify run`).",
        shown="`365`",
    )
    verify_link_ttl: int = _setting(
        "REGISTRY_VERIFY_LINK_TTL", 30 * 86400,
        "Seconds a verification link stays valid after its message (a reminder gives it this long again).",
        shown="`2592000` (30 days)",
    )
    verify_rate: int = _setting(
        "REGISTRY_VERIFY_RATE", 60,
        "Verification messages (requests and reminders) a node sends per network per minute; a round with more "
        "sends the rest in the following minutes (`registry verify run` waits for them, the console's button "
        "says how many are left for the next click).",
        shown="`60`",
    )
    bounce_maildir: str = _setting(
        "REGISTRY_BOUNCE_MAILDIR", "",
        "A Maildir into which the operator's mail server delivers the delivery-status notifications (bounces) "
        "sent back to REGISTRY_MAIL_FROM; `registry verify bounces` reads it and marks the addresses that "
        "bounced. Empty: only refusals at sending time are seen.",
        shown="none",
    )
    session_idle_timeout: int = _setting(
        "REGISTRY_SESSION_IDLE_TIMEOUT", 30 * 60,
        "Seconds without a request after which a signed-in person must sign in again.",
        shown="`1800`",
    )
    session_max_age: int = _setting(
        "REGISTRY_SESSION_MAX_AGE", 12 * 3600,
        "Seconds after signing in at which a session ends, however active.",
        shown="`43200`",
    )
    session_cookie_secure: str = _setting(
        "REGISTRY_SESSION_COOKIE_SECURE", "auto",
        "Whether the session cookie is marked `Secure` (sent over HTTPS only): `on`, `off`, or `auto`, which is "
        "`on` unless REGISTRY_PUBLIC_URL is plain HTTP on this machine (`http://127.0.0.1`, `http://localhost`).",
        shown="`auto`",
    )
    sign_in_limit_account: str = _setting(
        "REGISTRY_SIGN_IN_LIMIT_ACCOUNT", "5/15 minutes",
        "Failed sign-in steps (password, second factor) per account before it must wait; counted in the rate-limit "
        "storage, so shared by every worker and host using it.",
        shown="`5/15 minutes`",
    )
    sign_in_limit_address: str = _setting(
        "REGISTRY_SIGN_IN_LIMIT_ADDRESS", "20/15 minutes",
        "Failed sign-in steps per IP address, whatever the account.",
        shown="`20/15 minutes`",
    )
    seed_path: str = _setting(
        "REGISTRY_SEED_PATH", str(PROJECT_ROOT / "seed_data"),
        "Folder with the taxonomies and the demonstration directory.",
        shown="`./seed_data`",
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
        if not 1 <= self.lookup_page_size <= self.max_page_size:
            raise ConfigError("REGISTRY_LOOKUP_PAGE_SIZE must be between 1 and REGISTRY_MAX_PAGE_SIZE")
        if not 1 <= self.access_token_ttl <= 900:
            raise ConfigError("REGISTRY_ACCESS_TOKEN_TTL must be between 1 and 900 seconds")
        if not 0 <= self.token_leeway <= 120:
            raise ConfigError("REGISTRY_TOKEN_LEEWAY must be between 0 and 120 seconds")
        if not 10 <= self.worker_timeout <= 3600:
            raise ConfigError("REGISTRY_WORKER_TIMEOUT must be between 10 and 3600 seconds")
        if not 1 <= self.federation_timeout <= 600:
            raise ConfigError("REGISTRY_FEDERATION_TIMEOUT must be between 1 and 600 seconds")
        if not 60 <= self.checkpoint_max_age <= 30 * 86400:
            raise ConfigError("REGISTRY_CHECKPOINT_MAX_AGE must be between 60 seconds and 30 days")
        if not 1 <= self.sync_interval <= 86400:
            raise ConfigError("REGISTRY_SYNC_INTERVAL must be between 1 and 86400 seconds")
        if self.response_cache_size < 0 or self.response_cache_bytes < 0:
            raise ConfigError("REGISTRY_RESPONSE_CACHE_SIZE and REGISTRY_RESPONSE_CACHE_BYTES must not be negative")
        if self.max_body_bytes < 1024:
            raise ConfigError("REGISTRY_MAX_BODY_BYTES must be at least 1024")
        for env, value in (("REGISTRY_RATE_LIMIT_CLIENT", self.rate_limit_client),
                           ("REGISTRY_RATE_LIMIT_ADDRESS", self.rate_limit_address),
                           ("REGISTRY_RATE_LIMIT_TOKEN", self.rate_limit_token),
                           ("REGISTRY_SIGN_IN_LIMIT_ACCOUNT", self.sign_in_limit_account),
                           ("REGISTRY_SIGN_IN_LIMIT_ADDRESS", self.sign_in_limit_address)):
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
        if self.smtp_url and not re.fullmatch(r"(smtp|smtps|smtp\+starttls)://([^@/\s]+@)?[^/@\s]+/?", self.smtp_url):
            raise ConfigError("REGISTRY_SMTP_URL: give smtp://host:port, smtp+starttls://user:password@host:port "
                              "or smtps://user:password@host:port")
        if self.session_cookie_secure not in ("auto", "on", "off"):
            raise ConfigError(f"REGISTRY_SESSION_COOKIE_SECURE {self.session_cookie_secure!r}: use auto, on or off")
        if not 60 <= self.session_idle_timeout <= self.session_max_age <= 30 * 86400:
            raise ConfigError("REGISTRY_SESSION_IDLE_TIMEOUT must be at least 60 seconds and at most "
                              "REGISTRY_SESSION_MAX_AGE, itself at most 30 days")
        if not 300 <= self.invitation_ttl <= 30 * 86400:
            raise ConfigError("REGISTRY_INVITATION_TTL must be between 300 seconds and 30 days")
        if not 1 <= self.verify_period_days <= 3660:
            raise ConfigError("REGISTRY_VERIFY_PERIOD_DAYS must be between 1 and 3660 days")
        if not 3600 <= self.verify_link_ttl <= 90 * 86400:
            raise ConfigError("REGISTRY_VERIFY_LINK_TTL must be between 3600 seconds and 90 days")
        if not 1 <= self.verify_rate <= 10_000:
            raise ConfigError("REGISTRY_VERIFY_RATE must be between 1 and 10000 messages a minute")
        if not 1 <= self.smtp_timeout <= 120:
            raise ConfigError("REGISTRY_SMTP_TIMEOUT must be between 1 and 120 seconds")
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

    @property
    def secure_cookies(self) -> bool:
        if self.session_cookie_secure != "auto":
            return self.session_cookie_secure == "on"
        return not re.match(r"http://(127\.0\.0\.1|localhost|\[::1\])[:/]|http://(127\.0\.0\.1|localhost)$",
                            self.public_url)

    def metrics_networks(self) -> list:
        """Who may read /metrics; empty when metrics are off."""
        return [] if self.metrics_allow.strip().lower() == "off" else parse_networks(self.metrics_allow)

    @classmethod
    def documented(cls) -> list[tuple[str, str]]:
        return [(f.metadata["env"], f.metadata["help"]) for f in dataclasses.fields(cls)]
