"""HTTP benchmark of the registry's read API against a bare Flask baseline, and of the practitioner's
lookup page against the API answer it is built from (same paths, same run; plus the page's weight).

Generates the synthetic directory if needed (bench/generate.py), serves it with `registry serve`
(gunicorn, 2 sync workers) and serves bench/bare_app.py with gunicorn the same way, then loads each
endpoint with wrk (or, without wrk, a Python load generator) and prints req/s, p50 and p99 per
endpoint, with the ratio to the bare app; the table also goes to bench/out/results.md.

    .venv/bin/python bench/run.py [--duration 10] [--connections 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402

COUNTRIES = ["KG", "FR", "DE", "BR", "NG", "US", "KZ", "IN"]
CRIME_TYPES = ["corruption", "money_laundering", "cybercrime", "trafficking_in_persons"]
# The lookup's throughput against the bare app of the same run (machines differ, the ratio travels),
# and its tail latency; both measured with the response cache off to count.
TARGET = {"endpoint": "lookup", "ratio": 0.15, "p99_ms": 25}


@dataclass
class Endpoint:
    name: str
    server: str  # "registry" or "bare"
    paths: list[str]


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


LOOKUP_QUERIES = [f"?country={cc}&crime_type={crime}" for cc in COUNTRIES for crime in CRIME_TYPES]
# Words of authority names and positions, common in every country: a lookup narrowed by them ranks matches.
LOOKUP_WORDS = ["prosecutor", "police", "court", "ministry"]
ENDPOINTS = [
    Endpoint("bare Flask (baseline)", "bare", ["/bare"]),
    Endpoint("lookup", "registry", [f"/api/v1/lookup{query}" for query in LOOKUP_QUERIES]),
    Endpoint("lookup page", "registry", [f"/lookup{query}" for query in LOOKUP_QUERIES]),
    Endpoint("lookup with words", "registry",
             [f"/api/v1/lookup?country={cc}&q={words}" for cc in COUNTRIES for words in LOOKUP_WORDS]),
    Endpoint("authorities", "registry", [f"/api/v1/authorities?country={cc}" for cc in COUNTRIES]),
]


# --- servers ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master in its own session; stop() ends it and its workers."""

    def __init__(self, name: str, command: list[str], env: dict, port: int, ready_path: str):
        self.name, self.command, self.env, self.port, self.ready_path = name, command, env, port, ready_path
        self.log_path = OUT_DIR / f"{name}-server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115 (closed when the process has been started)
        try:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=BENCH_DIR.parent)
        finally:
            log.close()

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} server exited with {self.process.returncode}; see {self.log_path}")
            try:
                status, _ = http_get(self.port, self.ready_path, timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.name} server not ready after {timeout:.0f} s; see {self.log_path}")

    def worker_memory_mib(self) -> list[float]:
        """The resident memory of each of the master's workers (its child processes), from /proc."""
        if self.process is None or self.process.poll() is not None:
            return []
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
                if int(fields["PPid"]) == self.process.pid:
                    found.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sorted(found)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        # The master is the leader of its own process group: SIGTERM it (gunicorn stops its workers
        # gracefully), then SIGKILL that group if anything is left.
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def http_get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# All load comes from one address: the anonymous rate limit (600/minute per address by default)
# would answer most of it with 429, so it is raised out of the way (still checked on every request).
LOAD_SETTINGS = {"REGISTRY_RATE_LIMIT_ADDRESS": "1000000/minute"}
BENCH_SETTINGS = ("REGISTRY_DATABASE_URL", "REGISTRY_HOST", "REGISTRY_PORT", "REGISTRY_WORKERS",
                  "REGISTRY_INSTANCE_PATH")


def passed_settings() -> dict[str, str]:
    """The REGISTRY_* settings the registry server gets beside the bench's own: LOAD_SETTINGS, then the
    caller's (e.g. REGISTRY_RESPONSE_CACHE_SIZE=0 to measure uncached answers)."""
    return LOAD_SETTINGS | {k: v for k, v in sorted(os.environ.items())
                            if k.startswith("REGISTRY_") and k not in BENCH_SETTINGS}


