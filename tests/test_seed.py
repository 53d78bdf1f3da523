"""The demonstration directory: valid, complete for the five networks, fictional where it must be,
and loaded idempotently through the write path."""

import re
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import func, select

from registry import contracts, models
from registry.config import Settings
from registry.services.records import represent
from registry.services.seed import read_seed, seed
from registry.visibility import Tier

CASC = {"KZ", "KG", "TJ", "TM", "UZ", "AM", "AZ", "GE"}
WACAP = {"BJ", "BF", "CV", "CI", "GM", "GH", "GN", "GW", "LR", "ML", "NE", "NG", "SN", "SL", "TG", "MR", "TD"}
EU = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}


@pytest.fixture(scope="module")
def records():
    return read_seed(Settings.from_env({}).seed_path, "local")


def by_type(records, record_type):
    return [r for r in records if r.record_type == record_type]


def test_every_seed_body_matches_its_schema(records):
    for record in records:
        assert contracts.body_errors(record.record_type, record.body) == [], record.local_id


def member_countries(records):
    country_of = {f"local:{r.local_id}": r.body["country"] for r in by_type(records, "authority")}
    out = defaultdict(set)
    for network in by_type(records, "network"):
        for member in network.body["members"]:
            out[network.body["code"]].add(country_of[member["authority_id"]])
    return out


def test_networks_have_their_member_countries(records):
    countries = member_countries(records)
    assert {n.body["code"] for n in by_type(records, "network")} == {"globe", "casc", "wacap", "seajust", "ejn"}
    assert countries["casc"] == CASC
    assert countries["wacap"] == WACAP
    assert countries["ejn"] == EU
    assert len(countries["seajust"]) >= 10
    assert len(countries["globe"]) >= 40


def test_every_authority_has_two_contact_points_and_some_are_special(records):
    per_authority = defaultdict(list)
    for cp in by_type(records, "contact_point"):
        per_authority[cp.body["authority_id"]].append(cp.body)
    authorities = by_type(records, "authority")
    assert all(len(per_authority[f"local:{a.local_id}"]) >= 2 for a in authorities)
    cps = [cp for group in per_authority.values() for cp in group]
    assert sum(cp["hours"].get("always", False) for cp in cps) >= 20
    today = date.today().isoformat()
    assert any(cp.get("valid_until", "9999") < today for cp in cps), "a past hand-over"
    assert any(cp["valid_from"] > today for cp in cps), "an upcoming hand-over"


def test_people_and_numbers_are_fictional(records):
    for record in records:
        text = repr(record.body)
        for email in re.findall(r"[\w.+-]+@[\w.-]+", text):
            assert email.endswith("@example.org"), (record.local_id, email)
    for cp in by_type(records, "contact_point"):
        for phone in [cp.body.get("phone"), cp.body.get("person", {}).get("phone")]:
            assert phone is None or re.fullmatch(r"\+\d{1,3} 555 01\d\d", phone), (cp.local_id, phone)


def test_emergency_notes_cover_every_scope_and_period(records):
    notes = [r.body for r in by_type(records, "emergency_note")]
    today = date.today().isoformat()
    assert len(notes) >= 10
    assert {next(iter(n["scope"])) for n in notes} == {"country", "authority_id", "network"}
    assert any(n.get("effective_until", "9999") < today for n in notes), "an expired note"
    assert any(n["effective_from"] <= today <= n.get("effective_until", "9999") for n in notes), "a note in force"


def test_kyrgyz_prosecutor_general_is_seeded(records):
    gpo = next(r for r in by_type(records, "authority") if r.local_id == "kg-gpo")
    assert gpo.body["names"]["en"] == "Prosecutor General's Office of the Kyrgyz Republic"
    assert "trafficking_in_persons" in gpo.body["competences"]


def test_seed_is_idempotent_and_versioned(fresh_ctx):
    first = seed(fresh_ctx).as_dict()
    with fresh_ctx.db.read() as session:
        log_rows = session.scalar(select(func.count()).select_from(models.ChangeLogEntry))
        versions = set(session.scalars(select(models.Authority.version)))
    assert sum(c["written"] for c in first.values()) == log_rows
    assert versions == {1}
    second = seed(fresh_ctx).as_dict()
    assert sum(c["written"] for c in second.values()) == 0
    with fresh_ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(models.ChangeLogEntry)) == log_rows
        seqs = list(session.scalars(select(models.ChangeLogEntry.seq).order_by(models.ChangeLogEntry.seq)))
    assert seqs == list(range(1, log_rows + 1))


COLLECTIONS = {"authority": "authorities", "contact_point": "contact-points", "emergency_note": "emergency-notes",
               "procedure": "procedures"}


def test_api_output_for_every_seed_record_matches_the_schemas(ctx, client):
    """Every seeded record as the API serves it validates against its schema in schemas/."""
    from registry.record_types import RECORD_TYPES

    served = 0
    with ctx.db.read() as session:
        rows = {t: list(session.scalars(select(kind.model))) for t, kind in RECORD_TYPES.items()}
    for record_type, records in rows.items():
        validator = contracts.validator(contracts.RECORD_SCHEMAS[record_type])
        for row in records:
            if record_type == "network":
                path = f"/api/v1/networks/{row.code}"
            else:
                path = f"/api/v1/{COLLECTIONS[record_type]}/{row.id}"
            response = client.get(path)
            if record_type == "emergency_note" and row.visibility == "restricted":
                assert response.status_code == 404, "restricted notes are not served yet"
                continue
            assert response.status_code == 200, path
            errors = [e.message for e in validator.iter_errors(response.get_json())]
            assert errors == [], (path, errors)
            served += 1
    assert served > 400


def test_represented_records_match_the_schemas_at_every_tier(ctx):
    """The restricted tier is not served yet, but its form must already meet the contract."""
    from registry.record_types import RECORD_TYPES

    with ctx.db.read() as session:
        for record_type, kind in RECORD_TYPES.items():
            validator = contracts.validator(contracts.RECORD_SCHEMAS[record_type])
            for row in session.scalars(select(kind.model)):
                served = represent(record_type, row, Tier.RESTRICTED)
                assert [e.message for e in validator.iter_errors(served)] == [], row.id
