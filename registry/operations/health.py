"""`/healthz` (the process answers) and `/readyz` (it can serve: the database, the search engine and
the keys are reachable), for load balancers and orchestrators, and `/metrics` for Prometheus. Not part
of the API: no version prefix, no tiers, no rate limits, no access-log lines."""

from __future__ import annotations

import ipaddress
import logging
import time

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import text

from registry.api import problems

blp = Blueprint("operations", __name__)
log = logging.getLogger(__name__)

# Paths whose requests the access log leaves out: a probe every few seconds would drown the traffic.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@blp.get("/healthz")
def healthz():
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    """Each check with its time; 503 as a problem naming what failed when one does."""
    ctx = current_app.extensions["registry"]
    checks, failed = {}, []
    for name, check in (("database", _database), ("search", _search), ("keys", _keys)):
        started = time.monotonic()
        try:
            detail = check(ctx)
            checks[name] = {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)} | detail
        except Exception as exc:  # a probe reports every failure as not ready, never as a 500
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = {"status": "failing", "error": f"{type(exc).__name__}: {exc}"[:300]}
            failed.append(name)
    if failed:
        return problems.problem(503, "Not ready", f"Failing: {', '.join(failed)}.", headers={"Retry-After": "5"},
                                checks=checks)
    return {"status": "ready", "checks": checks}


def _database(ctx) -> dict:
    with ctx.db.read() as session:
        session.execute(text("SELECT 1"))
    return {"backend": ctx.db.dialect}


def _search(ctx) -> dict:
    status = ctx.search.status()
    return {"backend": status["backend"], "pending": status.get("pending", 0)}


def _keys(ctx) -> dict:
    return {"access_tokens": ctx.token_keys.current_kid, "record_signing": ctx.record_keys.current_kid}


@blp.get("/metrics")
def metrics():
    """Prometheus text format, to the addresses of REGISTRY_METRICS_ALLOW only (404 to the others,
    which learn nothing of it)."""
    ctx = current_app.extensions["registry"]
    allowed = ctx.settings.metrics_networks()
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        abort(404)
    if not any(address in network for network in allowed):
        abort(404)
    from registry.operations.metrics import exposition

    body, content_type = exposition(ctx)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
