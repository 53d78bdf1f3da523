"""What the Prometheus metrics cost: the lookup benchmark against the registry with metrics (the
default) and without (`REGISTRY_METRICS_ALLOW=off`: nothing is counted), and the bare Flask app, in
the same run, response cache off so that every lookup is computed.

The directory is generate.py's with fewer records by default (2,000 authorities, 10,000 contact
points: about a minute to generate), in bench/out/directory-12k.sqlite3; `--database-url` takes
another (e.g. the 120k directory of run.py).

    .venv/bin/python bench/metrics_cost.py [--duration 10] [--connections 8]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
from run import (  # noqa: E402
    ENDPOINTS,
    OUT_DIR,
    Endpoint,
    bare_server,
    free_port,
    http_get,
    markdown_table,
    parse_load_options,
    registry_server,
    run_python,
    run_wrk,
)

SMALL_URL = f"sqlite:///{OUT_DIR / 'directory-12k.sqlite3'}"


def main(argv=None) -> int:
    args = parse_load_options(argv, __doc__)
    if args.database_url == generate.DEFAULT_DATABASE_URL:
        database_url = SMALL_URL
        generate.ensure(database_url, authorities=2_000, contact_points=10_000, notes=60)
    else:
        database_url = args.database_url
        generate.ensure(database_url)
    load = run_wrk if shutil.which("wrk") and args.load_generator != "python" else run_python
    lookup = next(e for e in ENDPOINTS if e.name == "lookup")
    bare = next(e for e in ENDPOINTS if e.server == "bare")
    uncached = {"REGISTRY_RESPONSE_CACHE_SIZE": "0"}
    servers = {
        "bare Flask (baseline)": (bare_server(free_port(), args.workers), bare),
        "lookup, metrics on": (registry_server(database_url, free_port(), args.workers, name="metrics-on",
                                               settings=uncached), lookup),
        "lookup, metrics off": (registry_server(database_url, free_port(), args.workers, name="metrics-off",
                                                settings=uncached | {"REGISTRY_METRICS_ALLOW": "off"}), lookup),
    }
    results = {}
    try:
        for server, _ in servers.values():
            server.start()
        for server, _ in servers.values():
            server.wait_ready()
        on_port = servers["lookup, metrics on"][0].port
        off_port = servers["lookup, metrics off"][0].port
        assert http_get(on_port, "/metrics")[0] == 200 and http_get(off_port, "/metrics")[0] == 404
        # Interleaved rounds: a slower minute of the machine hurts both sides alike.
        for _round in range(2):
            for name, (server, endpoint) in servers.items():
                named = Endpoint(name, endpoint.server, endpoint.paths)
                if args.warmup > 0:
                    load(named, server.port, args.warmup, args.connections, args.threads)
                result = load(named, server.port, args.duration, args.connections, args.threads)
                best = results.get(name)
                results[name] = result if best is None or result.rps > best.rps else best
    finally:
        for server, _ in servers.values():
            server.stop()
    baseline = results["bare Flask (baseline)"].rps
    off = results["lookup, metrics off"].rps
    rows = [("", "req/s", "p50 ms", "p99 ms", "vs bare", "vs metrics off", "errors")]
    for name, r in results.items():
        rows.append((name, f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", f"{r.rps / baseline:.3f}",
                     f"{r.rps / off:.3f}" if name.startswith("lookup") else "", str(r.errors)))
    print("\n".join(markdown_table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
