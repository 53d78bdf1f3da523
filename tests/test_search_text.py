"""How typed text becomes query words: folding, transliteration, typo allowance, filters read from words."""

from __future__ import annotations

import pytest

from registry.config import PROJECT_ROOT
from registry.errors import InvalidParameter
from registry.search.text import MARK_END, MARK_START, Word, allowed_edits, indexable, parse, words
from registry.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(str(PROJECT_ROOT / "seed_data"))


def test_words_are_folded_and_split_on_punctuation():
    assert words("Malmö, a.ibraimov@example.org — ÉLAN") == ["malmo", "a", "ibraimov", "example", "org", "elan"]
    assert words('"abc NEAR( x:y *') == ["abc", "near", "x", "y"]


def test_each_word_carries_its_transliteration():
    assert Word.of("ибраимов").forms == ("ибраимов", "ibraimov")
    assert Word.of("ibraimov").forms == ("ibraimov",)
    assert indexable(["Азамат Ибраимов", "Bishkek", None]) == "Азамат Ибраимов\nAzamat Ibraimov\nBishkek"


def test_highlight_markers_cannot_come_from_records():
    assert indexable([f"a{MARK_START}b{MARK_END}"]) == "ab"


@pytest.mark.parametrize(("word", "edits"), [("abc", 0), ("abcd", 1), ("abcdefg", 1), ("abcdefgh", 2)])
def test_typo_allowance_grows_with_the_word(word, edits):
    assert allowed_edits(word) == edits


def test_a_country_and_a_crime_type_are_read_from_the_words(taxonomy):
    query = parse(taxonomy, "human trafficking in Bosnia and Herzegovina prosecutor")
    assert (query.country, query.crime_type) == ("BA", "trafficking_in_persons")
    assert query.read_as == {"country": "bosnia and herzegovina", "crime_type": "human trafficking"}
    assert [w.forms[0] for w in query.required] == ["prosecutor"]
    assert "in" in [w.forms[0] for w in query.optional]


def test_request_types_are_read_from_the_words(taxonomy):
    query = parse(taxonomy, "Kyrgyzstan corruption asset recovery")
    assert (query.country, query.crime_type, query.request_type) == ("KG", "corruption", "asset_recovery")
    assert query.required == ()
    assert parse(taxonomy, "MLA Kazakhstan").request_type == "mla"
    assert parse(taxonomy, "asset recovery", find_request_type=False).request_type is None


def test_codes_and_short_words_are_not_read_as_filters(taxonomy):
    query = parse(taxonomy, "to be in KG")
    assert query.country is None and query.read_as == {}
    assert query.required == () and query.one_optional_needed


def test_an_explicit_filter_turns_reading_off(taxonomy):
    query = parse(taxonomy, "corruption Kyrgyzstan", find_country=False)
    assert query.country is None and query.crime_type == "corruption"
    assert [w.forms[0] for w in query.required] == ["kyrgyzstan"]


@pytest.mark.parametrize("q", ["x" * 501, "word " * 21])
def test_overlong_text_is_refused(taxonomy, q):
    with pytest.raises(InvalidParameter):
        parse(taxonomy, q)
