"""Where a free-text search spends its time, in-process, word by word: the API request, the search
backend with and without facet counts and snippets, and, on the Datasette copy `search.py` builds, the
least an SQLite FTS5 search that ranks every match can cost.

For each of `search.py`'s common words (the ones that match thousands of documents) and a few rare
ones, one process (no HTTP server, no load generator), the response cache off, the best of --repeat:

- request: `GET /api/v1/search?q=WORD&page_size=20` through the Flask test client (anonymous);
- backend: `ctx.search.search()` as that request calls it: the matches ranked, counted per type and
  country, with their facet values, the page and its snippets;
- no facets: the same without facet counts (as a list narrowed by `q` asks);
- no snippets: the same without facet counts or snippets (the ranking and the total alone);
- FTS5 match / ranked top 20 / ranked + total (SQLite copy only): the FTS5 table of
  `bench/out/datasette.sqlite3` matched alone, then ranked by bm25 for a top 20, then as `search.py`'s
  "Datasette, ranked + total" SQL (every match ranked and counted). Datasette's table search row of
  `search.py` does less than the first: it neither ranks nor counts.

    .venv/bin/python bench/search_parts.py [--database-url URL] [--repeat 7]

Run `search.py` once first (it builds bench/out/datasette.sqlite3 and the directory).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import search as search_bench  # noqa: E402

RARE = ["madrid", "melaka", "temburong", "wallis"]


def best_of(repeat: int, call) -> float:
    """The fastest of `repeat` calls, in milliseconds (after one call that warms caches)."""
    call()
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        fastest = min(fastest, time.perf_counter() - started)
    return 1000 * fastest


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", generate.DEFAULT_DATABASE_URL))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if not search_bench.DATASETTE_DB.exists():
        raise SystemExit(f"{search_bench.DATASETTE_DB} is missing: run bench/search.py first")

    from registry import create_app
    from registry.config import Settings
    from registry.search import TYPE_ORDER, SearchRequest
    from registry.search.text import parse
    from registry.services import today
    from registry.visibility import Tier

    settings = Settings.from_env({"REGISTRY_RESPONSE_CACHE_SIZE": "0"}, database_url=args.database_url,
                                 instance_path=str(generate.OUT_DIR / "instance"))
    app = create_app(settings)
    ctx = app.extensions["registry"]
    client = app.test_client()
    copy = sqlite3.connect(search_bench.DATASETTE_DB)
    weights = "10.0, 2.0"  # search.py's ranked SQL: names weighted as the registry weighs them

    def backend(q: str, **options):
        query = parse(ctx.taxonomy, q, find_country=False, find_crime_type=False, find_request_type=False)
        request = SearchRequest(query=query, tier=Tier.PUBLIC, on=today(), types=tuple(TYPE_ORDER), **options)
        return lambda: ctx.search.search(request)

    def sql(statement: str, q: str):
        return lambda: copy.execute(statement, {"q": search_bench.fts_phrase(q)}).fetchall()

    ranked_total = search_bench.RANKED_SQL.format(country="", size=search_bench.PAGE_SIZE).replace(
        "escape_fts(:q)", ":q")
    columns = ("matches", "request", "backend", "no facets", "no snippets", "FTS5 match", "ranked top 20",
               "ranked + total")
    print(f"{ctx.search.name}, {args.database_url.split('://')[0]}; milliseconds, best of {args.repeat}, "
          "one process, response cache off")
    print("| word | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    totals = dict.fromkeys(columns[1:], 0.0)
    words = search_bench.GENERIC + RARE
    for q in words:
        path = "/api/v1/search?" + urlencode({"q": q, "page_size": search_bench.PAGE_SIZE})
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        times = {
            "request": best_of(args.repeat, lambda path=path: client.get(path)),
            "backend": best_of(args.repeat, backend(q)),
            "no facets": best_of(args.repeat, backend(q, with_facets=False)),
            "no snippets": best_of(args.repeat, backend(q, with_facets=False, with_snippets=False)),
            "FTS5 match": best_of(args.repeat, sql("SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q", q)),
            "ranked top 20": best_of(args.repeat, sql(
                f"SELECT rowid, bm25(documents_fts, {weights}) AS score FROM documents_fts "
                f"WHERE documents_fts MATCH :q ORDER BY score LIMIT {search_bench.PAGE_SIZE}", q)),
            "ranked + total": best_of(args.repeat, sql(ranked_total, q)),
        }
        for name, value in times.items():
            totals[name] += value
        print(f"| {q} | {response.get_json()['total']:,} | " + " | ".join(f"{times[c]:.2f}" for c in columns[1:])
              + " |")
    print("| mean | | " + " | ".join(f"{totals[c] / len(words):.2f}" for c in columns[1:]) + " |")
    copy.close()
    ctx.db.dispose()


if __name__ == "__main__":
    main()
