"""gunicorn, run from Python so that `registry serve` needs no separate configuration file."""

from __future__ import annotations

import os
import re

import orjson
from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker

_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ([^\r\n]*)\r\n")


class _ProblemSocket:
    """The client socket as gunicorn's error page writer sees it: the HTML page it writes for a request it
    could not parse (a request line or headers over its limits, a malformed request) goes out as an
    RFC 9457 problem instead, with the same status. Everything else is the socket's own."""

    def __init__(self, sock):
        self._sock = sock

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def sendall(self, data: bytes):
        status = _STATUS_LINE.match(data)
        if status is None:
            return self._sock.sendall(data)
        code, reason = int(status.group(1)), status.group(2).decode("latin1")
        detail = ("The request line or its headers are longer than this server reads, or malformed: send a "
                  "shorter URL (filters in the query, not the path) and fewer or shorter headers."
                  if code < 500 else "The server failed to answer; the error has been logged.")
        body = orjson.dumps({"type": "about:blank", "title": reason, "status": code, "detail": detail})
        head = (f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin1")
        return self._sock.sendall(head + body)


class ProblemSyncWorker(SyncWorker):
    """gunicorn's sync worker, answering the requests it refuses itself with problem+json like the registry."""

    def handle_error(self, req, client, addr, exc):
        super().handle_error(req, _ProblemSocket(client), addr, exc)


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from registry import create_app

        return create_app()


def serve(settings) -> None:
    """gunicorn with the registry's worker class, its logging (JSON or text, the app writes the access
    log) and the metrics shared by its workers."""
    import atexit
    import shutil
    from pathlib import Path

    from registry.operations.request_log import logging_config

    # Before any worker imports prometheus-client (this process must not import it: the workers
    # inherit its modules): it picks its storage when imported. One folder per `registry serve`, so
    # that two of them on one instance folder do not mix their counts; those of servers that are gone
    # are removed.
    metrics_root = Path(settings.instance_path) / "metrics"
    metrics_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in metrics_root.iterdir():
        if not (folder.name.isdigit() and _alive(int(folder.name))):
            shutil.rmtree(folder, ignore_errors=True)
    master = os.getpid()
    metrics_dir = metrics_root / str(master)
    shutil.rmtree(metrics_dir, ignore_errors=True)  # a dead server's, whose pid this process got again
    metrics_dir.mkdir(mode=0o700)

    @atexit.register
    def remove_metrics():  # the workers inherit this handler and exit through sys.exit too
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    _Server({
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "worker_class": "registry.server.ProblemSyncWorker",
        "accesslog": None,
        "logconfig_dict": logging_config(settings.log_format),
        "child_exit": _child_exit,
        # gunicorn 25+ opens a control socket under $HOME by default; the registry needs none.
        "control_socket_disable": True,
        # A sync worker must finish each answer within it, streamed ones included (snapshots and
        # the directory feed of a large directory).
        "timeout": settings.worker_timeout,
    }).run()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _child_exit(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
