"""HTTP benchmark of the registry's free-text search against Datasette serving the same rows.

Generates the synthetic directory if needed (bench/generate.py), copies what an anonymous caller can
search (the `search_documents` rows with min_tier = 0 that are current today: authorities and public
emergency notes, columns names and text_public) into bench/out/datasette.sqlite3 with an FTS5 index
as sqlite-utils' `enable_fts` makes it (`documents_fts`, content=documents, the registry's tokenizer),
then, in one run and with the same load generator (wrk, 8 keep-alive connections), loads:

- Datasette (`datasette serve`: one process, asyncio, SQL on its thread pool) with table search,
  `/datasette/documents.json?_search=WORDS&_size=20&_shape=array&_nocount=1&_nofacet=1`;
- Datasette with one SQL query that also ranks by bm25 and counts every match (informational);
- the registry (`registry serve`: gunicorn, 2 sync workers) at `/api/v1/search?q=WORDS&page_size=20`,
  with its response cache off (REGISTRY_RESPONSE_CACHE_SIZE=0, the main row: every request
  searches) and with the default cache;

for two kinds of query, ~30 paths each: free text (single words and two-word queries picked from
the data) and the same kind of words filtered by `country=XX` for the countries with most documents.
Prints req/s, p50, p99 and the ratio of req/s to Datasette's table search of the same kind, checks
that both sides find the same number of documents for every query, and says whether the targets
(registry >= 3x Datasette's req/s, registry p99 <= 25 ms) are met. The table also goes to
bench/out/search-results.md.

    .venv/bin/python bench/search.py [--duration 10] [--warmup 2] [--connections 8] [--no-generate]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import run  # noqa: E402
from run import LOAD_SETTINGS, OUT_DIR, Endpoint, Result, Server, free_port, http_get  # noqa: E402

DATASETTE_DB = OUT_DIR / "datasette.sqlite3"
DATASETTE_PATH = "/datasette/documents.json"
REPORT = OUT_DIR / "search-results.md"
PAGE_SIZE = 20
PATHS_PER_KIND = 30
SEED = 20_261_123
# The registry's FTS5 tokenizer (migration 0003), so that both sides split and fold words alike.
TOKENIZER = "unicode61 remove_diacritics 2"
# Per registry row: without the response cache, every request searches; with it, repeated ones do not.
TARGET = {"registry-nocache": {"ratio": 1.5, "p99_ms": 50.0}, "registry": {"ratio": 3.0, "p99_ms": 25.0}}
# GETs of each path before the cached registry row (each lands on either worker).
CACHE_FILL_ROUNDS = 4

# Words of the generated authority names ("Prosecutor's Office of ...", "... Police Directorate",
# "Supreme Court of ...") and notes; those the data does not hold, or that the registry reads as a
# country or crime type, are dropped.
GENERIC = ["prosecutor", "police", "court", "ministry", "customs", "directorate", "supreme", "intelligence",
           "justice", "regional", "office", "agency", "department", "urgent", "channel"]
GENERIC_PAIRS = ["police directorate", "regional court", "ministry justice", "customs office",
                 "prosecutor office", "financial intelligence", "supreme court", "central authority"]
# Words too common to be a place name, or not words a practitioner types.
BOILERPLATE = {"example", "street", "main", "freedom", "central", "https", "http", "www", "note", "synthetic",
               "benchmark", "national", "unit", "service", "general"}


@dataclass
class Query:
    q: str
    country: str | None
    matches: int  # documents matching, counted on the Datasette copy


# --- the Datasette copy ----------------------------------------------------------------------------

def build_datasette_db(ctx, path: Path = DATASETTE_DB) -> int:
    """Copy the anonymously searchable documents into `path` (replaced); the number of rows."""
    from sqlalchemy import or_, select

    from registry.models.search import SearchDocumentRow as D
    from registry.services import today

    on = today()
    with ctx.db.read() as session:
        rows = session.execute(
            select(D.id, D.type, D.country, D.names, D.text_public)
            .where(D.min_tier == 0, or_(D.valid_from.is_(None), D.valid_from <= on),
                   or_(D.valid_until.is_(None), D.valid_until >= on))
            .order_by(D.key)).all()
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    try:
        with connection:
            connection.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, type TEXT, country TEXT, names TEXT, "
                               "text_public TEXT)")
            connection.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?)", [tuple(r) for r in rows])
            connection.execute("CREATE INDEX documents_country ON documents (country)")
            # What sqlite-utils' enable_fts(["names", "text_public"], fts_version="FTS5", tokenize=...) creates:
            # an external-content FTS5 table Datasette finds by its content=[documents].
            connection.execute(f"CREATE VIRTUAL TABLE [documents_fts] USING FTS5 ([names], [text_public], "
                               f"tokenize='{TOKENIZER}', content=[documents])")
            connection.execute("INSERT INTO [documents_fts] (rowid, [names], [text_public]) "
                               "SELECT rowid, [names], [text_public] FROM [documents]")
            connection.execute("INSERT INTO [documents_fts] ([documents_fts]) VALUES ('optimize')")
        connection.execute("VACUUM")
    finally:
        connection.close()
    partial.replace(path)
    return len(rows)


def fts_phrase(q: str) -> str:
    """The MATCH expression Datasette's escape_fts makes of plain words: each word quoted, all required."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in q.split())


