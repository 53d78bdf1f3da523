"""Federation benchmark: how fast a node copies a peer's directory, and how fast it follows changes.

Two nodes on this machine. The origin (node id "local") is `registry serve` (gunicorn) on a copy of
a synthetic directory of bench/generate.py; the consumer ("bench-b", a fresh database) runs in this
process: it trusts the origin, adds it as a peer (client credentials with `federation:read`) and
pulls it with `registry.federation.puller.sync_once`, as `registry sync --once` does.

For each directory size (~1k records, then the 120,606 records of the full directory unless
--small-only), it measures:

- the bootstrap: one `sync_once` into the empty consumer (snapshot download over HTTP, signature and
  claims check of every envelope, one apply transaction), with records/s and the peak RSS of this
  process during it; the consumer must then hold the same (id, version) set as the origin;
- the baseline, in the same run: the same rows of the four record tables read from the origin's
  database and written with a plain SQLAlchemy Core executemany into a fresh migrated database, in
  one transaction (no verification, projections, search index or change log); bootstrap / bulk is
  how many times slower the verified copy is;
- 100 changes: 100 authorities and contact points changed at the origin through the write path
  (`write_record`, one transaction), then one timed `sync_once` (token, origins list, one page of
  the change feed, verification, apply); repeated --rounds times, the median reported. The ratio of
  the large directory's median to the small one's shows whether the cost grows with the directory.

Changes are made on copies of the generated databases (bench/out/federation/), never on the
directories themselves. Output: a table printed and written to bench/out/federation.md.

    .venv/bin/python bench/federation.py [--small-only] [--rounds 5] [--changes 100] [--profile]
                                         [--baseline-checkout DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import io
import math
import os
import platform
import pstats
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
WORK_DIR = OUT_DIR / "federation"
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import run  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from registry import migrations, models  # noqa: E402
from registry.auth.clients import create_client  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.context import Context  # noqa: E402
from registry.crypto import envelope  # noqa: E402
from registry.db import make_engine  # noqa: E402
from registry.federation import peers, puller, trust  # noqa: E402
from registry.services.records import write_record  # noqa: E402

ORIGIN = "local"  # generate.py's node id and namespace: the ids are "local:..."
CONSUMER = "bench-b"
# The instance folder generate.py writes with (generate.context_for): its record-signing key signed the
# stored envelopes, so the origin must publish that key. run.registry_server serves with it too.
ORIGIN_INSTANCE = OUT_DIR / "instance"
SMALL_DATABASE = OUT_DIR / "directory-1k.sqlite3"
HIGH_LIMIT = "1000000/minute"
RECORD_TABLES = [models.Network, models.Authority, models.ContactPoint, models.EmergencyNote]
BULK_CHUNK = 5_000
CHANGE_MARK = " (bench change "


@dataclass
class SizeResult:
    name: str
    counts: dict[str, int]
    records: int = 0
    bootstrap_s: float = 0.0
    spool_s: float = 0.0  # of which: snapshot download + verification into the spool file
    peak_rss_mb: float | None = None
    bulk_s: float = 0.0
    bulk_read_s: float = 0.0
    change_sync_ms: list[float] = field(default_factory=list)
    change_pages: list[int] = field(default_factory=list)
    publish_ms: list[float] = field(default_factory=list)
    idle_sync_ms: list[float] = field(default_factory=list)
    origin_bytes: int = 0
    consumer_bytes: int = 0
    bulk_bytes: int = 0
    longest_envelope: tuple[int, str] = (0, "")

    @property
    def ratio(self) -> float:
        return self.bootstrap_s / self.bulk_s if self.bulk_s else float("nan")

    @property
    def change_median_ms(self) -> float:
        return statistics.median(self.change_sync_ms) if self.change_sync_ms else float("nan")


# --- the small directory ---------------------------------------------------------------------------

class FewerCountries(generate.Generator):
    """generate.py's generator over an evenly spaced subset of the countries: it puts at least 4
    authorities in each of the 249 countries, too many for a directory of ~1k records."""

    def __init__(self, plan: generate.Plan, taxonomy, namespace: str):
        super().__init__(plan, taxonomy, namespace)
        step = math.ceil(len(self.countries) / max(1, plan.authorities // 5))
        self.countries = self.countries[::step]


def ensure_small(path: Path, authorities: int, contact_points: int, notes: int) -> dict[str, int]:
    """The ~1k-record directory at `path` (same generator, same seed, origin "local"), generated unless
    it holds the expected counts."""
    url = f"sqlite:///{path}"
    plan = generate.Plan(authorities, contact_points, notes, generate.SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(url)
    ctx = generate.context_for(url)
    try:
        counts = generate.live_counts(ctx)
        if counts == plan.expected():
            print(f"{path.relative_to(BENCH_DIR.parent)} already holds {counts}")
            return counts
    finally:
        ctx.db.dispose()
    if any(counts.values()):  # other options before: start afresh (the file is the benchmark's own)
        remove_sqlite(path)
        migrations.upgrade(url)
    ctx = generate.context_for(url)
    try:
        total = sum(plan.expected().values())
        print(f"generating {total:,} records into {path.relative_to(BENCH_DIR.parent)}", flush=True)
        generate.write_all(ctx, FewerCountries(plan, ctx.taxonomy, ctx.settings.namespace).records(), 2_000, total)
        counts = generate.live_counts(ctx)
    finally:
        ctx.db.dispose()
    if counts != plan.expected():
        raise SystemExit(f"expected {plan.expected()} in {path}, it holds {counts}")
    return counts


# --- databases -------------------------------------------------------------------------------------

def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (WAL content included) by the backup API."""
    remove_sqlite(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def file_bytes(path: Path) -> int:
    """The database's size as SQLite counts it (pages, WAL content included; not the WAL file's size,
    which a long transaction leaves large)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute("PRAGMA page_count").fetchone()[0] * connection.execute(
            "PRAGMA page_size").fetchone()[0]


def longest_envelope(database: Path) -> tuple[int, str, str]:
    """(length, id, envelope) of the longest stored envelope of the origin's records."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return max(connection.execute(f"SELECT length(envelope), id, envelope FROM {model.__tablename__} "
                                      "WHERE origin = ? ORDER BY length(envelope) DESC LIMIT 1", (ORIGIN,)).fetchone()
                   or (0, "", "") for model in RECORD_TABLES)


