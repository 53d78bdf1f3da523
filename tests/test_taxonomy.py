import pytest

from registry.config import Settings
from registry.errors import UnknownValue
from registry.taxonomy import fold, load_taxonomy


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(Settings.from_env({}).seed_path)


@pytest.mark.parametrize("value", ["Kyrgyzstan", "Kyrgyz Republic", "KGZ", "kg", "Кыргызстан", "Киргизия",
                                   "kyrgyzstan", "  KYRGYZSTAN ", "Kirghizistan"])
def test_country_spellings_resolve_to_kg(taxonomy, value):
    assert taxonomy.countries.resolve(value.strip()) == "KG"


@pytest.mark.parametrize("value,code", [("Côte d'Ivoire", "CI"), ("cote divoire", None), ("Cote d Ivoire", "CI"),
                                        ("Ivory Coast", "CI"), ("Türkiye", "TR"), ("Turkey", "TR"),
                                        ("Deutschland", "DE"), ("Allemagne", "DE"), ("Viet Nam", "VN"),
                                        ("Vietnam", "VN"), ("USA", "US"), ("Czechia", "CZ")])
def test_country_names_fold_case_and_accents(taxonomy, value, code):
    if code is None:
        with pytest.raises(UnknownValue):
            taxonomy.countries.resolve(value)
    else:
        assert taxonomy.countries.resolve(value) == code


def test_unknown_country_suggests_the_closest(taxonomy):
    with pytest.raises(UnknownValue) as caught:
        taxonomy.countries.resolve("Kyrgyzzstan", "country")
    assert caught.value.status == 422
    assert caught.value.extensions["errors"][0]["parameter"] == "country"
    assert caught.value.extensions["errors"][0]["suggestions"][0]["code"] == "KG"
    assert "KG (Kyrgyzstan)" in caught.value.detail


@pytest.mark.parametrize("value", ["human trafficking", "THB", "торговля людьми", "Trafficking in persons",
                                   "trafficking_in_persons", "traite des êtres humains", "TRAITE DES ETRES HUMAINS"])
def test_crime_type_synonyms(taxonomy, value):
    assert taxonomy.crime_types.resolve(value, "crime_type") == "trafficking_in_persons"


def test_every_crime_type_has_iccs_section_and_three_languages(taxonomy):
    assert len(taxonomy.crime_types.terms) == 17  # the 15 SHERLOC areas, fraud and core international crimes
    for term in taxonomy.crime_types.terms.values():
        assert len(term.details["iccs"]) == 2
        assert {"en", "ru", "fr"} <= set(term.names) and {"en", "ru", "fr"} <= set(term.synonyms)


def test_request_types_have_untoc_forms_as_children(taxonomy):
    children = taxonomy.request_types.children("mla")
    assert len(children) == 9
    assert all(taxonomy.request_types.terms[c].details["legal_basis"].startswith("UNTOC art. 18(3)") for c in children)
    assert taxonomy.request_types.related("mla.taking_evidence") == {"mla", "mla.taking_evidence"}
    assert taxonomy.request_types.related("mla") == {"mla", *children}
    assert taxonomy.request_types.resolve("taking evidence", "request_type") == "mla.taking_evidence"


@pytest.mark.parametrize(("vocabulary", "value", "code"), [
    ("crime_types", "drugs", "drug_trafficking"),
    ("crime_types", "war crimes", "core_international_crimes"),
    ("crime_types", "crimes de guerre", "core_international_crimes"),
    ("crime_types", "военные преступления", "core_international_crimes"),
    ("crime_types", "escroquerie", "fraud"),
    ("crime_types", "мошенничество", "fraud"),
    ("request_types", "EIO", "european_investigation_order"),
    ("request_types", "décision d'enquête européenne", "european_investigation_order"),
    ("request_types", "EAW", "european_arrest_warrant"),
    ("request_types", "mandat d'arrêt européen", "european_arrest_warrant"),
    ("request_types", "transfer of proceedings", "transfer_of_proceedings"),
    ("request_types", "передача уголовного преследования", "transfer_of_proceedings"),
    ("request_types", "euroorden", "european_arrest_warrant"),
    ("request_types", "Decisão europeia de investigação", "european_investigation_order"),
    ("crime_types", "estafa", "fraud"),
    ("crime_types", "crimes contra a humanidade", "core_international_crimes"),
])
def test_terms_practitioners_use(taxonomy, vocabulary, value, code):
    assert getattr(taxonomy, vocabulary).resolve(value, "x") == code


def test_eu_instruments_are_not_forms_of_the_conventions(taxonomy):
    """An EIO or an EAW goes from judicial authority to judicial authority: the central authority for
    MLA or extradition under the conventions is not the answer to them."""
    types = taxonomy.request_types
    assert types.terms["european_investigation_order"].parent is None
    assert types.terms["european_arrest_warrant"].parent is None


@pytest.mark.parametrize(("vocabulary", "typed", "first"), [
    ("crime_types", "crimes of war", "core_international_crimes"),  # not counterfeiting, spelt alike
    ("crime_types", "crimes de guere", "core_international_crimes"),
    ("crime_types", "human traficking", "trafficking_in_persons"),
    ("crime_types", "narcotic", "drug_trafficking"),
    ("request_types", "investigation orders", "european_investigation_order"),
    ("request_types", "extraditon", "extradition"),
])
def test_suggestions_put_meaning_before_spelling(taxonomy, vocabulary, typed, first):
    with pytest.raises(UnknownValue) as caught:
        getattr(taxonomy, vocabulary).resolve(typed, "x")
    assert caught.value.extensions["errors"][0]["suggestions"][0]["code"] == first


def test_synonyms_never_map_to_two_codes(taxonomy):
    for vocabulary in (taxonomy.crime_types, taxonomy.request_types):
        seen = {}
        for term in vocabulary.terms.values():
            for names in [term.names.values(), *term.synonyms.values()]:
                for name in names:
                    assert seen.setdefault(fold(name), term.code) == term.code, name


def test_fold():
    assert fold("Malmö") == fold("MALMO") == "malmo"
    assert fold("Côte d’Ivoire") == "cote d ivoire"