def registry_server(database_url: str, port: int, workers: int, *, name: str = "registry",
                    settings: dict[str, str | None] | None = None, ready_path: str | None = None) -> Server:
    """`registry serve` on `port`. `settings`: REGISTRY_* variables to set over the caller's
    environment (None removes one, e.g. to get a setting's default)."""
    env = dict(os.environ) | LOAD_SETTINGS
    for key, value in (settings or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.update(REGISTRY_DATABASE_URL=database_url, REGISTRY_HOST="127.0.0.1", REGISTRY_PORT=str(port),
               REGISTRY_WORKERS=str(workers), REGISTRY_INSTANCE_PATH=str(OUT_DIR / "instance"))
    script = Path(sys.executable).parent / "registry"
    command = [str(script), "serve"] if script.exists() else [
        sys.executable, "-c", "from registry.cli import main; main()", "serve"]
    return Server(name, command, env, port, ready_path or ENDPOINTS[1].paths[0])


def bare_server(port: int, workers: int) -> Server:
    # Same gunicorn set-up as `registry serve` (sync workers, access log to stdout, 30 s timeout).
    command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(workers),
               "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
               "--timeout", "30", "--chdir", str(BENCH_DIR), "bare_app:app"]
    return Server("bare", command, dict(os.environ), port, "/bare")


# --- load generators -------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local offset = 0
function setup(thread)
  thread:set("start", offset)
  offset = offset + 5
