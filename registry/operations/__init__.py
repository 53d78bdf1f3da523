"""What an operator needs from a running node, beside the API: health and readiness probes, Prometheus
metrics and structured logs with a request id. Flask-side, like the API, on top of the services."""

from __future__ import annotations

from flask import Flask


def init_operations(app: Flask) -> None:
    """Before the API: the request id must exist before anything logs or audits, and the access log and
    the request metrics must see the answer as it finally leaves (their after-request hooks run last)."""
    from registry.api.request_ids import init_request_ids
    from registry.operations import health, metrics, request_log

    init_request_ids(app)
    request_log.init_request_log(app)
    metrics.init_metrics(app)
    app.register_blueprint(health.blp)


def exempt_from_rate_limits(app: Flask) -> None:
    """Probes and scrapes are not a caller's traffic: after the API's limiter exists."""
    from registry.operations import health

    for limiter in app.extensions.get("limiter", ()):
        limiter.exempt(health.blp)
