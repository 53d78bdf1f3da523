"""The reader's language: a visible switcher remembered in a cookie, else Accept-Language; catalogs compiled
from the committed .po files when their .mo is missing or older."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import Babel, get_translations

TRANSLATIONS = Path(__file__).parent / "translations"
# The interface languages, in the order the switcher shows them, each named in itself.
LANGUAGES = {"en": "English", "fr": "Français", "ru": "Русский", "es": "Español", "pt": "Português"}
DEFAULT = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def compile_catalogs(root: Path = TRANSLATIONS, target: Path | None = None) -> list[Path]:
    """Write messages.mo for each messages.po under `root` whose .mo (under `target`, by default next to it)
    is missing or older; atomically, as several workers may start at once. Returns the files written."""
    target = target or root
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        mo = target / po.relative_to(root).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        mo.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo)
        written.append(mo)
    return written


def compiled_catalogs(instance_path: str) -> Path:
    """Where the compiled catalogs are: next to the .po files, or, when the package is installed read-only,
    in the instance folder."""
    try:
        compile_catalogs()
        return TRANSLATIONS
    except OSError:
        target = Path(instance_path) / "translations"
        compile_catalogs(TRANSLATIONS, target)
        return target


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), DEFAULT)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compiled_catalogs(app.instance_path)))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    Babel(app, locale_selector=select_locale)
    # Flask-Babel's template callables look the catalog up through several context proxies for every string,
    # and a lookup page has hundreds: these keep the request's catalog once it is found.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _catalog():
    catalog = g.get("registry_catalog")
    if catalog is None:
        catalog = g.registry_catalog = get_translations()
    return catalog