def check_longest_envelope(origin: Context, database: Path) -> tuple[int, str]:
    """The longest envelope (the biggest network's, with its member list) must verify with the keys the
    origin publishes, or the consumer would refuse the whole snapshot: stop early, saying why."""
    length, record_id, signed = longest_envelope(database)
    if signed:
        try:
            envelope.verify(signed, KeySet.import_key_set(origin.record_keys.jwks()))
        except envelope.InvalidEnvelope as exc:
            raise SystemExit(f"the longest envelope at the origin, {record_id}'s ({length:,} bytes), does not verify: "
                             f"{exc}. The consumer would refuse the snapshot whole.") from None
    return length, record_id


def origin_context(database_url: str) -> Context:
    return Context.create(Settings.from_env({}, node_id=ORIGIN, database_url=database_url,
                                            instance_path=str(ORIGIN_INSTANCE)))


def consumer_context(folder: Path) -> Context:
    """A fresh node "bench-b": its own instance folder and migrated SQLite database."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    migrations.upgrade(url)
    return Context.create(Settings.from_env({}, node_id=CONSUMER, database_url=url, instance_path=str(folder),
                                            federation_allow_hosts="127.0.0.1"))


def holdings(ctx: Context) -> dict[str, set[tuple[str, int]]]:
    """(id, version) of every record of the origin held, live or tombstone, by type."""
    with ctx.db.read() as session:
        return {name: {(i, v) for i, v in session.execute(select(model.id, model.version)
                                                                         .where(model.origin == ORIGIN))}
                for name, model in generate.MODELS.items()}


def check_converged(origin: Context, consumer: Context, when: str) -> None:
    at_origin, at_consumer = holdings(origin), holdings(consumer)
    if at_origin != at_consumer:
        diff = {t: (len(at_origin[t]), len(at_consumer[t]), len(at_origin[t] ^ at_consumer[t])) for t in at_origin}
        raise SystemExit(f"{when}: the consumer did not converge: (origin, consumer, differing) by type {diff}")


# --- the two nodes ---------------------------------------------------------------------------------

def origin_server(database_url: str, workers: int, name: str) -> run.Server:
    """`registry serve` as node "local" on the copy; high rate limits (one client makes every request)."""
    return run.registry_server(database_url, run.free_port(), workers, name=name,
                               ready_path="/.well-known/registry-node",
                               settings={"REGISTRY_NODE_ID": ORIGIN, "REGISTRY_NAMESPACE": None,
                                         "REGISTRY_PUBLIC_URL": None, "REGISTRY_RATE_LIMIT_CLIENT": HIGH_LIMIT,
                                         "REGISTRY_RATE_LIMIT_ADDRESS": HIGH_LIMIT,
                                         "REGISTRY_RATE_LIMIT_TOKEN": HIGH_LIMIT})


def connect(consumer: Context, origin: Context, url: str) -> None:
    """What an operator does at both ends: a federation:read client at the origin, trust and peer here."""
    credentials = create_client(origin, f"bench-{CONSUMER}-{os.urandom(4).hex()}", "federation:read")
    trust.trust_origin(consumer, ORIGIN, ORIGIN, f"{url}/.well-known/registry-keys.json")
    peers.add_peer(consumer, "origin", url, credentials.client.client_id, credentials.client_secret)


@contextlib.contextmanager
def timed_spool(spent: list[float]):
    """Times OriginPull.spool_snapshot (download + verification) while the block runs."""
    original = puller.OriginPull.spool_snapshot

    def spool_snapshot(self, spool):
        started = time.perf_counter()
        try:
            return original(self, spool)
        finally:
            spent.append(time.perf_counter() - started)

    puller.OriginPull.spool_snapshot = spool_snapshot
    try:
        yield
    finally:
        puller.OriginPull.spool_snapshot = original


def pull(consumer: Context) -> tuple[puller.OriginReport, float]:
    """One sync round (`registry sync --once`), timed; its report for the origin."""
    started = time.perf_counter()
    reports = puller.sync_once(consumer)
    elapsed = time.perf_counter() - started
    report = next((r for r in reports if r.origin == ORIGIN), None)
    if report is None or report.error or report.skipped or report.counts["refused"] or report.counts["quarantined"]:
        raise SystemExit(f"the sync failed: {[r.as_dict() for r in reports]}")
    return report, elapsed


def reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM) of this process.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # since the start, not reset


# --- the baseline ----------------------------------------------------------------------------------

def bulk_copy(source_url: str, target: Path) -> tuple[int, float, float]:
    """The origin's rows of the four record tables, all columns, into a fresh migrated database with
    Core executemany in one transaction; (rows, seconds, of which reading)."""
    remove_sqlite(target)
    target_url = f"sqlite:///{target}"
    migrations.upgrade(target_url)
    source_engine, target_engine = make_engine(source_url), make_engine(target_url)
    rows = 0
    reading = 0.0
    try:
        started = time.perf_counter()
        with source_engine.connect() as source, target_engine.begin() as sink:
            for model in RECORD_TABLES:
                table = model.__table__
                result = source.execute(select(table).where(table.c.origin == ORIGIN)
                                        .execution_options(yield_per=BULK_CHUNK)).mappings()
                while True:
                    read_started = time.perf_counter()
                    chunk = [dict(row) for row in result.fetchmany(BULK_CHUNK)]
                    reading += time.perf_counter() - read_started
                    if not chunk:
                        break
                    sink.execute(insert(table), chunk)
                    rows += len(chunk)
        elapsed = time.perf_counter() - started
    finally:
        source_engine.dispose()
        target_engine.dispose()
    return rows, elapsed, reading


# --- changes at the origin -------------------------------------------------------------------------

def change_targets(origin: Context, count: int) -> list[tuple[str, str]]:
    """`count` live records, half authorities and half contact points, evenly spread over the ids."""
    targets = []
    with origin.db.read() as session:
        for record_type, share in (("authority", count - count // 2), ("contact_point", count // 2)):
            model = generate.MODELS[record_type]
            ids = session.scalars(select(model.id).where(model.origin == ORIGIN, model.deleted.is_(False))
                                  .order_by(model.id)).all()
            if len(ids) < share:
                raise SystemExit(f"only {len(ids)} {record_type} records to change, {share} wanted")
            targets += [(record_type, ids[int(i * len(ids) / share)]) for i in range(share)]
    return targets


def publish_changes(origin: Context, targets: list[tuple[str, str]], round_no: int) -> float:
    """A new version of each target through the single write path, in one transaction: an authority's
    English name or a contact point's English position gets a suffix naming the round. Seconds."""
    keys = origin.record_keys.signing_keys()
    started = time.perf_counter()
    with origin.db.write() as session:
        for record_type, record_id in targets:
            row = session.get(generate.MODELS[record_type], record_id)
            body = copy.deepcopy(row.body)
            text = body["names" if record_type == "authority" else "position"]
            text["en"] = f"{text['en'].split(CHANGE_MARK)[0]}{CHANGE_MARK}{round_no})"
            result = write_record(session, origin.taxonomy, origin=ORIGIN, record_type=record_type,
                                  record_id=record_id, owner_network=row.owner_network, body=body, actor="bench",
                                  signing_keys=keys)
            if not result.changed:
                raise SystemExit(f"{record_id}: the change was not written")
    return time.perf_counter() - started


