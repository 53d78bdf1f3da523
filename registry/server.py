"""gunicorn, run from Python so that `registry serve` needs no separate configuration file."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


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


def serve(host: str, port: int, workers: int, timeout: int) -> None:
    _Server({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "accesslog": "-",
        # gunicorn 25+ opens a control socket under $HOME by default; the registry needs none.
        "control_socket_disable": True,
        # A sync worker must finish each answer within it, streamed ones included (snapshots and
        # the directory feed of a large directory).
        "timeout": timeout,
    }).run()