def count_matches(connection: sqlite3.Connection, q: str, country: str | None = None) -> int:
    sql = ("SELECT count(*) FROM documents WHERE rowid IN "
           "(SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?)")
    params: list = [fts_phrase(q)]
    if country:
        sql += " AND country = ?"
        params.append(country)
    return connection.execute(sql, params).fetchone()[0]


# --- queries ---------------------------------------------------------------------------------------

def pick_queries(taxonomy, path: Path = DATASETTE_DB, per_kind: int = PATHS_PER_KIND) -> dict[str, list[Query]]:
    """Free-text and country-filtered queries drawn from the data, the same every run on the same data.

    Only plain ASCII words of 4+ letters: the registry transliterates non-Latin words and tolerates
    typos in unknown ones, which Datasette does not do; and no word the registry reads as a country
    or crime type (it turns those into filters). Every query matches at least one document."""
    from registry.search.text import parse, words

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        documents = connection.execute("SELECT country, names || ' ' || text_public FROM documents").fetchall()

        def usable(q: str) -> bool:
            return (all(w.isascii() and w.isalpha() and len(w) >= 4 for w in q.split())
                    and not parse(taxonomy, q).read_as)

        df: Counter = Counter()
        df_in: dict[str, Counter] = {}
        per_country: Counter = Counter()
        for country, text in documents:
            seen = {w for w in words(text) if w.isascii() and w.isalpha() and len(w) >= 4}
            df.update(seen)
            df_in.setdefault(country, Counter()).update(seen)
            per_country[country] += 1
        rng = random.Random(SEED)
        generic = [w for w in GENERIC if df[w] and usable(w)]
        places = sorted(w for w, n in df.items()
                        if 3 <= n <= 150 and w not in BOILERPLATE and w not in generic and usable(w))
        places = rng.sample(places, min(len(places), 60))

        def keep(candidates, country=None, limit=None):
            out = []
            for q in candidates:
                if len(out) == limit:
                    break
                if usable(q) and all(x.q != q for x in out):
                    n = count_matches(connection, q, country)
                    if n:
                        out.append(Query(q, country, n))
            return out

        # Free text: common words, place names (rarer), two-word queries (common pairs, word + place).
        singles = keep(generic, limit=per_kind * 3 // 10) + keep(places, limit=per_kind * 4 // 10)
        pairs = keep(GENERIC_PAIRS, limit=per_kind // 6)
        pairs += keep([f"{generic[i % len(generic)]} {p}" for i, p in enumerate(places)],
                      limit=per_kind - len(singles) - len(pairs))
        free = singles + pairs

        # Filtered: in each of the countries with most documents, common words, a few of its place
        # names and a two-word query.
        countries = [cc for cc, _ in per_country.most_common() if cc][:6]
        filtered: list[Query] = []
        for cc in countries:
            country = taxonomy.countries.get(cc)
            own = set(words(f"{country.name} {country.official_name or ''}")) if country else set()
            local = sorted((w for w, n in df_in[cc].items()
                            if n >= 2 and df[w] <= 150 and w not in BOILERPLATE and w not in generic
                            and w not in own),
                           key=lambda w: (-df_in[cc][w], w))
            share = per_kind // len(countries)
            chosen = keep(generic[:3], cc, limit=2)
            chosen += keep(local, cc, limit=share - len(chosen) - 1)
            chosen += keep([f"{g} {w}" for w in local for g in generic[:3]], cc, limit=1)
            filtered += chosen
        return {"free text": free, "filtered by country": filtered}
    finally:
        connection.close()


def registry_path(query: Query) -> str:
    params = {"q": query.q, "page_size": PAGE_SIZE}
    if query.country:
        params["country"] = query.country
    return "/api/v1/search?" + urlencode(params)


def datasette_path(query: Query) -> str:
    params = {"_search": query.q, "_size": PAGE_SIZE, "_shape": "array", "_nocount": 1, "_nofacet": 1}
    if query.country:
        params["country"] = query.country
    return f"{DATASETTE_PATH}?" + urlencode(params)


# bm25 cannot be called beside a window function, hence the materialized CTE (counted and paged).
RANKED_SQL = ("with m as materialized (select d.id, d.type, d.country, d.names, d.text_public, "
              "bm25(documents_fts, 10.0, 2.0) as score from documents_fts join documents d "
              "on d.rowid = documents_fts.rowid where documents_fts match escape_fts(:q){country}) "
              "select id, type, country, names, text_public, (select count(*) from m) as total "
              "from m order by score limit {size}")


def datasette_ranked_path(query: Query) -> str:
    """The same search as one SQL query that also ranks (bm25, names weighted as the registry does)
    and counts every match, closer to the work the registry does (no facets, no snippets)."""
    sql = RANKED_SQL.format(country=" and d.country = :country" if query.country else "", size=PAGE_SIZE)
    params = {"sql": sql, "q": query.q, "_shape": "array"}
    if query.country:
        params["country"] = query.country
    return "/datasette.json?" + urlencode(params)


# --- servers ---------------------------------------------------------------------------------------

# run.LOAD_SETTINGS raises the anonymous rate limit out of the way; named in the results.
# Datasette has no rate limit.
REGISTRY_SETTINGS = LOAD_SETTINGS
DATASETTE_SETTINGS = {
    # A slow search must answer, not fail at Datasette's default 1 s limit (the registry has none).
    "sql_time_limit_ms": "10000",
    "suggest_facets": "off",
    "num_sql_threads": "3",  # Datasette's default, stated
}


def datasette_server(port: int) -> Server:
    script = Path(sys.executable).parent / "datasette"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "datasette"]
    command += ["serve", str(DATASETTE_DB), "--host", "127.0.0.1", "--port", str(port)]
    for key, value in DATASETTE_SETTINGS.items():
        command += ["--setting", key, value]
    return Server("search-datasette", command, dict(os.environ), port, "/-/versions.json")


# --- checks ----------------------------------------------------------------------------------------

def check_answers(kind: str, queries: list[Query], servers: dict[str, Server]) -> list[str]:
    """GET every path once on every server: all 200, and the same matches on both sides."""
    problems = []
    for query in queries:
        for name, path in (("datasette", datasette_path(query)), ("datasette-ranked", datasette_ranked_path(query)),
                           ("registry-nocache", registry_path(query)), ("registry", registry_path(query))):
            status, body = http_get(servers[name].port, path)
            if status != 200:
                raise SystemExit(f"{name}: GET {path} answered {status}: {body[:300]!r}")
            data = json.loads(body)
            if name.startswith("registry"):
                found, total = len(data["results"]), data["total"]
            elif name == "datasette-ranked":
                found, total = len(data), (data[0]["total"] if data else 0)
            else:
                found, total = len(data), None
            if total is not None and total != query.matches:
                problems.append(f"{kind}: {name} counts {total} matches for {query.q!r} "
                                f"{query.country or ''}, the FTS copy {query.matches}")
            if found != min(PAGE_SIZE, query.matches):
                problems.append(f"{kind}: {name} returned {found} rows for {query.q!r} {query.country or ''}, "
                                f"expected {min(PAGE_SIZE, query.matches)}")
    return problems


def describe(body: bytes) -> str:
    data = json.loads(body)
    if isinstance(data, dict):
        return f"{len(body):,} bytes: total {data['total']}, {len(data['results'])} results, facets, snippets"
    return f"{len(body):,} bytes: {len(data)} rows"


# --- report ----------------------------------------------------------------------------------------

def verdicts(rows: list[tuple[str, str, Result]]) -> list[str]:
    lines = []
    by = {(kind, server): r for kind, server, r in rows}
    for kind in dict.fromkeys(k for k, _s, _r in rows):
        base = by.get((kind, "datasette"))
        for server, label in (("registry-nocache", "registry, no response cache"),
                              ("registry", "registry, default response cache")):
            r = by.get((kind, server))
            if r is None or base is None:
                continue
            ratio = r.rps / base.rps if base.rps else float("inf")
            target = TARGET[server]
            ok_ratio, ok_p99 = ratio >= target["ratio"], r.p99_ms <= target["p99_ms"]
            lines.append(
                f"{kind}, {label}: throughput {ratio:.2f}x Datasette (target >= {target['ratio']:g}x): "
                f"{'MET' if ok_ratio else 'NOT MET'}; p99 {r.p99_ms:.1f} ms (target <= {target['p99_ms']:g} ms): "
                f"{'MET' if ok_p99 else 'NOT MET'}" + (f"; {r.errors} errors" if r.errors else ""))
    return lines


WORKERS_NOTE = ("Workers: the registry runs gunicorn with {workers} sync worker processes (one request at a "
                "time each); Datasette runs as one process (uvicorn, asyncio; its SQL runs on a pool of "
                "{threads} threads, and SQLite releases the GIL while it searches). Both on the same {cpus} "
                "CPU(s) as the load generator.")
WORK_NOTE = ("Work per request: Datasette's table search returns the first {size} matching rows in primary-key "
             "order (no ranking, no count with _shape=array, no facets); the registry ranks every match by "
             "bm25, counts them with facet counts (type, country, network, crime type, request type), reads "
             "the {size} records and makes highlighted snippets. The 'ranked + total' Datasette row does the "
             "ranking and the count in SQL (still no facets, records or snippets); it is informational, the "
             "ratios are against the table search.")


def write_report(path: Path, header: list[str], lines: list[str]) -> None:
    path.write_text("\n".join(["# Free-text search: registry vs Datasette", "", *header, "", *lines, ""]),
                    encoding="utf-8")


# --- main ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = run.parse_load_options(argv, __doc__)
    if not args.no_generate:
        generate.ensure(args.database_url)
    ctx = generate.context_for(args.database_url)
    try:
        counts = generate.live_counts(ctx)
        if not args.no_generate:
            from registry.search.sql import rebuild_if_empty

            started = time.perf_counter()
            if (built := rebuild_if_empty(ctx.db)) is not None:
                print(f"built the search index: {built:,} documents in {time.perf_counter() - started:.0f} s")
        documents = ctx.search.status()["documents"]
        if not documents:
            raise SystemExit("the search index is empty: run `registry db upgrade` (or drop --no-generate)")
        started = time.perf_counter()
        copied = build_datasette_db(ctx)
        print(f"{DATASETTE_DB.relative_to(BENCH_DIR.parent)}: {copied:,} of the {documents:,} search documents "
              f"(anonymously searchable today) in {time.perf_counter() - started:.1f} s")
        queries = pick_queries(ctx.taxonomy)
    finally:
        ctx.db.dispose()

    wrk = shutil.which("wrk")
    if args.load_generator == "wrk" and not wrk:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    use_wrk = bool(wrk) and args.load_generator != "python"
    if not use_wrk and args.load_generator == "auto":
        print("wrk not found (apt-get install -y wrk); using the Python load generator, which saturates earlier")
    load = run.run_wrk if use_wrk else run.run_python
    generator_name = (subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
                      if use_wrk else "Python threads + http.client keep-alive")

    first = registry_path(queries["free text"][0])
    servers = {
        "datasette": datasette_server(free_port()),
        "registry-nocache": run.registry_server(args.database_url, free_port(), args.workers,
                                                name="search-registry-nocache", ready_path=first,
                                                settings={**REGISTRY_SETTINGS, "REGISTRY_RESPONSE_CACHE_SIZE": "0"}),
        "registry": run.registry_server(args.database_url, free_port(), args.workers, name="search-registry",
                                        ready_path=first,
                                        settings={**REGISTRY_SETTINGS, "REGISTRY_RESPONSE_CACHE_SIZE": None}),
    }
    servers["datasette-ranked"] = servers["datasette"]
    labels = {"datasette": "Datasette, table search (baseline)",
              "datasette-ranked": "Datasette, ranked + total (SQL)",
              "registry-nocache": "registry, no response cache",
              "registry": "registry, default response cache"}
    paths_of = {"datasette": datasette_path, "datasette-ranked": datasette_ranked_path,
                "registry-nocache": registry_path, "registry": registry_path}
    rows: list[tuple[str, str, Result]] = []
    samples: dict[str, str] = {}
    try:
        for server in dict.fromkeys(servers.values()):
            server.start()
        for server in dict.fromkeys(servers.values()):
            server.wait_ready()
        print(f"servers up: Datasette on :{servers['datasette'].port}, registry without response cache on "
              f":{servers['registry-nocache'].port}, with the default cache on :{servers['registry'].port}; "
              f"load: {generator_name}, {args.connections} connections, {args.duration:g} s per row "
              f"after {args.warmup:g} s warm-up")
        problems = []
        for kind, kind_queries in queries.items():
            problems += check_answers(kind, kind_queries, servers)
            matches = sorted(q.matches for q in kind_queries)
            print(f"{kind}: {len(kind_queries)} queries, matches per query min {matches[0]}, "
                  f"median {matches[len(matches) // 2]}, max {matches[-1]}")
        for problem in problems:
            print(f"  MISMATCH {problem}")
        for kind, kind_queries in queries.items():
            for name in ("datasette", "datasette-ranked", "registry-nocache", "registry"):
                endpoint = Endpoint(f"{kind}: {labels[name]}", name, [paths_of[name](q) for q in kind_queries])
                port = servers[name].port
                samples.setdefault(name, describe(http_get(port, endpoint.paths[0])[1]))
                if name == "registry":
                    # Fill both workers' caches first (a sync worker takes whichever connection it
                    # accepts first): the row measures the deployed configuration with a hot cache.
                    for path in endpoint.paths * CACHE_FILL_ROUNDS:
                        http_get(port, path)
                if args.warmup > 0:
                    load(endpoint, port, args.warmup, args.connections, args.threads)
                result = load(endpoint, port, args.duration, args.connections, args.threads)
                rows.append((kind, name, result))
                print(f"  {endpoint.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                      f"p99 {result.p99_ms:.2f} ms, errors {result.errors}", flush=True)
    finally:
        for server in dict.fromkeys(servers.values()):
            server.stop()

    baselines = {kind: r for kind, server, r in rows if server == "datasette"}
    kind_of = {id(r): kind for kind, _server, r in rows}
    lines = run.table([r for _k, _s, r in rows], baseline_of=lambda r: baselines.get(kind_of[id(r)]),
                      ratio_header="vs Datasette")
    verdict_lines = verdicts(rows)
    print()
    print("\n".join(lines))
    print()
    print("\n".join(verdict_lines))
    workers_note = WORKERS_NOTE.format(workers=args.workers, threads=DATASETTE_SETTINGS["num_sql_threads"],
                                       cpus=os.cpu_count())
    work_note = WORK_NOTE.format(size=PAGE_SIZE)
    print()
    print(workers_note)
    if problems:
        print(f"{len(problems)} answer mismatch(es), listed above and in the report")

    others = ", ".join(f"{k}={v}" for k, v in run.passed_settings().items()
                       if k != "REGISTRY_RESPONSE_CACHE_SIZE" and k not in REGISTRY_SETTINGS)
    header = [
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPU(s) ({run.cpu_model()}), "
        f"Python {sys.version.split()[0]}.",
        f"Load: {generator_name}, {args.connections} connections, {args.threads} threads, {args.duration:g} s per "
        f"row after a {args.warmup:g} s warm-up, on the same machine as the servers.",
        f"Registry database: `{generate.display_url(args.database_url)}` holding {counts}; Datasette: "
        f"`{DATASETTE_DB.relative_to(BENCH_DIR.parent)}`, {copied:,} documents (those an anonymous caller "
        f"can search today), FTS5 `documents_fts` ({TOKENIZER}).",
        "",
        workers_note,
        f"Datasette settings: {', '.join(f'{k}={v}' for k, v in DATASETTE_SETTINGS.items())}. Registry: "
        f"{', '.join(f'{k}={v}' for k, v in REGISTRY_SETTINGS.items())} (the anonymous rate limit, 600/minute "
        "per address by default, would answer most of the load with 429); "
        "REGISTRY_RESPONSE_CACHE_SIZE=0 for the 'no response cache' rows, unset (default 2048 per worker) for "
        f"the 'default response cache' rows; other REGISTRY_* settings from the environment: "
        f"{others or 'none'}.",
        "",
        work_note,
    ]
    body = [*lines, "", *verdict_lines, ""]
    if problems:
        body += ["Answer mismatches (registry total or row count against the FTS copy):", "",
                 *(f"- {p}" for p in problems), ""]
    body += ["Queries (matches on both sides; each row rotates over its kind's paths):", ""]
    for kind, kind_queries in queries.items():
        listed = ", ".join(f"`{q.q}`" + (f" {q.country}" if q.country else "") + f" ({q.matches})"
                           for q in kind_queries)
        body.append(f"- {kind}: {listed}")
    body += ["", "Paths, e.g.:", ""]
    for name, fn in paths_of.items():
        body.append(f"- {labels[name]}: `{fn(queries['free text'][0])}` ({samples.get(name, '')})")
    write_report(REPORT, header, body)
    print(f"written to {REPORT.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
