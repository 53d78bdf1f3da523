"""The pages through Flask's test client, on both backends: what each page says, in which language,
with which headers, and that record text is never markup."""

from __future__ import annotations

import html
import re

import pytest
import vobject
from test_records import AUTHORITY, write

from registry import create_app
from registry.web.security import CONTENT_SECURITY_POLICY

PAGES = ["/", "/lookup?country=KG&crime_type=trafficking_in_persons", "/authorities/local:kg-gpo", "/countries/KG",
         "/networks/casc", "/networks", "/emergency-notes", "/search?q=prosecutor"]


def h1(response) -> str:
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", response.get_data(as_text=True), re.S)[1]
    return html.unescape(re.sub(r"<[^>]+>", "", heading)).strip()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_answers_with_the_security_headers(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    body = response.get_data(as_text=True)
    # No inline script or style for the policy to refuse, and nothing loaded from elsewhere.
    assert not re.search(r"<script(?![^>]*\bsrc=)", body) and "<style" not in body and " style=" not in body
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//(?!www\.prokuratura)", body.replace('rel="noopener', ""))


@pytest.mark.parametrize(("asset", "mimetype"), [("registry.css", "text/css"), ("print.css", "text/css"),
                                                ("registry.js", "text/javascript")])
def test_the_assets_are_served_by_the_registry(anonymous, asset, mimetype):
    page = anonymous.get("/").get_data(as_text=True)
    assert f'"/assets/{asset}"' in page
    response = anonymous.get(f"/assets/{asset}")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_keeps_its_own_headers(anonymous):
    response = anonymous.get("/api/v1/lookup?country=KG")
    assert "Content-Security-Policy" not in response.headers
    assert anonymous.get("/api/v1/nothing-here").mimetype == "application/problem+json"


def test_the_russian_lookup_puts_the_urgent_note_first_and_the_prosecutors_first(anonymous):
    response = anonymous.get("/lookup?country=Кыргызстан&crime_type=торговля людьми",
                             headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="ru">' in body
    note = body.index("Торговля людьми — срочные запросы")
    first = body.index("Генеральная прокуратура Кыргызской Республики")
    assert note < first < body.index("Антикоррупционная служба")
    assert "Действующие срочные уведомления" in body


def test_the_language_cookie_wins_over_accept_language(anonymous):
    chosen = anonymous.get("/language/fr?next=/lookup%3Fcountry%3DKirghizistan", headers={"Accept-Language": "ru"})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/lookup?country=Kirghizistan"
    response = anonymous.get("/lookup?country=Kirghizistan", headers={"Accept-Language": "ru"})
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert h1(response) == "À qui s'adresser : Kirghizistan"
    anonymous.delete_cookie("lang")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_the_switcher_goes_back_only_to_this_site(anonymous, target):
    response = anonymous.get("/language/ru", query_string={"next": target})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(("language", "title", "suggestion"), [
    ("en", "“Kirgizstn” is not a country we know.", "Kyrgyzstan"),
    ("fr", "« Kirgizstn » n'est pas un pays que nous connaissons.", "Kirghizistan"),
    ("ru", "Страна «Kirgizstn» нам неизвестна.", "Киргизия"),
])
def test_an_unknown_country_is_said_in_the_readers_language_with_close_matches(anonymous, language, title,
                                                                               suggestion):
    response = anonymous.get("/lookup?country=Kirgizstn&crime_type=tip", headers={"Accept-Language": language})
    assert response.status_code == 422
    assert h1(response) == title
    body = response.get_data(as_text=True)
    assert f'<a href="/lookup?country=KG&amp;crime_type=tip">{suggestion}</a>' in body


def test_an_unknown_crime_type_offers_the_close_ones(anonymous):
    response = anonymous.get("/lookup?country=KG&crime_type=trafikking")
    assert response.status_code == 422 and "crime_type=trafficking_in_persons" in response.get_data(as_text=True)


def test_an_unknown_country_page_offers_the_country(anonymous):
    response = anonymous.get("/countries/Kirgizstn", headers={"Accept-Language": "fr"})
    assert response.status_code == 404 and 'href="/countries/KG"' in response.get_data(as_text=True)


def test_a_lookup_without_a_country_asks_for_one(anonymous):
    response = anonymous.get("/lookup?country=", headers={"Accept-Language": "ru"})
    assert response.status_code == 422 and "Укажите страну." in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/no-such-page", "/authorities/local:nobody", "/networks/nonet"])
def test_our_own_404_page(anonymous, url):
    response = anonymous.get(url, headers={"Accept-Language": "fr"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert h1(response) == "Page introuvable"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_urgent_switch_puts_the_duty_line_first(app, tokens):
    from conftest import client_with

    client = client_with(app, tokens("directory:read"))
    url = "/lookup?country=KG&crime_type=trafficking_in_persons"
    routine, urgent = (client.get(u).get_data(as_text=True).partition('id="results-heading"')[2]
                       for u in (url, url + "&urgent=1"))
    duty, head = "24/7 duty prosecutor", "Head of the International Legal Cooperation Department"
    assert routine.index(head) < routine.index(duty)
    assert urgent.index(duty) < urgent.index(head)


def test_vcard_links_download_cards_that_parse(app, tokens):
    from conftest import client_with

    client = client_with(app, tokens("directory:read"))
    body = client.get("/lookup?country=KG&crime_type=trafficking_in_persons").get_data(as_text=True)
    links = re.findall(r'href="(/api/v1/[^"]+\.vcf)" download', body)
    assert "/api/v1/authorities/local:kg-gpo.vcf" in links
    assert any(link.startswith("/api/v1/contact-points/") for link in links)
    for link in links[:4]:
        response = client.get(link)
        assert response.status_code == 200 and response.mimetype == "text/vcard"
        cards = list(vobject.readComponents(response.get_data(as_text=True)))
        assert cards and all(card.fn.value for card in cards)


def test_numbers_and_dates_are_the_readers(anonymous):
    body = anonymous.get("/authorities/local:kg-gpo", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "1 сентября 2026\u202fг." in body
    body = anonymous.get("/authorities/local:kg-gpo", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "1 septembre 2026" in body


@pytest.fixture
def hostile_app(fresh_ctx):
    """An app whose directory holds an authority whose fields are markup."""
    write(fresh_ctx, body=AUTHORITY | {
        "names": {"en": "<script>alert('name')</script> Office"},
        "channels": [{"kind": "diplomatic", "value": "<img src=x onerror=alert(1)>", "visibility": "public"}]})
    app = create_app(fresh_ctx.settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    return app


def test_record_fields_are_text_never_markup(hostile_app):
    client = hostile_app.test_client()
    for url in ("/lookup?country=KG", "/authorities/local:kg-gpo", "/countries/KG", "/search?q=office"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url
    body = client.get("/lookup?country=KG").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; Office" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_our_own_500_page(hostile_app):
    response = hostile_app.test_client().get("/boom", headers={"Accept-Language": "ru"})
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert h1(response) == "Что-то пошло не так"
    assert "a bug" not in response.get_data(as_text=True)


def test_a_long_answer_links_to_the_next_page(app):
    """On the demonstration directory no country has more than a page; the link's rule is checked with
    a one-authority page size."""
    from registry.web import views

    client = app.test_client()
    size, views.PAGE_SIZE = views.PAGE_SIZE, 1
    try:
        body = client.get("/lookup?country=KG").get_data(as_text=True)
        assert 'href="/lookup?country=KG&amp;page=2" rel="next"' in body
        assert 'rel="next"' not in client.get("/lookup?country=KG&page=2").get_data(as_text=True)
    finally:
        views.PAGE_SIZE = size


def test_an_anonymous_reader_is_told_what_exists_above_the_public_tier_and_how_to_get_it(anonymous):
    body = anonymous.get("/lookup?country=KG", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2 contact points are shown to members and partners of the networks only." in body
    assert 'href="/access"' in body
    access = anonymous.get("/access", headers={"Accept-Language": "ru"})
    assert access.status_code == 200 and h1(access) == "Доступ к контактным пунктам"
    assert "Вы просматриваете открытую часть." in access.get_data(as_text=True)


def test_a_partner_is_told_names_are_for_vetted_practitioners(app, tokens):
    from conftest import client_with

    body = client_with(app, tokens("directory:read")).get("/lookup?country=KG&request_type=mla").get_data(
        as_text=True)
    assert "The name and direct lines of 1 contact person are shown to vetted practitioners only." in body


def test_demonstration_data_is_said_on_every_page(anonymous):
    for url in PAGES:
        body = anonymous.get(url, headers={"Accept-Language": "fr"}).get_data(as_text=True)
        assert "Données de démonstration" in body, url


def test_a_channel_a_note_retires_is_shown_as_retired_not_offered(app, tokens):
    from conftest import client_with

    body = client_with(app, tokens("directory:read")).get("/lookup?country=KG").get_data(as_text=True)
    assert "<del>international.gpo.kg@example.org</del>" in body
    assert "mailto:international.gpo.kg@example.org" not in body


def test_the_designation_that_ranks_an_authority_first_is_shown_with_its_source(anonymous):
    body = anonymous.get("/lookup?country=UZ&crime_type=corruption&request_type=mla",
                         headers={"Accept-Language": "fr"}).get_data(as_text=True)
    first = body.partition('class="authority"')[2].partition("</article>")[0]
    assert "Autorité centrale pour : Entraide judiciaire" in first
    assert "Convention des Nations Unies contre la criminalité transnationale organisée, art. 18(13)" in first
    assert 'href="https://treaties.un.org/' in first
    second = body.partition('class="authority"')[2].partition('class="authority"')[2]
    assert "Ne traite que certaines formes de : Entraide judiciaire" in second


def test_how_to_send_the_request_comes_before_the_authorities(anonymous):
    body = anonymous.get("/lookup?country=AT&request_type=EIO", headers={"Accept-Language": "fr"}).get_data(
        as_text=True)
    how = body.index("Comment transmettre la demande")
    assert how < body.index('id="results-heading"')
    procedure = html.unescape(body[how:body.index('id="results-heading"')])
    assert "Décisions d'enquête européennes adressées à l'Autriche" in procedure
    assert "directement entre autorités judiciaires" in procedure
    assert "Pas encore connu" in procedure and "Langues de la demande" in procedure
    assert 'href="https://eur-lex.europa.eu/eli/dir/2014/41/oj"' in procedure
