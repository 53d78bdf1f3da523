"""What a worker's response cache costs in memory when callers vary what they send: the worker's
resident memory before and after N requests that repeat one path (the baseline), that each add an
unknown query parameter, that each send another `Accept`, and that each ask a different valid list
(page size and country) (the answers the cache should keep, up to REGISTRY_RESPONSE_CACHE_BYTES).

Each case runs on a freshly started `registry serve` with one gunicorn worker, over the seeded
demonstration directory, in the same run.

    .venv/bin/python bench/cache_memory.py [--requests 5000]
"""

from __future__ import annotations

import argparse
import http.client
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from export import kib, worker_of  # noqa: E402
from run import OUT_DIR, free_port, markdown_table, registry_server  # noqa: E402

from registry import migrations  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.context import Context  # noqa: E402
from registry.services.seed import seed  # noqa: E402

DATABASE = OUT_DIR / "cache-memory.sqlite3"
COUNTRIES = ("KG", "KZ", "UZ", "TJ", "FR", "NG", "TH", "NL", "SN", "AT")
CASES = {
    "one path, repeated (baseline)": lambda n: ("/api/v1/openapi.json", {}),
    "unknown parameter per request": lambda n: (f"/api/v1/openapi.json?junk{n}=x", {}),
    "another Accept per request": lambda n: ("/api/v1/openapi.json", {"Accept": f"application/x-junk-{n}"}),
    "another valid list per request": lambda n: (f"/api/v1/authorities?page_size={n % 200 + 1}"
                                                 f"&country={COUNTRIES[n // 200 % len(COUNTRIES)]}", {}),
}


def prepared_database() -> str:
    url = f"sqlite:///{DATABASE}"
    if not DATABASE.exists():
        OUT_DIR.mkdir(exist_ok=True)
        migrations.upgrade(url)
        ctx = Context.create(Settings.from_env({}, database_url=url, instance_path=str(OUT_DIR / "instance")))
        seed(ctx)
        ctx.db.dispose()
    return url


def run_case(url: str, make_request, requests: int) -> tuple[int, int, int]:
    """(RSS before, RSS after in KiB, answers that were not 2xx/4xx)."""
    port = free_port()
    server = registry_server(url, port, 1, name="cache-memory")
    try:
        server.start()
        server.wait_ready()
        worker = worker_of(server.process.pid)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path, headers = make_request(0)
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
        before, odd = kib(worker, "VmRSS"), 0
        for n in range(requests):
            path, headers = make_request(n)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            odd += response.status >= 500
        return before, kib(worker, "VmRSS"), odd
    finally:
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per case")
    options = parser.parse_args(argv)
    url = prepared_database()
    rows = [("case", "requests", "RSS before (MiB)", "RSS after (MiB)", "growth (MiB)", "5xx")]
    for name, make_request in CASES.items():
        before, after, odd = run_case(url, make_request, options.requests)
        growth = (after - before) / 1024
        rows.append((name, f"{options.requests:,}", f"{before / 1024:.1f}", f"{after / 1024:.1f}", f"{growth:+.1f}",
                     str(odd)))
    print("\n".join(markdown_table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
