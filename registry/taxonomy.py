"""Reference data: countries, crime types and request types, and the resolvers that turn what a
practitioner types ("Кыргызстан", "human trafficking", "THB") into codes.

Countries come from pycountry and its locale files; crime and request types from seed_data/.
Names are compared folded: case, accents and punctuation ignored.
"""

from __future__ import annotations

import difflib
import gettext
import math
import os
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import pycountry
import yaml

from registry.errors import UnknownValue

# Languages in which country names are served; resolution accepts every locale pycountry has.
DISPLAY_LANGUAGES = ("en", "fr", "ru", "es", "ar", "zh", "pt", "de")
_LOCALE_DIRS = {"zh": "zh_CN"}


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


@dataclass(frozen=True)
class Term:
    code: str
    names: dict[str, str]
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    parent: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.names.get("en") or next(iter(self.names.values()))

    def as_dict(self) -> dict:
        return {"code": self.code, "parent": self.parent, "names": self.names,
                "synonyms": self.synonyms, **self.details}


class NameResolver:
    """Maps folded names to codes, dropping names that would be ambiguous."""

    def __init__(self, kind: str):
        self.kind = kind
        self._index: dict[str, str] = {}
        self._ambiguous: set[str] = set()

    def add(self, name: str, code: str) -> None:
        key = fold(name)
        if not key or key in self._ambiguous:
            return
        if self._index.setdefault(key, code) != code:
            del self._index[key]
            self._ambiguous.add(key)

    def pin(self, name: str, code: str) -> None:
        """Map `name` to `code` whatever else folds to it (codes beat names)."""
        key = fold(name)
        self._ambiguous.discard(key)
        self._index[key] = code

    def find(self, value: str) -> str | None:
        return self._index.get(fold(value))

    def close_matches(self, value: str, limit: int = 3) -> list[str]:
        """Codes `value` may have meant: a name it nearly spells, then names that share its words
        (rare words weigh more: "war crime" means war crimes, not one of the many "... crime"), then
        names spelt somewhat alike."""
        folded = fold(value)
        alike = difflib.get_close_matches(folded, self._index, n=limit * 4, cutoff=0.6)
        nearly = [key for key in alike if difflib.SequenceMatcher(None, folded, key).ratio() >= 0.85]
        codes: list[str] = []
        for found in ([self._index[k] for k in nearly], self._sharing_words(folded), [self._index[k] for k in alike]):
            codes += [code for code in dict.fromkeys(found) if code not in codes]
        return codes[:limit]

    def _sharing_words(self, folded: str) -> list[str]:
        total = len(set(self._index.values())) or 1
        scores: dict[str, float] = defaultdict(float)
        for typed in set(folded.split()):
            if len(typed) < 3:
                continue
            matched: set[str] = set()
            for word in self._words_by_prefix.get(typed[:4], ()):
                if _same_stem(typed, word):
                    matched |= self._word_codes[word]
            for code in matched:
                scores[code] += math.log(1 + total / len(matched))
        best = max(scores.values(), default=0)
        return sorted((code for code in scores if scores[code] >= best / 2), key=lambda code: (-scores[code], code))

    # Built on first use, after loading: names are only added while the taxonomy loads.
    @cached_property
    def _word_codes(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] = defaultdict(set)
        for key, code in self._index.items():
            for word in key.split():
                index[word].add(code)
        return index

    @cached_property
    def _words_by_prefix(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for word in self._word_codes:
            index[word[:4]].append(word)
        return index


def _same_stem(a: str, b: str) -> bool:
    """Crude stemming: "crimes" and "crime", "drugs" and "drug", "narcotic" and "narcotics"."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    stem = min(len(a), len(b), max(4, max(len(a), len(b)) - 2))
    return a[:stem] == b[:stem]


class Vocabulary:
    """A small controlled vocabulary (crime types, request types) with multilingual synonyms."""

    def __init__(self, kind: str, terms: list[Term]):
        self.kind = kind
        self.terms = {t.code: t for t in terms}
        self._resolver = NameResolver(kind)
        for term in terms:
            self._resolver.add(term.code, term.code)
            self._resolver.add(term.code.replace("_", " ").replace(".", " "), term.code)
            # "taking evidence" for "mla.taking_evidence"
            self._resolver.add(term.code.rpartition(".")[2].replace("_", " "), term.code)
            for name in term.names.values():
                self._resolver.add(name, term.code)
            for names in term.synonyms.values():
                for name in names:
                    self._resolver.add(name, term.code)

    def __contains__(self, code: str) -> bool:
        return code in self.terms

    def find(self, value: str) -> str | None:
        """The code `value` names, or None."""
        return self._resolver.find(value)

    def resolve(self, value: str, parameter: str) -> str:
        code = self._resolver.find(value)
        if code is None:
            suggestions = [{"code": c, "name": self.terms[c].name} for c in self._resolver.close_matches(value)]
            raise UnknownValue(parameter, value, self.kind, suggestions)
        return code

    def children(self, code: str) -> list[str]:
        return [t.code for t in self.terms.values() if t.parent == code]

    def ancestors(self, code: str) -> list[str]:
        """The code's parent, its parent's parent, ... nearest first."""
        found = []
        parent = self.terms[code].parent
        while parent:
            found.append(parent)
            parent = self.terms[parent].parent
        return found

    def descendants(self, code: str) -> set[str]:
        found: set[str] = set()
        pending = [code]
        while pending:
            for child in self.children(pending.pop()):
                found.add(child)
                pending.append(child)
        return found

    def related(self, code: str) -> set[str]:
        """The code, its ancestors and its descendants: everything a filter on `code` should match.

        An authority that handles "mla" handles "mla.taking_evidence", and one that handles only
        "mla.taking_evidence" is relevant to a search for "mla".
        """
        return {code, *self.ancestors(code), *self.descendants(code)}


@dataclass(frozen=True)
class Country:
    code: str
    alpha_3: str
    numeric: str
    name: str
    official_name: str | None
    names: dict[str, str]

    def summary(self) -> dict:
        return {"code": self.code, "name": self.name, "names": self.names}

    def as_dict(self) -> dict:
        out = {"code": self.code, "alpha_3": self.alpha_3, "numeric": self.numeric, "name": self.name,
               "names": self.names}
        if self.official_name:
            out["official_name"] = self.official_name
        return out


class Countries:
    def __init__(self, aliases: dict[str, list[str]]):
        self._resolver = NameResolver("country")
        self.by_code: dict[str, Country] = {}
        translations = _all_translations()
        for record in pycountry.countries:
            english = [record.name, getattr(record, "official_name", None), getattr(record, "common_name", None)]
            english = [n for n in english if n]
            names = {}
            for language in DISPLAY_LANGUAGES:
                translation = translations.get(_LOCALE_DIRS.get(language, language))
                names[language] = translation.gettext(record.name) if translation else record.name
            country = Country(record.alpha_2, record.alpha_3, record.numeric,
                              getattr(record, "common_name", None) or record.name,
                              getattr(record, "official_name", None), names)
            self.by_code[country.code] = country
            for name in english:
                self._resolver.add(name, country.code)
            for translation in translations.values():
                for name in english:
                    self._resolver.add(translation.gettext(name), country.code)
        for code, names in aliases.items():
            for name in names:
                self._resolver.add(name, code)
        # Codes win over any name that happens to fold to the same letters.
        for country in self.by_code.values():
            self._resolver.pin(country.code, country.code)
            self._resolver.pin(country.alpha_3, country.code)

    def find(self, value: str) -> str | None:
        """The alpha-2 code `value` names, or None."""
        return self._resolver.find(value)

    def resolve(self, value: str, parameter: str = "country") -> str:
        code = self._resolver.find(value)
        if code is None:
            suggestions = [{"code": c, "name": self.by_code[c].name} for c in self._resolver.close_matches(value)]
            raise UnknownValue(parameter, value, "country", suggestions)
        return code

    def get(self, code: str) -> Country | None:
        return self.by_code.get(code.upper())


def _all_translations() -> dict[str, gettext.NullTranslations]:
    out = {}
    for language in sorted(os.listdir(pycountry.LOCALES_DIR)):
        if os.path.exists(os.path.join(pycountry.LOCALES_DIR, language, "LC_MESSAGES", "iso3166-1.mo")):
            out[language] = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    return out


@dataclass(frozen=True)
class Taxonomy:
    countries: Countries
    crime_types: Vocabulary
    request_types: Vocabulary


def _terms(path: Path, key: str) -> list[Term]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    terms = []
    for entry in data[key]:
        entry = dict(entry)
        terms.append(Term(code=entry.pop("code"), names=entry.pop("names"), synonyms=entry.pop("synonyms", {}),
                          parent=entry.pop("parent", None), details=entry))
    return terms


@cache
def load_taxonomy(seed_path: str) -> Taxonomy:
    root = Path(seed_path)
    aliases = yaml.safe_load((root / "country_aliases.yaml").read_text(encoding="utf-8"))["aliases"]
    return Taxonomy(
        countries=Countries(aliases),
        crime_types=Vocabulary("crime type", _terms(root / "crime_types.yaml", "crime_types")),
        request_types=Vocabulary("request type", _terms(root / "request_types.yaml", "request_types")),
    )
