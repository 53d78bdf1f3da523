"""Every string of the pages is translated in every catalog: extracted afresh from the code and the
templates and compared with each committed .po."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from registry.web.i18n import LANGUAGES, TRANSLATIONS, compile_catalogs

ROOT = Path(__file__).resolve().parents[1]
PYBABEL = str(Path(sys.executable).parent / "pybabel")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([PYBABEL, "extract", "-F", "registry/web/babel.cfg", "-k", "_l", "--no-location",
                    "-o", str(pot), "registry/web"], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return {message.id for message in read_po(f) if message.id}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_the_catalog_translates_every_string(extracted, language):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=language)
    held = {message.id: message for message in catalog if message.id}
    assert extracted - held.keys() == set(), f"{language}: untranslated"
    assert held.keys() - extracted == set(), f"{language}: obsolete"
    for message in held.values():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"{language}: {message.id!r} empty or fuzzy"
        assert len(strings) == (catalog.num_plurals if message.pluralizable else 1), message.id
        assert not list(message.check(catalog)), f"{language}: {message.id!r} placeholders differ"


def test_catalogs_compile(tmp_path):
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        target = tmp_path / po.relative_to(TRANSLATIONS)
        target.parent.mkdir(parents=True)
        target.write_bytes(po.read_bytes())
    assert len(compile_catalogs(tmp_path)) == len(LANGUAGES) - 1
    assert compile_catalogs(tmp_path) == []  # up to date: nothing written again


def test_catalogs_compile_elsewhere_when_the_package_is_read_only(tmp_path):
    written = compile_catalogs(TRANSLATIONS, tmp_path / "translations")
    assert {mo.parts[-3] for mo in written} == set(LANGUAGES) - {"en"}
