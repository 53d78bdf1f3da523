"""Prometheus metrics.

Request counts and latencies per route and status, response-cache hits and misses and rate-limit
refusals are counted by each worker process; under `registry serve` the workers share them through
prometheus-client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set by `registry serve` to a folder
it empties at start), so one scrape of any worker sees the sum. What the database knows (sync lag per
origin, failing webhook subscriptions, how far the search index follows the change log) is read at
scrape time, so it is true whichever process answers and whoever did the work (`registry sync --watch`
runs elsewhere)."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from registry.api.cache import CACHE_OUTCOME
from registry.api.request_ids import request_started
from registry.operations.health import QUIET_PATHS

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("registry_http_requests_total", "Requests answered, by route, method and status.",
                   ["route", "method", "status"])
LATENCY = Histogram("registry_http_request_duration_seconds", "Time to answer (to the first byte of a streamed "
                    "answer), by route and method.", ["route", "method"],
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
CACHE = Counter("registry_response_cache_total", "Cacheable GET requests, by outcome (hit or miss).", ["outcome"])
RATE_LIMITED = Counter("registry_rate_limit_refusals_total", "Requests refused with 429, by route.", ["route"])


def init_metrics(app: Flask) -> None:
    """Counting costs a little on every request: nothing is counted when nobody may read the metrics."""
    if not app.extensions["registry"].settings.metrics_networks():
        return

    @app.after_request
    def count(response: Response) -> Response:
        if request.path in QUIET_PATHS:
            return response
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = request_started()
        if started is not None:
            LATENCY.labels(route, request.method).observe(time.monotonic() - started)
        outcome = request.environ.get(CACHE_OUTCOME)
        if outcome:
            CACHE.labels(outcome).inc()
        if response.status_code == 429:
            RATE_LIMITED.labels(route).inc()
        return response


def exposition(ctx) -> tuple[bytes, str]:
    """The metrics of every worker (or of this process, outside `registry serve`) and the database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_DatabaseCollector(ctx))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ThisProcess:
    def collect(self):
        yield from REGISTRY.collect()


class _DatabaseCollector:
    def __init__(self, ctx):
        self.ctx = ctx

    def collect(self):
        from registry.federation.status import sync_status
        from registry.services.deliveries import failure_counts

        lag_records = GaugeMetricFamily("registry_sync_lag_records", "Changes the origin has published that this "
                                        "node does not hold yet, as its freshest source says.", labels=["origin"])
        lag_seconds = GaugeMetricFamily("registry_sync_lag_seconds", "Seconds this node has been behind the origin "
                                        "(0 when it holds everything known).", labels=["origin"])
        failing = GaugeMetricFamily("registry_sync_failing", "1 when the origin's last sync attempt failed.",
                                    labels=["origin"])
        for status in sync_status(self.ctx):
            origin = status["origin"]
            if status["lag_records"] is not None:
                lag_records.add_metric([origin], status["lag_records"])
            if status["lag_seconds"] is not None:
                lag_seconds.add_metric([origin], status["lag_seconds"])
            last_error, last_success = status["last_error_at"], status["last_success_at"]
            failing.add_metric([origin], int(bool(last_error) and (not last_success or last_error > last_success)))
        yield from (lag_records, lag_seconds, failing)

        counts = failure_counts(self.ctx)
        webhooks = GaugeMetricFamily("registry_webhook_subscriptions", "Webhook subscriptions by state: active, "
                                     "failing (active, its last delivery failed), disabled.", labels=["state"])
        for state in ("active", "failing", "disabled"):
            webhooks.add_metric([state], counts[state])
        yield webhooks
        yield GaugeMetricFamily("registry_webhook_failed_deliveries_last_hour", "Delivery attempts that failed in "
                                "the last hour (the delivery log).", value=counts["failed_last_hour"])
        yield GaugeMetricFamily("registry_search_index_lag_changes", "Changes written that the search index has "
                                "not taken in yet (always 0 for the database's own index).",
                                value=self.ctx.search.status().get("pending", 0))
