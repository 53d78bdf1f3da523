"""The contact-point registry: a federated directory of authorities and contact points for
international cooperation in criminal matters."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from registry.config import Settings
from registry.context import Context
from registry.wsgi import BodyLimit, TrustedProxies, parse_networks


def create_app(settings: Settings | None = None) -> Flask:
    """config -> db -> operations -> auth -> api -> pages."""
    settings = settings or Settings.from_env()
    # The instance folder holds the keys and the embedded database: its owner's only.
    Path(settings.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(Path(settings.instance_path).resolve()))
    app.json.sort_keys = False
    app.extensions["registry"] = ctx = Context.create(settings)

    from registry.api import init_api
    from registry.auth.server import init_authorization_server
    from registry.operations import exempt_from_rate_limits, init_operations
    from registry.web import init_web

    init_operations(app)
    init_authorization_server(app, ctx)
    init_api(app)
    init_web(app)
    exempt_from_rate_limits(app)
    app.wsgi_app = BodyLimit(TrustedProxies(app.wsgi_app, parse_networks(settings.trusted_proxies)),
                             settings.max_body_bytes)
    return app