# --- one size --------------------------------------------------------------------------------------

def measure(name: str, source: Path, counts: dict[str, int], args) -> SizeResult:
    result = SizeResult(name, counts)
    folder = WORK_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    origin_path = folder / "origin.sqlite3"
    print(f"\n== {name}: copying {source.relative_to(BENCH_DIR.parent)} to "
          f"{origin_path.relative_to(BENCH_DIR.parent)}", flush=True)
    copy_sqlite(source, origin_path)
    origin_url = f"sqlite:///{origin_path}"
    result.origin_bytes = file_bytes(origin_path)
    origin = origin_context(origin_url)
    result.longest_envelope = check_longest_envelope(origin, origin_path)

    # The baseline first, on the pristine copy (the server is not running yet: nothing competes).
    bulk_path = folder / "bulk.sqlite3"
    rows, result.bulk_s, result.bulk_read_s = bulk_copy(origin_url, bulk_path)
    result.bulk_bytes = file_bytes(bulk_path)
    print(f"bulk insert: {rows:,} rows in {result.bulk_s:.2f} s (reading {result.bulk_read_s:.2f} s), "
          f"{rows / result.bulk_s:,.0f} rows/s", flush=True)

    server = origin_server(origin_url, args.workers, f"federation-origin-{name}")
    consumer = None
    try:
        server.start()
        server.wait_ready()
        url = f"http://127.0.0.1:{server.port}"
        print(f"origin up at {url} (log: {server.log_path.relative_to(BENCH_DIR.parent)})", flush=True)

        consumer = consumer_context(folder / "consumer")
        connect(consumer, origin, url)
        spool: list[float] = []
        reset_peak_rss()
        with timed_spool(spool):
            report, result.bootstrap_s = pull(consumer)
        result.peak_rss_mb = peak_rss_mb()
        result.spool_s = sum(spool)
        if not report.bootstrapped:
            raise SystemExit(f"the first round did not bootstrap: {report.as_dict()}")
        result.records = report.counts["applied"]
        if result.records != rows:
            raise SystemExit(f"the bootstrap applied {result.records} records, the origin holds {rows}")
        check_converged(origin, consumer, "after the bootstrap")
        result.consumer_bytes = file_bytes(folder / "consumer" / "registry.sqlite3")
        print(f"bootstrap: {result.records:,} records in {result.bootstrap_s:.2f} s "
              f"({result.records / result.bootstrap_s:,.0f} records/s; download + verification "
              f"{result.spool_s:.2f} s, the rest applying), peak RSS {result.peak_rss_mb or 0:,.0f} MB; "
              f"{result.ratio:.1f}x the bulk insert; converged", flush=True)

        targets = change_targets(origin, args.changes)
        for round_no in range(1, args.rounds + 1):
            result.publish_ms.append(1000 * publish_changes(origin, targets, round_no))
            report, seconds = pull(consumer)
            if report.bootstrapped or report.counts["applied"] != len(targets):
                raise SystemExit(f"round {round_no}: expected {len(targets)} applied changes, got {report.as_dict()}")
            result.change_sync_ms.append(1000 * seconds)
            result.change_pages.append(report.pages)
            print(f"  round {round_no}: {len(targets)} changes published in {result.publish_ms[-1]:.0f} ms, "
                  f"synced in {1000 * seconds:.0f} ms ({report.pages} page(s))", flush=True)
        check_converged(origin, consumer, "after the changes")
        for _ in range(3):
            _report, seconds = pull(consumer)
            result.idle_sync_ms.append(1000 * seconds)
        print(f"{len(targets)} changes: sync median {result.change_median_ms:.0f} ms; a round with nothing new "
              f"{statistics.median(result.idle_sync_ms):.0f} ms; converged", flush=True)

        if args.profile and name == "1k":
            profile_changes(origin, consumer, targets, args.rounds + 1, args.profile_top)
            profile_bootstrap(origin, url, folder / "consumer-profile", args.profile_top)
    finally:
        server.stop()
        origin.db.dispose()
        if consumer is not None:
            consumer.db.dispose()
    return result


