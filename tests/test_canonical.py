"""Canonical JSON: the fast path writes exactly what RFC 8785's reference implementation writes."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.crypto import canonical
from registry.services.seed import read_seed

# Every JSON value, with the parts where orjson and RFC 8785 differ well represented: floats,
# integers around ±2^53, keys outside the Basic Multilingual Plane, control characters, lone surrogates.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    ["", "\x00\x1f\x7f", "\b\t\n\f\r\"\\/", "\u2028\u2029", "é", "\ue000", "\U0001f600", "\ud800", "a\udfffb"])
NUMBERS = (st.integers() | st.integers(2**53 - 3, 2**53 + 3) | st.integers(-(2**53) - 3, -(2**53) + 3)
           | st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(st.none() | st.booleans() | NUMBERS | TEXT,
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
                    max_leaves=30)


def _outcome(dumps, value):
    try:
        return dumps(value)
    except Exception as exc:  # noqa: BLE001 - the kind of refusal is what is compared
        return type(exc)


@settings(max_examples=2000, deadline=None)
@given(JSON)
def test_same_bytes_or_same_refusal_as_rfc8785(value):
    assert _outcome(canonical.dumps, value) == _outcome(rfc8785.dumps, value)


@pytest.mark.parametrize("value", [{"\U0001f600": 1, "\uffff": 2, "z": 3}, 1.0, 1e21, -0.0, 2**53, -(2**53),
                                   {"a": [1, 2.5]}, "\ud800"])
def test_values_orjson_would_write_differently_go_to_rfc8785(value):
    assert _outcome(canonical.dumps, value) == _outcome(rfc8785.dumps, value)


def test_record_bodies_take_the_fast_path(monkeypatch):
    bodies = [record.body for record in read_seed("seed_data", "local")]
    expected = [rfc8785.dumps(body) for body in bodies]
    monkeypatch.setattr(rfc8785, "dumps", lambda value: pytest.fail(f"rfc8785 used for {value!r:.80}"))
    assert [canonical.dumps(body) for body in bodies] == expected
