"""The questions practitioners ask, each with the authority that must come first and why
(tests/practitioner_questions.yaml), asked of the demonstration directory on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from registry.services import Page
from registry.services.lookup import LookupQuery, lookup
from registry.visibility import Tier

QUESTIONS = yaml.safe_load((Path(__file__).parent / "practitioner_questions.yaml").read_text(encoding="utf-8"))
SOURCES = {"untoc", "eio", "eaw", "bd-mla", "ng-mla", "only"}


def test_the_set_is_large_and_every_answer_has_a_source():
    questions = QUESTIONS["questions"]
    assert len(questions) >= 40
    assert all(q["source"] in SOURCES and q["why"] for q in questions)
    assert len({(q["country"], q["crime_type"], q["request_type"]) for q in questions}) == len(questions)


@pytest.mark.parametrize("question", QUESTIONS["questions"],
                         ids=lambda q: f"{q['country']}/{q['crime_type']}/{q['request_type']}")
def test_the_expected_authority_comes_first_and_says_why(ctx, question):
    answer = lookup(ctx, LookupQuery(country=question["country"], crime_type=question["crime_type"],
                                     request_type=question["request_type"]), Page(1, 5), Tier.PUBLIC)
    first = answer["results"][0]
    assert first["authority"]["id"].split(":", 1)[1] == question["first"]
    role = ("central_authority" if question["why"].startswith("central authority")
            else "competent_authority" if "competent for" in question["why"] else None)
    if role:
        assert first["matched"]["designation"]["role"] == role
    assert first["matched"]["request_coverage"] == "full"


def test_a_body_handling_some_forms_of_a_request_type_comes_after_one_handling_all_of_it(ctx):
    answer = lookup(ctx, LookupQuery(country="UZ", crime_type="corruption", request_type="mla"), Page(1, 5),
                    Tier.PUBLIC)
    coverage = {r["authority"]["id"].split(":", 1)[1]: r["matched"]["request_coverage"] for r in answer["results"]}
    assert coverage == {"uz-gpo": "full", "uz-aca": "partial"}
    assert list(coverage) == ["uz-gpo", "uz-aca"]
    assert "designation" not in answer["results"][1]["matched"]