def profile_bootstrap(origin: Context, url: str, folder: Path, top: int) -> None:
    """One more bootstrap, into another fresh consumer, under cProfile; the top entries printed."""
    consumer = consumer_context(folder)
    try:
        connect(consumer, origin, url)
        profiler = cProfile.Profile()
        profiler.enable()
        report, seconds = pull(consumer)
        profiler.disable()
    finally:
        consumer.db.dispose()
    print_profile(profiler, folder.parent / "bootstrap.prof",
                  f"bootstrap: {report.counts['applied']:,} records in {seconds:.2f} s", top)


def profile_changes(origin: Context, consumer: Context, targets: list[tuple[str, str]], round_no: int,
                    top: int) -> None:
    """One more round of changes; its sync under cProfile, the top entries printed."""
    publish_changes(origin, targets, round_no)
    profiler = cProfile.Profile()
    profiler.enable()
    report, seconds = pull(consumer)
    profiler.disable()
    print_profile(profiler, WORK_DIR / "1k" / "changes.prof",
                  f"sync of {report.counts['applied']} changes in {1000 * seconds:.0f} ms", top)


def print_profile(profiler: cProfile.Profile, path: Path, what: str, top: int) -> None:
    profiler.dump_stats(path)
    print(f"\nprofiled {what} under cProfile (stats in {path.relative_to(BENCH_DIR.parent)})")
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
        text = out.getvalue()
        print(f"-- top {top} by {sort} --")
        print(text[text.find("   ncalls"):].rstrip())


