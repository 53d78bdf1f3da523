"""cProfile of the registry's request handling, in-process (Flask test client, no gunicorn, no
network): where one worker spends its time on the benchmark's requests.

    .venv/bin/python bench/profile_lookup.py [--endpoint lookup|"lookup page"|"lookup with words"|authorities]
        [--requests 300] [--database-url URL] [--sort cumulative|tottime] [--limit 40] [--cache] [--output FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import run  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [e.name for e in run.ENDPOINTS if e.server == "registry"]
    parser.add_argument("--endpoint", default="lookup", choices=names)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", generate.DEFAULT_DATABASE_URL))
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--cache", action="store_true",
                        help="keep the registry's response cache on (off by default: a cache hit computes nothing)")
    parser.add_argument("--output", default=str(generate.OUT_DIR / "profile.prof"), help="raw pstats file")
    args = parser.parse_args(argv)

    from registry import create_app
    from registry.config import Settings

    environ = {} if args.cache else {"REGISTRY_RESPONSE_CACHE_SIZE": "0"}  # ignored where the setting is unknown
    settings = Settings.from_env(environ, database_url=args.database_url,
                                 instance_path=str(generate.OUT_DIR / "instance"))
    app = create_app(settings)
    client = app.test_client()
    paths = next(e for e in run.ENDPOINTS if e.name == args.endpoint).paths
    for path in paths:  # warm caches (compiled statements, SQLite pages, first-request set-up)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.data[:300])

    started = time.perf_counter()
    for i in range(args.requests):
        client.get(paths[i % len(paths)])
    plain = time.perf_counter() - started

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.requests):
        client.get(paths[i % len(paths)])
    profiler.disable()
    profiler.dump_stats(args.output)
    print(f"{args.endpoint}: {args.requests} requests in {plain:.2f} s without the profiler "
          f"({1000 * plain / args.requests:.2f} ms per request, one process); profile in {args.output}")
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.limit)


if __name__ == "__main__":
    main()
