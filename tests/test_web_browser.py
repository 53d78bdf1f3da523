"""The practitioner's pages in a real browser: the lookups people make, in their languages, with and
without JavaScript, on a phone; accessibility by axe-core on every page type in every language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import vobject
from axe_playwright_python.sync_playwright import Axe
from conftest import SCREENSHOTS

from registry.web.i18n import LANGUAGES

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
PAGE_TYPES = {"index": "/", "lookup": "/lookup?country=KG&crime_type=trafficking_in_persons",
              "authority": "/authorities/local:kg-gpo", "country": "/countries/KG", "network": "/networks/casc",
              "networks": "/networks", "notes": "/emergency-notes", "search": "/search?q=prosecutor",
              "unknown": "/lookup?country=Kirgizstn", "not-found": "/no-such-page", "access": "/access",
              "designation": "/lookup?country=UZ&crime_type=corruption&request_type=mla",
              "procedure": "/lookup?country=AT&request_type=EIO"}


@pytest.fixture
def node(served_nodes, backend):
    return served_nodes(backend)


def ask(page, country: str, crime: str, urgent: bool = False):
    page.get_by_label(re.compile("^(Country|Pays|Страна)$")).fill(country)
    page.locator("#crime_type").fill(crime)
    if urgent:
        page.locator("#urgent").check()
    page.locator("form.lookup button[type=submit]").click()
    page.wait_for_load_state()


def test_russian_kyrgyzstan_trafficking_gives_the_prosecutors_with_the_urgent_note_on_top(visit, node):
    v = visit(node, locale="ru-RU")
    v.page.goto("/")
    assert v.page.locator("html").get_attribute("lang") == "ru"
    ask(v.page, "Кыргызстан", "торговля людьми")
    assert "/lookup?country=" in v.page.url  # bookmarkable
    notes = v.page.locator("section.notes")
    assert "Торговля людьми — срочные запросы" in notes.inner_text()
    first = v.page.locator("article.authority").first
    assert "Генеральная прокуратура Кыргызской Республики" in first.locator("h3").inner_text()
    assert notes.bounding_box()["y"] < first.bounding_box()["y"]
    # Top of the page: the note is on screen without scrolling.
    assert notes.bounding_box()["y"] < v.page.viewport_size["height"]


def test_french_kirghizistan(visit, node):
    v = visit(node, locale="fr-FR")
    v.page.goto("/")
    ask(v.page, "Kirghizistan", "traite des êtres humains")
    assert v.page.locator("h1").inner_text() == "À qui s'adresser : Kirghizistan"
    assert "Traite des personnes" in v.page.locator(".summary").inner_text()
    assert "Prosecutor General's Office" in v.page.locator("article.authority h3").first.inner_text()
    assert v.page.locator("article.authority .why .yes").first.inner_text() == \
        "Compétent pour : Traite des personnes"


def test_a_misspelt_country_offers_suggestions(visit, node):
    v = visit(node, locale="en-GB")
    v.page.goto("/")
    ask(v.page, "Kirgizstn", "trafficking in persons")
    assert v.page.locator("h1").inner_text() == "“Kirgizstn” is not a country we know."
    v.page.get_by_role("link", name="Kyrgyzstan").click()
    assert v.page.locator("h1").inner_text() == "Whom to contact in Kyrgyzstan"


def test_the_urgent_switch_puts_the_duty_line_first(visit, node):
    token = node.token("directory:read")
    v = visit(node, locale="en-GB", extra_http_headers={"Authorization": f"Bearer {token}"})
    v.page.goto("/")
    ask(v.page, "Kyrgyzstan", "trafficking in persons")
    gpo = v.page.locator("article.authority").first
    assert "Head of the International" in gpo.locator(".point").first.inner_text()
    # Flipping the switch on the answer asks again (with JavaScript, at once).
    v.page.locator("details.again summary").click()
    v.page.locator("details.again #urgent").check()
    v.page.wait_for_url(re.compile(r"urgent=1"))
    gpo = v.page.locator("article.authority").first
    assert gpo.locator(".point").first.locator(".badge").inner_text() == "24/7"
    assert "24/7 duty prosecutor" in gpo.locator(".point").first.inner_text()


def test_vcard_downloads_parse(visit, node):
    v = visit(node, locale="en-GB", accept_downloads=True)
    v.page.goto("/lookup?country=KG&crime_type=trafficking_in_persons")
    with v.page.expect_download() as info:
        v.page.locator("article.authority").first.locator(".actions a.vcard").click()
    assert info.value.suggested_filename.endswith(".vcf")
    cards = list(vobject.readComponents(Path(info.value.path()).read_text(encoding="utf-8")))
    assert cards[0].version.value == "4.0" and cards[0].fn.value == "Prosecutor General's Office of the Kyrgyz Republic"


def test_contact_point_vcard_links_parse(visit, node):
    """Contact points show to a caller with a token; the browser's download manager sends no extra headers,
    so the link is fetched with the page's own request context, which does."""
    token = node.token("directory:read")
    v = visit(node, locale="en-GB", extra_http_headers={"Authorization": f"Bearer {token}"})
    v.page.goto("/lookup?country=KG&crime_type=trafficking_in_persons")
    links = v.page.locator("article.authority").first.locator(".point a.vcard")
    assert links.count() == 2
    for i in range(links.count()):
        answer = v.context.request.get(links.nth(i).get_attribute("href"))
        assert answer.ok and answer.headers["content-type"].startswith("text/vcard")
        card = next(vobject.readComponents(answer.text()))
        assert card.fn.value and card.org.value