# --- report ----------------------------------------------------------------------------------------

def table(results: list[SizeResult], changes: int) -> list[str]:
    rows = [("size", "records", "bootstrap s", "records/s", "bulk insert s", "bulk records/s", "ratio",
             f"{changes} changes sync ms (median)", "min-max ms", "idle round ms", "peak RSS MB")]
    for r in results:
        rows.append((r.name, f"{r.records:,}", f"{r.bootstrap_s:.2f}", f"{r.records / r.bootstrap_s:,.0f}",
                     f"{r.bulk_s:.2f}", f"{r.records / r.bulk_s:,.0f}", f"{r.ratio:.1f}",
                     f"{r.change_median_ms:.0f}", f"{min(r.change_sync_ms):.0f}-{max(r.change_sync_ms):.0f}",
                     f"{statistics.median(r.idle_sync_ms):.0f}",
                     f"{r.peak_rss_mb:,.0f}" if r.peak_rss_mb else "-"))
    return run.markdown_table(rows)


def growth_line(results: list[SizeResult]) -> str | None:
    if len(results) < 2:
        return None
    small, large = results[0], results[-1]
    return (f"Sync of the changes, {large.name} / {small.name}: {large.change_median_ms / small.change_median_ms:.2f} "
            f"(median {large.change_median_ms:.0f} ms against {small.change_median_ms:.0f} ms, for "
            f"{large.records / small.records:.0f}x the records); a round with nothing new: "
            f"{statistics.median(large.idle_sync_ms) / statistics.median(small.idle_sync_ms):.2f}")


