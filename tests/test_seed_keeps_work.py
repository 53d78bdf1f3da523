"""Seeding never undoes people's work: a record changed or deleted since it was seeded belongs to its
publishers, and a second `registry seed` (a second `make run`) leaves it alone and writes nothing a
peer could receive. `registry seed --reset` puts a demonstration node back as shipped."""

from __future__ import annotations

import pytest
import requests
from conftest import fresh_database_url
from nodes import Node
from sqlalchemy import func, select

from registry import migrations, models
from registry.services.seed import Outcome, read_seed, seed

EDITED = ["kg-gpo", "kg-acs", "kz-gpo", "am-pgo", "az-gpo", "ge-pog"]
WITHDRAWN = ["kg-gpo-duty", "kz-gpo-duty"]


def seed_counts(output: str) -> dict[str, dict[str, int]]:
    """`registry seed`'s lines ("authority: 0 written, 93 unchanged, 6 kept, 0 foreign") as numbers."""
    counts = {}
    for line in output.splitlines():
        record_type, _, rest = line.partition(": ")
        counts[record_type] = {outcome: int(n) for n, outcome in (part.split(" ") for part in rest.split(", "))}
    return counts


def total(counts: dict, outcome: str) -> int:
    return sum(c[outcome] for c in counts.values())


@pytest.fixture(scope="module")
def nodes(backend, tmp_path_factory):
    started = []
    for node_id in ("node-a", "node-b"):
        instance = tmp_path_factory.mktemp(f"{node_id}-{backend}")
        started.append(Node(node_id, instance, fresh_database_url(backend, instance)).start())
    yield started
    for node in started:
        node.stop()


def test_second_seed_keeps_edits_and_deletions_and_sends_peers_nothing(nodes):
    a, b = nodes
    first = seed_counts(a.cli("seed").stdout)
    assert total(first, "written") > 400 and total(first, "kept") == 0
    b.trust(a)
    b.add_peer(a)
    b.sync()

    token = a.token("publish:casc")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for local_id in EDITED:
        url = f"{a.url}/api/v1/authorities/node-a:{local_id}"
        etag = session.get(url, timeout=10).headers["ETag"]
        answer = session.patch(url, json={"website": f"https://{local_id}.example.org/"},
                               headers={"If-Match": etag}, timeout=10)
        assert answer.status_code == 200, answer.text
    for local_id in WITHDRAWN:
        url = f"{a.url}/api/v1/contact-points/node-a:{local_id}"
        etag = session.get(url, timeout=10).headers["ETag"]
        assert session.delete(url, headers={"If-Match": etag}, timeout=10).status_code == 200
    b.sync()
    last_seq = a.log_seqs("node-a")[-1]
    held_by_b = b.digest("node-a")

    second = seed_counts(a.cli("seed").stdout)
    assert total(second, "written") == 0
    assert second["authority"]["kept"] == len(EDITED)
    assert second["contact_point"]["kept"] == len(WITHDRAWN)
    assert a.log_seqs("node-a")[-1] == last_seq, "seeding added versions"
    for local_id in EDITED:
        row = a.record("authority", f"node-a:{local_id}")
        assert row.body["website"] == f"https://{local_id}.example.org/" and row.version == 2
    for local_id in WITHDRAWN:
        assert a.record("contact_point", f"node-a:{local_id}").deleted
    assert session.get(f"{a.url}/api/v1/contact-points/node-a:{WITHDRAWN[0]}", timeout=10).status_code == 410

    reports = b.sync()
    assert sum(r.counts["applied"] for r in reports) == 0
    assert b.digest("node-a") == held_by_b, "the peer received something"


def test_reset_puts_the_demonstration_back_with_new_versions(nodes):
    a, b = nodes
    counts = seed_counts(a.cli("seed", "--reset").stdout)
    assert counts["authority"]["written"] == len(EDITED)
    assert counts["contact_point"]["written"] == len(WITHDRAWN)
    row = a.record("authority", "node-a:kg-gpo")
    assert "kg-gpo.example.org" not in row.body.get("website", "") and row.version == 3
    assert not a.record("contact_point", "node-a:kg-gpo-duty").deleted
    b.sync()
    assert b.digest("node-a") == a.digest("node-a")
    # The reset is audited: it overwrote publishers' versions.
    assert "seed --reset" in a.cli("audit", "--limit", "5").stdout
    assert total(seed_counts(a.cli("seed").stdout), "written") == 0


def test_newer_seed_data_updates_records_still_as_seeded(fresh_ctx, tmp_path):
    """A newer demonstration directory reaches records nobody changed, and only those."""
    import shutil

    seed(fresh_ctx)
    seed_path = tmp_path / "seed"
    shutil.copytree(fresh_ctx.settings.seed_path, seed_path)
    kg = seed_path / "directory" / "kg.yaml"
    kg.write_text(kg.read_text(encoding="utf-8").replace("Prosecutor General's Office of the Kyrgyz Republic",
                                                         "General Prosecutor's Office of the Kyrgyz Republic"),
                  encoding="utf-8")
    with fresh_ctx.db.write() as session:
        acs = session.get(models.Authority, "local:kg-acs")
        acs_body = acs.body | {"website": "https://acs.example.org/"}
    from registry.services.records import write_record

    with fresh_ctx.db.write() as session:
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="authority", record_id="local:kg-acs", owner_network=acs.owner_network,
                     body=acs_body, actor="casc-secretariat")
    newer = fresh_ctx.__class__.create(fresh_ctx.settings.__class__.from_env(
        {}, database_url=fresh_ctx.settings.database_url, instance_path=fresh_ctx.settings.instance_path,
        seed_path=str(seed_path)))
    try:
        report = seed(newer)
    finally:
        newer.db.dispose()
    assert report.counts["authority"][Outcome.WRITTEN] == 1
    assert report.counts["authority"][Outcome.KEPT] == 1
    with fresh_ctx.db.read() as session:
        assert session.get(models.Authority, "local:kg-gpo").body["names"]["en"].startswith("General Prosecutor")
        assert session.get(models.Authority, "local:kg-acs").body["website"] == "https://acs.example.org/"


def test_upgrading_a_database_seeded_before_the_ledger_keeps_later_edits(backend, tmp_path, fresh_ctx):
    """A node seeded by an older release learns from its change log which records are still as seeded."""
    seed(fresh_ctx)
    from registry.services.records import write_record

    with fresh_ctx.db.write() as session:
        row = session.get(models.Authority, "local:kz-gpo")
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="authority", record_id=row.id, owner_network=row.owner_network,
                     body=row.body | {"website": "https://kz.example.org/"}, actor="casc-secretariat")
    url = fresh_ctx.settings.database_url
    fresh_ctx.db.dispose()
    migrations.downgrade(url, "0006")
    migrations.upgrade(url)
    with fresh_ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(models.SeededVersion)) == len(
            read_seed(fresh_ctx.settings.seed_path, "local"))
    report = seed(fresh_ctx)
    # The downgrade dropped the procedures table, which came after 0006: only they are written again.
    assert report.total(Outcome.WRITTEN) == report.counts["procedure"][Outcome.WRITTEN]
    assert report.total(Outcome.KEPT) == 1
    with fresh_ctx.db.read() as session:
        assert session.get(models.Authority, "local:kz-gpo").body["website"] == "https://kz.example.org/"