def test_the_language_switcher_is_remembered(visit, node):
    v = visit(node, locale="en-GB")
    v.page.goto("/lookup?country=KG")
    v.page.get_by_role("link", name="Русский").click()
    assert v.page.locator("html").get_attribute("lang") == "ru"
    assert v.page.url.endswith("/lookup?country=KG")
    assert v.page.locator("h1").inner_text() == "К кому обращаться: Киргизия"
    v.page.goto("/")
    assert v.page.locator("html").get_attribute("lang") == "ru"
    assert v.page.get_by_role("link", name="Русский").get_attribute("aria-current") == "true"


def test_everything_works_without_javascript(visit, node):
    v = visit(node, locale="ru-RU", java_script_enabled=False)
    v.page.goto("/")
    ask(v.page, "Кыргызстан", "торговля людьми", urgent=True)
    assert "urgent=1" in v.page.url
    assert "Генеральная прокуратура" in v.page.locator("article.authority h3").first.inner_text()
    v.page.get_by_role("link", name="Français").click()
    assert v.page.locator("html").get_attribute("lang") == "fr"
    v.page.goto("/search?q=prosecutor")
    v.page.locator("nav.facets a").first.click()
    assert "type=" in v.page.url and v.page.locator("ol.results li").count() > 0


@pytest.mark.parametrize("url", list(PAGE_TYPES.values()))
def test_a_phone_sized_screen_needs_no_sideways_scrolling(visit, node, url):
    v = visit(node, locale="ru-RU", viewport=PHONE, is_mobile=True, has_touch=True)
    v.page.goto(url)
    assert v.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_keyboard_reaches_the_form_with_a_visible_focus(visit, node):
    v = visit(node, locale="en-GB")
    v.page.goto("/")
    v.page.keyboard.press("Tab")
    assert v.page.evaluate("document.activeElement.className") == "skip"
    v.page.keyboard.press("Enter")
    for _ in range(30):
        v.page.keyboard.press("Tab")
        if v.page.evaluate("document.activeElement.id") == "country":
            break
    else:
        pytest.fail("the country field is not reachable with Tab")
    outline = v.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def test_axe_finds_no_serious_violation_on_any_page_in_any_language(visit, served_nodes):
    """On SQLite only: the markup does not depend on the backend, and axe takes a while."""
    node = served_nodes("sqlite")
    axe = Axe()
    found = {}
    for language in LANGUAGES:
        v = visit(node, locale=language)
        for name, url in PAGE_TYPES.items():
            v.page.goto(url)
            violations = axe.run(v.page).response["violations"]
            serious = [f"{x['id']} ({x['impact']}): {[n['target'] for n in x['nodes']][:3]}" for x in violations
                       if x["impact"] in ("serious", "critical")]
            if serious:
                found[f"{language} {name}"] = serious
        v.close()
    assert found == {}


def test_screenshots_of_the_main_pages(visit, served_nodes):
    """For a reviewer's eyes: desktop and phone, English, French and Russian, under bench/out/screenshots."""
    node = served_nodes("sqlite")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    urls = {"index": "/", "lookup": "/lookup?country=KG&crime_type=trafficking_in_persons",
            "authority": "/authorities/local:kg-gpo", "network": "/networks/casc",
            "unknown": "/lookup?country=Kirgizstn", "access": "/access",
            "designation": "/lookup?country=UZ&crime_type=corruption&request_type=mla",
            "procedure": "/lookup?country=AT&request_type=EIO"}
    for language in ("en", "fr", "ru"):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            v = visit(node, locale=language, viewport=viewport)
            for name, url in urls.items():
                v.page.goto(url)
                v.page.screenshot(path=SCREENSHOTS / f"{name}-{language}-{device}.png", full_page=True)
            v.close()
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 30
