"""The API contract fuzzed against a node on PostgreSQL: see contract_fuzzing.py."""

import pytest
from contract_fuzzing import CALLERS, fuzz, serve


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    yield from serve("postgresql", tmp_path_factory)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_no_generated_request_gets_a_server_error_or_breaks_the_contract(node, caller, tmp_path):
    fuzz(node, caller, tmp_path)
