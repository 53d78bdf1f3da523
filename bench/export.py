"""Full NDJSON export (`GET /api/v1/feeds/directory.ndjson`): records/s and the server's memory,
against a plain SELECT of the same rows streamed to a file, in the same run.

The registry is served as deployed (`registry serve`, one gunicorn worker so its memory is the
export's), on the synthetic directory of generate.py (about 120,000 records), and on a directory
of about 1,000 records to show that memory does not grow with the directory. The export is read
by a client that counts lines and throws them away; the worker's resident memory is sampled
every 50 ms from /proc while it streams. The baseline runs in a child process: one SELECT over
the four record tables with sqlite3, each row written as a JSON line to a file.

    .venv/bin/python bench/export.py [--small-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
from run import OUT_DIR, free_port, registry_server  # noqa: E402

from registry.auth.clients import create_client  # noqa: E402
from registry.services.arrivals import record_arrivals_if_empty  # noqa: E402

SMALL_URL = f"sqlite:///{OUT_DIR / 'directory-1k.sqlite3'}"
BASELINE = """
import json, sqlite3, sys, time
started = time.perf_counter()
connection = sqlite3.connect(sys.argv[1])
count = 0
with open(sys.argv[2], "w") as out:
    for table in ("networks", "authorities", "contact_points", "emergency_notes"):
        for row in connection.execute(f"SELECT id, origin, version, body, envelope FROM {table} WHERE deleted = 0"):
            out.write(json.dumps({"id": row[0], "origin": row[1], "version": row[2], "body": json.loads(row[3]),
                                  "envelope": row[4]}) + "\\n")
            count += 1
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
print(json.dumps({"records": count, "seconds": time.perf_counter() - started, "peak_kib": int(peak)}))
"""


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise LookupError(field)


def worker_of(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("no gunicorn worker")


def token(port: int, ctx, scope: str) -> str:
    credentials = create_client(ctx, f"bench-export-{time.monotonic_ns()}", scope)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    form = urlencode({"grant_type": "client_credentials", "client_id": credentials.client.client_id,
                      "client_secret": credentials.client_secret, "scope": scope})
    connection.request("POST", "/oauth/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(connection.getresponse().read())["access_token"]


def export(port: int, bearer: str, worker: int) -> dict:
    """Stream the export once; records, seconds, bytes, and the worker's memory before and at most."""
    before = kib(worker, "VmRSS")
    peak = [before]
    streaming = threading.Event()

    def sample():
        while not streaming.is_set():
            peak.append(kib(worker, "VmRSS"))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", "/api/v1/feeds/directory.ndjson", headers={"Authorization": f"Bearer {bearer}"})
    response = connection.getresponse()
    assert response.status == 200, response.read()[:300]
    lines = size = 0
    while chunk := response.read(1 << 20):
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    streaming.set()
    sampler.join()
    return {"records": lines - 1, "seconds": seconds, "mib": size / 2**20, "rss_before_kib": before,
            "rss_peak_kib": max(peak)}


def baseline(database_url: str) -> dict:
    path = generate.sqlite_file(database_url)
    out = subprocess.run([sys.executable, "-c", BASELINE, str(path), str(OUT_DIR / "export-baseline.ndjson")],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(label: str, database_url: str, rounds: int) -> list[str]:
    ctx = generate.context_for(database_url)
    with ctx.db.write() as session:  # a directory generated before the arrival log existed
        record_arrivals_if_empty(session)
    port = free_port()
    server = registry_server(database_url, port, 1, name=f"export-{label}",
                             settings={"REGISTRY_RESPONSE_CACHE_SIZE": "0"})
    rows = []
    try:
        server.start()
        server.wait_ready()
        worker = worker_of(server.process.pid)
        for tier, scope in (("restricted", "directory:read directory:restricted"), ("partner", "directory:read")):
            bearer = token(port, ctx, scope)
            runs = [export(port, bearer, worker) for _ in range(rounds)]
            best = min(runs, key=lambda r: r["seconds"])
            rows.append((tier, best, max(r["rss_peak_kib"] for r in runs) - runs[0]["rss_before_kib"]))
    finally:
        server.stop()
        ctx.db.dispose()
    plain = baseline(database_url)
    lines = []
    for tier, best, growth in rows:
        rate = best["records"] / best["seconds"]
        plain_rate = plain["records"] / plain["seconds"]
        lines.append(f"| {label} | {tier} | {best['records']:,} | {best['seconds']:.2f} | {rate:,.0f} | "
                     f"{best['mib']:.0f} | {growth / 1024:.1f} | {plain['seconds']:.2f} | {plain_rate:,.0f} | "
                     f"{plain['peak_kib'] / 1024:.0f} | {rate / plain_rate:.2f} |")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small-only", action="store_true", help="only the ~1,000-record directory")
    parser.add_argument("--rounds", type=int, default=3, help="exports per tier (the fastest is reported)")
    args = parser.parse_args(argv)
    generate.ensure(SMALL_URL, authorities=200, contact_points=800, notes=6)
    sizes = [("1k", SMALL_URL)]
    if not args.small_only:
        generate.ensure()
        sizes.append(("120k", generate.DEFAULT_DATABASE_URL))
    table = ["| directory | tier | records | export s | records/s | MiB sent | worker RSS growth MiB | "
             "plain SELECT s | records/s | its peak RSS MiB | export / plain |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, url in sizes:
        table += measure(label, url, args.rounds)
    report = "\n".join(table)
    print(report)
    (OUT_DIR / "export.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
