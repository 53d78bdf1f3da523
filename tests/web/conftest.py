"""Browser tests: Debian's Chromium driven by Playwright against real gunicorn-served nodes, one per
backend for the whole session, seeded with the demonstration directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from registry.services.seed import seed
from tests.conftest import fresh_database_url
from tests.nodes import Node

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "out" / "screenshots"


@pytest.fixture(scope="session")
def served_nodes(tmp_path_factory):
    """A seeded node per backend, started the first time a test asks for it."""
    started: dict[str, Node] = {}

    def node(backend: str) -> Node:
        if backend not in started:
            instance = tmp_path_factory.mktemp(f"web-{backend}")
            served = Node("local", instance, fresh_database_url(backend, instance))
            seed(served.ctx)
            started[backend] = served.start()
        return started[backend]

    yield node
    for served in started.values():
        served.stop()


@pytest.fixture(scope="session")
def browser():
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` (or `apt-get install -y chromium`) installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A browser context on one node that records every URL the browser asked for."""

    def __init__(self, browser, node: Node, **options):
        self.node = node
        self.context = browser.new_context(base_url=node.url, **options)
        self.requested: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.page = self.context.new_page()

    def elsewhere(self) -> list[str]:
        """Requests to anything but the registry (data: and blob: URLs excepted, which go nowhere)."""
        return [url for url in self.requested
                if not url.startswith((self.node.url + "/", "data:", "blob:"))]

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser):
    """visit(node, locale=..., viewport=..., java_script_enabled=...) -> Visit; closed after the test,
    which fails if the browser asked any other host for anything."""
    opened: list[Visit] = []

    def open_visit(node: Node, **options) -> Visit:
        opened.append(Visit(browser, node, **options))
        return opened[-1]

    yield open_visit
    for v in opened:
        assert v.elsewhere() == [], "the browser asked another host"
        v.close()
