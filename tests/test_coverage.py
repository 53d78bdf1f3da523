"""A network's editors see the gaps its notes open: a note in force that sends people to a kind of
contact point (CASC's "any 24/7 contact point") while a member country has none."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import bearer, client_with, issue_token, make_settings
from test_api import assert_valid
from test_cli import REGISTRY

from registry import create_app
from registry.services.seed import seed

GAPS = "/api/v1/networks/casc/gaps"


def missing(answer: dict, note_id: str) -> list[str]:
    return [m["country"] for m in next(n for n in answer["notes"] if n["note_id"] == note_id)["missing"]]


def test_casc_editors_see_the_members_without_a_24_7_contact_point(app, tokens):
    answer = client_with(app, tokens("publish:casc")).get(GAPS)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert_valid("coverage.json", answer.get_json())
    assert missing(answer.get_json(), "local:note-casc-preservation") == ["AM", "AZ", "TJ", "TM"]


@pytest.mark.parametrize(("scope", "status"), [(None, 401), ("directory:restricted", 403), ("publish:wacap", 403)])
def test_only_the_networks_editors_see_its_gaps(app, tokens, scope, status):
    response = client_with(app, tokens(scope) if scope else None).get(GAPS)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"


def test_a_24_7_contact_point_closes_the_gap(fresh_ctx, tmp_path):
    seed(fresh_ctx)
    app = create_app(make_settings(fresh_ctx.settings.database_url, tmp_path))
    client = app.test_client()
    headers = bearer(issue_token(app, "publish:casc"))
    duty = {"authority_id": "local:am-pgo", "owner_network": "casc", "kind": "function",
            "position": {"en": "24/7 duty prosecutor"}, "roles": [{"network": "casc", "role": "24_7"}],
            "languages": ["hy", "ru"], "phone": "+374 555 0199", "hours": {"time_zone": "Asia/Yerevan", "always": True},
            "valid_from": "2026-01-01"}
    created = client.post("/api/v1/contact-points", json=duty, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert missing(client.get(GAPS, headers=headers).get_json(), "local:note-casc-preservation") == ["AZ", "TJ", "TM"]


def test_the_cli_lists_the_gaps_and_fails_while_one_remains(seeded_settings):
    env = os.environ | {"REGISTRY_DATABASE_URL": seeded_settings.database_url,
                        "REGISTRY_INSTANCE_PATH": seeded_settings.instance_path}
    result = subprocess.run([REGISTRY, "networks", "gaps", "CASC"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert "local:note-casc-preservation refers to 24_7 contact points in casc: AM (Armenia), AZ (Azerbaijan)" \
        in result.stdout
