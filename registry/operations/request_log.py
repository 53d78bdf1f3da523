"""The access log and the logging configuration of `registry serve`.

Every log line written while a request is served carries its id (`registry.api.request_ids`).
`registry serve` writes the access log itself, one line per request (gunicorn's own is off), as JSON by
default (`REGISTRY_LOG_FORMAT`): time, level, logger, message and the request's fields, never its query
string (it holds what practitioners search for)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request

from registry.api.request_ids import request_id, request_started

access_log = logging.getLogger("registry.access")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


def init_request_log(app: Flask) -> None:
    from registry.operations.health import QUIET_PATHS

    @app.after_request
    def log_the_answer(response: Response) -> Response:
        if request.path not in QUIET_PATHS and access_log.isEnabledFor(logging.INFO):
            from registry.auth.protection import current_caller

            started = request_started()
            duration = round((time.monotonic() - started) * 1000, 2) if started else None
            client_id = current_caller().client_id
            access_log.info("%s %s %s %s ms %s %s", request.method, request.path, response.status_code, duration,
                            request.remote_addr, client_id or "-", extra={
                "method": request.method, "path": request.path,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code, "duration_ms": duration,
                "address": request.remote_addr, "client_id": client_id,
                "user_agent": request.user_agent.string[:200] or None,
            })
        return response


def logging_config(log_format: str) -> dict:
    """A `logging.config.dictConfig` for `registry serve`: everything to standard error, one line per
    record, JSON or text, with the request id."""
    formatter = ({"()": "pythonjsonlogger.json.JsonFormatter",
                  "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
                  "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
                  "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
                 if log_format == "json" else
                 {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s (request %(request_id)s)",
                  "datefmt": "%Y-%m-%dT%H:%M:%S%z"})
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "registry",
               "filters": ["request_id"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"registry": formatter},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
            # Each worker checks the schema at start; its plugin set-up lines are noise.
            "alembic": {"level": "WARNING"},
        },
    }