# A bootstrap at least a quarter as fast as the bulk insert of the same rows, every envelope still verified;
# syncing the same number of changes on the large directory within this factor of the small one's time.
TARGET = {"bootstrap_ratio": 4.0, "sync_growth": 2.0}


def verdicts(results: list[SizeResult], changes: int) -> list[str]:
    """Whether each size met the targets, and, with both sizes, whether syncing stayed independent of size."""
    def met(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    lines = [f"Target (bootstrap of {r.name} at least 0.25x the bulk insert's speed, i.e. at most "
             f"{TARGET['bootstrap_ratio']:g}x its time): {met(r.ratio <= TARGET['bootstrap_ratio'])} ({r.ratio:.1f}x)"
             for r in results]
    if len(results) < 2:
        lines.append(f"Target (syncing {changes} changes independent of the directory's size): not measured "
                     "(it needs the 100k directory: run without --small-only)")
    else:
        growth = results[-1].change_median_ms / results[0].change_median_ms
        lines.append(f"Target (syncing {changes} changes on {results[-1].name} within {TARGET['sync_growth']:g}x "
                     f"of {results[0].name}): {met(growth <= TARGET['sync_growth'])} ({growth:.2f}x)")
    return lines


def details(results: list[SizeResult], args) -> list[str]:
    lines = []
    for r in results:
        apply_s = r.bootstrap_s - r.spool_s
        lines.append(
            f"- {r.name}: {r.counts}; origin database {r.origin_bytes / 2**20:,.0f} MiB, consumer after sync "
            f"{r.consumer_bytes / 2**20:,.0f} MiB, bulk copy {r.bulk_bytes / 2**20:,.0f} MiB. Bootstrap "
            f"{r.bootstrap_s:.2f} s = download + verification {r.spool_s:.2f} s "
            f"({r.records / r.spool_s:,.0f} records/s) + apply and the rest {apply_s:.2f} s "
            f"({r.records / apply_s:,.0f} records/s). Bulk: reading {r.bulk_read_s:.2f} s, writing "
            f"{r.bulk_s - r.bulk_read_s:.2f} s. {args.changes} changes: sync "
            f"{', '.join(f'{ms:.0f}' for ms in r.change_sync_ms)} ms ({', '.join(map(str, r.change_pages))} "
            f"page(s)); publishing them at the origin {statistics.median(r.publish_ms):.0f} ms (median); "
            f"rounds with nothing new {', '.join(f'{ms:.0f}' for ms in r.idle_sync_ms)} ms. Longest envelope: "
            f"{r.longest_envelope[1]}, {r.longest_envelope[0]:,} bytes.")
    return lines


def load_average(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def write_report(path: Path, results: list[SizeResult], args, started: datetime,
                 started_load: tuple[float, float, float]) -> None:
    growth = growth_line(results)
    lines = [
        "# Federation benchmark",
        "",
        f"Run {started.strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPU(s) ({run.cpu_model()}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}. Origin: `registry serve` "
        f"(gunicorn, {args.workers} sync workers) on a copy of the synthetic directory; consumer: "
        "`sync_once` in the benchmark process, fresh SQLite database; both on this machine, over HTTP on "
        "127.0.0.1.",
        f"Load average (1, 5, 15 min) at the start {load_average(started_load)}, at the end "
        f"{load_average(os.getloadavg())}: other processes on the machine slow every figure down.",
        "",
        *table(results, args.changes),
        "",
        "- bootstrap: first `sync_once` into the empty consumer: snapshot over HTTP, every envelope's "
        "signature and claims checked, one apply transaction (projections, search index).",
        "- bulk insert: the same rows of the four record tables (all columns) read from the origin's "
        "database and inserted with SQLAlchemy Core executemany into a fresh migrated database in one "
        "transaction; ratio = bootstrap s / bulk insert s.",
        f"- changes: {args.changes} records (half authorities, half contact points) changed at the origin "
        f"through `write_record`, then one timed `sync_once`; {args.rounds} rounds, median and range. "
        "Idle round: `sync_once` with nothing new (token, origins list).",
        "- peak RSS: of the benchmark process during the bootstrap (VmHWM reset before it).",
        "",
        *([growth, ""] if growth else []),
        *verdicts(results, args.changes),
        "",
        *details(results, args),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


# --- main ------------------------------------------------------------------------------------------

def parse_options(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small-only", action="store_true",
                        help="measure the ~1k-record directory only (no 100k directory, no 15-20 min generation)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of changes per size (median reported)")
    parser.add_argument("--changes", type=int, default=100, help="records changed at the origin per round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the origin")
    parser.add_argument("--small-authorities", type=int, default=200)
    parser.add_argument("--small-contact-points", type=int, default=800)
    parser.add_argument("--small-notes", type=int, default=6)
    parser.add_argument("--profile", action="store_true",
                        help="after the measurements of the small directory, one more round of changes and one "
                             "more bootstrap under cProfile; prints the top entries by cumulative and own time")
    parser.add_argument("--profile-top", type=int, default=15, help="entries printed by --profile")
    parser.add_argument("--baseline-checkout", metavar="DIR",
                        help="another checkout of the registry (git worktree add DIR <commit>): its own "
                             "bench/federation.py runs first with the same options, and its table is printed beside "
                             "this one's with the ratios")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.changes < 2:
        parser.error("--rounds must be at least 1 and --changes at least 2")
    return args


def baseline_table(args, argv) -> list[str]:
    """The table of the baseline checkout's own benchmark, run now with the same options."""
    checkout = Path(args.baseline_checkout).resolve()
    options = list(sys.argv[1:] if argv is None else argv)
    index = options.index("--baseline-checkout")
    del options[index:index + 2]
    print(f"== baseline: {checkout}", flush=True)
    subprocess.run([sys.executable, str(checkout / "bench" / "federation.py"), *options], cwd=checkout, check=True,
                   env=os.environ | {"PYTHONPATH": str(checkout)})
    report = (checkout / "bench" / "out" / "federation.md").read_text(encoding="utf-8").splitlines()
    return [line for line in report if line.startswith("|")][:2 + (1 if args.small_only else 2)]


def ratios(now: list[str], then: list[str]) -> list[str]:
    """this / baseline for the numeric columns of two tables of the same shape."""
    def cells(line):
        return [c.strip() for c in line.strip("|").split("|")]

    header = cells(now[0])
    lines = []
    for mine, theirs in zip(now[2:], then[2:], strict=False):
        out = []
        for name, a, b in zip(header, cells(mine), cells(theirs), strict=False):
            try:
                out.append(f"{name} {float(a.replace(',', '')) / float(b.replace(',', '')):.2f}")
            except ValueError:
                continue
        lines.append(f"{cells(mine)[0]}: this / baseline: " + "; ".join(out))
    return lines


def main(argv=None) -> int:
    args = parse_options(argv)
    then = baseline_table(args, argv) if args.baseline_checkout else None
    signal.signal(signal.SIGTERM, run._terminate)  # stop the origin server as Ctrl-C does
    started, started_load = datetime.now(UTC), os.getloadavg()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    sizes = [("1k", SMALL_DATABASE, ensure_small(SMALL_DATABASE, args.small_authorities, args.small_contact_points,
                                                  args.small_notes))]
    if not args.small_only:
        sizes.append(("100k", generate.DEFAULT_DATABASE_PATH, generate.ensure(generate.DEFAULT_DATABASE_URL)))
    results = [measure(name, source, counts, args) for name, source, counts in sizes]

    print()
    now = table(results, args.changes)
    print("\n".join(now))
    if then:
        print(f"\nbaseline ({args.baseline_checkout}), same run:")
        print("\n".join(then))
        print("\n".join(ratios(now, then)))
    if growth := growth_line(results):
        print()
        print(growth)
    print()
    print("\n".join(verdicts(results, args.changes)))
    print(f"load average at the start {load_average(started_load)}, now {load_average(os.getloadavg())}")
    report = OUT_DIR / "federation.md"
    write_report(report, results, args, started, started_load)
    print(f"written to {report.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
