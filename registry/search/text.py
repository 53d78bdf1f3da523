"""What a practitioner types, turned into words every backend matches the same way.

No query syntax from users ever reaches FTS5, tsquery or the Elasticsearch DSL: the text is folded
(case, accents, punctuation) and split into words here, and each backend quotes those words in its
own language. Each word also carries its Latin transliteration, so "Ибраимов" and "Ibraimov" find
each other, and a typo allowance by length. Country names, crime-type and request-type synonyms
inside the text become filters ("Kyrgyzstan corruption asset recovery").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anyascii import anyascii

from registry.errors import InvalidParameter
from registry.taxonomy import Taxonomy, fold

# Highlight markers inside snippets: private-use characters, removed from indexed text so that only
# a backend's highlighting puts them there. The service escapes snippets and turns them into <mark>.
MARK_START, MARK_END = "\ue000", "\ue001"
MAX_QUERY_CHARS = 500
MAX_WORDS = 20
# Longest run of words tried as one country or crime-type name ("bosnia and herzegovina").
MAX_NAME_WORDS = 4
# Shorter names are not read as filters: they would catch "in", "to", "be" (ISO codes) and initials.
# Request types are known by three-letter initials practitioners type ("MLA", "EIO", "JIT").
MIN_NAME_CHARS = {"country": 4, "crime_type": 4, "request_type": 3}
# Shorter words ("a", "of", "in") rank but are not required: requiring them would drop good matches.
MIN_REQUIRED_CHARS = 3


def latin(text: str) -> str:
    """The folded Latin transliteration of `text` ("Ибраимов" -> "ibraimov")."""
    return fold(anyascii(text))


def words(text: str) -> list[str]:
    return fold(text).split()


def indexable(strings) -> str:
    """Text as indexed: each string as written and, where it is not ASCII, transliterated beside it."""
    out = []
    for value in strings:
        if not value:
            continue
        value = value.replace(MARK_START, "").replace(MARK_END, "")
        out.append(value)
        if not value.isascii():
            transliterated = anyascii(value)
            if fold(transliterated) != fold(value):
                out.append(transliterated)
    return "\n".join(out)


def allowed_edits(word: str) -> int:
    """Typo tolerance: none under 4 letters, one edit up to 7, two from 8 (Elasticsearch's AUTO:4,8)."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


@dataclass(frozen=True)
class Word:
    """One query word: its folded forms (as typed, transliterated) and how many typos it tolerates."""

    forms: tuple[str, ...]
    edits: int

    @classmethod
    def of(cls, word: str) -> Word:
        forms = [word]
        transliterated = latin(word)
        if transliterated and transliterated not in forms and " " not in transliterated:
            forms.append(transliterated)
        return cls(tuple(forms), allowed_edits(word))


@dataclass(frozen=True)
class ParsedQuery:
    """`required` words must all match; `optional` words (read as filters, or short) only rank,
    unless they are all there is (`one_optional_needed`)."""

    required: tuple[Word, ...] = ()
    optional: tuple[Word, ...] = ()
    country: str | None = None
    crime_type: str | None = None
    request_type: str | None = None
    # the words read as each filter, as typed (folded), for the response
    read_as: dict[str, str] = field(default_factory=dict)

    @property
    def one_optional_needed(self) -> bool:
        """Only short words ("a OR"): at least one of them must match, or every record would."""
        return bool(self.optional) and not self.required and not self.read_as


def parse(taxonomy: Taxonomy, q: str | None, *, find_country: bool = True, find_crime_type: bool = True,
          find_request_type: bool = True, parameter: str = "q") -> ParsedQuery:
    if q is None:
        return ParsedQuery()
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidParameter(parameter, f"at most {MAX_QUERY_CHARS} characters; shorten the text")
    folded = words(q)
    if len(folded) > MAX_WORDS:
        raise InvalidParameter(parameter, f"at most {MAX_WORDS} words; keep the words that matter")
    found: dict[str, tuple[str, int, int]] = {}
    lookups = []
    if find_country:
        lookups.append(("country", taxonomy.countries.find))
    if find_crime_type:
        lookups.append(("crime_type", taxonomy.crime_types.find))
    if find_request_type:
        lookups.append(("request_type", taxonomy.request_types.find))
    taken = [False] * len(folded)
    for size in range(min(MAX_NAME_WORDS, len(folded)), 0, -1):
        for start in range(len(folded) - size + 1):
            if any(taken[start:start + size]):
                continue
            phrase = " ".join(folded[start:start + size])
            for kind, find in lookups:
                if len(phrase) < MIN_NAME_CHARS[kind]:
                    continue
                code = find(phrase)
                if kind not in found and code:
                    found[kind] = (code, start, size)
                    taken[start:start + size] = [True] * size
                    break
    required = tuple(Word.of(w) for w, t in zip(folded, taken, strict=True)
                     if not t and len(w) >= MIN_REQUIRED_CHARS)
    optional = tuple(Word.of(w) for w, t in zip(folded, taken, strict=True)
                     if t or len(w) < MIN_REQUIRED_CHARS)
    return ParsedQuery(
        required=required, optional=optional,
        country=found["country"][0] if "country" in found else None,
        crime_type=found["crime_type"][0] if "crime_type" in found else None,
        request_type=found["request_type"][0] if "request_type" in found else None,
        read_as={kind: " ".join(folded[start:start + size]) for kind, (_, start, size) in found.items()},
    )