end
function init(args)
  i = start or 0
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "p50": %%d, "p90": %%d, "p99": %%d, "max": %%d, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(endpoint: Endpoint, port: int, seconds: float, connections: int, threads: int) -> Result:
    script = OUT_DIR / f"wrk-{''.join(c if c.isalnum() else '-' for c in endpoint.name.lower())}.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in endpoint.paths)}, encoding="utf-8")
    command = ["wrk", "--latency", "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
               f"http://127.0.0.1:{port}"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    return Result(endpoint, data["requests"], data["duration_us"] / 1e6, data["p50"] / 1000, data["p90"] / 1000,
                  data["p99"] / 1000, data["max"] / 1000, sum(errors.values()), errors)


def run_python(endpoint: Endpoint, port: int, seconds: float, connections: int, threads: int) -> Result:
    """Fallback without wrk: one thread per connection, HTTP/1.1 keep-alive, rotating paths.
    The client shares the CPU and the GIL with itself, so it saturates earlier than wrk."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[int] = [0] * connections
    stop_at = time.perf_counter() + seconds

    def worker(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = n * 5
        own = latencies[n]
        while (now := time.perf_counter()) < stop_at:
            path = endpoint.paths[i % len(endpoint.paths)]
            i += 1
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    errors[n] += 1
            except (OSError, http.client.HTTPException):
                errors[n] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            own.append(time.perf_counter() - now)
        connection.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    merged = sorted(x for own in latencies for x in own)

    def pct(q: float) -> float:
        return 1000 * merged[min(len(merged) - 1, int(q * len(merged)))] if merged else float("nan")

    return Result(endpoint, len(merged), elapsed, pct(0.50), pct(0.90), pct(0.99),
                  1000 * merged[-1] if merged else float("nan"), sum(errors),
                  {"status_or_socket": sum(errors)} if sum(errors) else {})


# --- report ----------------------------------------------------------------------------------------

def table(results: list[Result], baseline_of=None, ratio_header: str = "vs bare") -> list[str]:
    """Markdown table lines; the ratio is each row's req/s over its baseline's (`baseline_of(result)`,
    by default the bare app's row)."""
    if baseline_of is None:
        bare = next((r for r in results if r.endpoint.server == "bare"), None)

        def baseline_of(_result):
            return bare
    rows = [("endpoint", "req/s", "p50 ms", "p99 ms", ratio_header, "errors")]
    for r in results:
        base = baseline_of(r)
        ratio = f"{r.rps / base.rps:.3f}" if base and base.rps else "-"
        rows.append((r.endpoint.name, f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", ratio,
                     str(r.errors) if not r.error_detail else f"{r.errors} {r.error_detail}"))
    return markdown_table(rows)


def markdown_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Lines of a Markdown table of `rows` (the first is the header): the first column left-aligned,
    the others right-aligned, padded so that the plain text reads as a table too."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    return lines


def verdict(results: list[Result]) -> str:
    r = next((r for r in results if r.endpoint.name == TARGET["endpoint"]), None)
    bare = next((r for r in results if r.endpoint.server == "bare"), None)
    if r is None or bare is None or not bare.rps:
        return "target not measured"
    ratio = r.rps / bare.rps
    ok = ratio >= TARGET["ratio"] and r.p99_ms <= TARGET["p99_ms"] and r.errors == 0
    cache = "" if os.environ.get("REGISTRY_RESPONSE_CACHE_SIZE") == "0" else (
        " (the response cache was on: set REGISTRY_RESPONSE_CACHE_SIZE=0 to measure the target)")
    return (f"Target (lookup >= {TARGET['ratio']:g}x the bare app with p99 <= {TARGET['p99_ms']} ms, no errors, "
            f"response cache off): {'MET' if ok else 'NOT MET'} ({r.rps:,.0f} req/s, {ratio:.3f}x, "
            f"p99 {r.p99_ms:.1f} ms){cache}")


PAGE_ASSETS = ["/assets/registry.css", "/assets/print.css", "/assets/registry.js", "/assets/favicon.svg"]


def page_figures(results: list[Result], port: int) -> list[str]:
    """The lookup page next to the API answer it renders: throughput and latency ratios, and what a browser
    downloads (HTML of each path, then the registry's own CSS and JS once)."""
    api = next((r for r in results if r.endpoint.name == "lookup"), None)
    page = next((r for r in results if r.endpoint.name == "lookup page"), None)
    if api is None or page is None:
        return []
    html = [len(http_get(port, path)[1]) for path in page.endpoint.paths]
    json_sizes = [len(http_get(port, path)[1]) for path in api.endpoint.paths]
    assets = {path: len(http_get(port, path)[1]) for path in PAGE_ASSETS}
    css_js = sum(size for path, size in assets.items() if path.endswith((".css", ".js")))
    listed = ", ".join(f"{path.rsplit('/', 1)[1]} {size:,}" for path, size in assets.items())
    return [
        f"Lookup page vs API (same paths): req/s ratio page/API {page.rps / api.rps:.3f}, "
        f"p50 {page.p50_ms:.2f} vs {api.p50_ms:.2f} ms ({page.p50_ms / api.p50_ms:.2f}x), "
        f"p99 {page.p99_ms:.2f} vs {api.p99_ms:.2f} ms.",
        f"Page weight: HTML {min(html):,}-{max(html):,} bytes (mean {sum(html) // len(html):,}; the JSON answer "
        f"{sum(json_sizes) // len(json_sizes):,}), CSS+JS {css_js:,} bytes "
        f"({listed}); "
        f"first visit HTML+CSS+JS about {sum(html) // len(html) + css_js:,} bytes, uncompressed.",
    ]


def memory_figure(servers: dict) -> str:
    """Each server's workers' resident memory after the load, measured before they are stopped."""
    parts = []
    for name, server in servers.items():
        sizes = server.worker_memory_mib()
        parts.append(f"{name}: {len(sizes)} workers, " + ", ".join(f"{size:.0f} MiB" for size in sizes))
    return "Worker memory (RSS) after the run: " + "; ".join(parts) + "."


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_report(path: Path, results: list[Result], context: dict, samples: dict, figures: list[str]) -> None:
    lines = [
        "# Registry read-API benchmark",
        "",
        f"Run {context['when']} on {context['cpus']} CPU(s) ({context['cpu']}), Python {platform.python_version()}.",
        f"Load: {context['generator']}, {context['connections']} connections, {context['threads']} threads, "
        f"{context['duration']} s per endpoint after a {context['warmup']} s warm-up; servers: gunicorn, "
        f"{context['workers']} sync workers each, on the same machine as the load generator.",
        f"Database: `{context['database']}` holding {context['counts']}.",
        f"Registry settings from the environment: {context['settings'] or 'none (defaults)'}.",
        "",
        *table(results),
        "",
        verdict(results),
        "",
        *figures,
        "",
        "Requests rotate over these paths (response of the first one):",
        "",
    ]
    for r in results:
        sample = samples.get(r.endpoint.name, "")
        lines.append(f"- {r.endpoint.name}: {len(r.endpoint.paths)} path(s), e.g. `{r.endpoint.paths[0]}` {sample}")
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def describe_response(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return f"({len(body):,} bytes)"
    if isinstance(data, dict) and "results" in data:
        cps = sum(len(x.get("contact_points", [])) for x in data["results"])
        return (f"({len(body):,} bytes; total {data.get('total')}, {len(data['results'])} authorities, "
                f"{cps} contact points)")
    if isinstance(data, list):
        return f"({len(body):,} bytes; {len(data)} items)"
    return f"({len(body):,} bytes)"


# --- main ------------------------------------------------------------------------------------------

def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def parse_load_options(argv, description: str) -> argparse.Namespace:
    """The options every HTTP benchmark here takes; SIGTERM then stops the servers as Ctrl-C does."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of measured load per row")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load per row first")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per registry server")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", generate.DEFAULT_DATABASE_URL),
                        help=f"database to serve (default: {generate.DEFAULT_DATABASE_URL}, generated if needed)")
    parser.add_argument("--no-generate", action="store_true",
                        help="serve the database as it is, without checking or generating the directory")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "python"], default="auto",
                        help="wrk if installed (auto), or the Python fallback")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return args


def main(argv=None) -> int:
    args = parse_load_options(argv, __doc__)
    if args.no_generate:
        ctx = generate.context_for(args.database_url)
        try:
            counts = generate.live_counts(ctx)
        finally:
            ctx.db.dispose()
    else:
        counts = generate.ensure(args.database_url)

    wrk = shutil.which("wrk")
    if args.load_generator == "wrk" and not wrk:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    use_wrk = bool(wrk) and args.load_generator != "python"
    if not use_wrk and args.load_generator == "auto":
        print("wrk not found (apt-get install -y wrk); using the Python load generator, which saturates earlier")
    load = run_wrk if use_wrk else run_python
    generator_name = (subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
                      if use_wrk else "Python threads + http.client keep-alive")

    servers = {"registry": registry_server(args.database_url, free_port(), args.workers),
               "bare": bare_server(free_port(), args.workers)}
    results: list[Result] = []
    samples: dict[str, str] = {}
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready()
        print(f"servers up: registry on :{servers['registry'].port}, bare on :{servers['bare'].port}; "
              f"load: {generator_name}, {args.connections} connections, {args.duration:g} s per endpoint; "
              f"registry settings: {passed_settings()}")
        for endpoint in ENDPOINTS:
            port = servers[endpoint.server].port
            for path in endpoint.paths:
                status, body = http_get(port, path)
                if status != 200:
                    raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
            samples[endpoint.name] = describe_response(http_get(port, endpoint.paths[0])[1])
            if args.warmup > 0:
                load(endpoint, port, args.warmup, args.connections, args.threads)
            result = load(endpoint, port, args.duration, args.connections, args.threads)
            results.append(result)
            print(f"  {endpoint.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                  f"p99 {result.p99_ms:.2f} ms, errors {result.errors}", flush=True)
        figures = page_figures(results, servers["registry"].port)
        figures.append(memory_figure(servers))
    finally:
        for server in servers.values():
            server.stop()

    context = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(), "cpu": cpu_model(),
               "generator": generator_name, "connections": args.connections, "threads": args.threads,
               "duration": f"{args.duration:g}", "warmup": f"{args.warmup:g}", "workers": args.workers,
               "database": generate.display_url(args.database_url), "counts": counts,
               "settings": ", ".join(f"{k}={v}" for k, v in passed_settings().items())}
    print()
    print("\n".join(table(results)))
    print()
    print(verdict(results))
    print("\n".join(figures))
    report = OUT_DIR / "results.md"
    write_report(report, results, context, samples, figures)
    print(f"written to {report.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
