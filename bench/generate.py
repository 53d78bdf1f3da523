"""A synthetic directory at scale, for the benchmark: >= 20,000 authorities and >= 100,000 contact
points over every ISO 3166-1 country, a few networks with members and some emergency notes.

Every record goes through `registry.services.records.write_record`, the project's one write path
(JSON Schema and taxonomy validation, projections, change log), a few thousand records per write
transaction. The random seed is fixed, so two runs with the same options produce the same bodies.
A database that already holds the expected counts is left alone unless --force is given.

    .venv/bin/python bench/generate.py [--database-url URL] [--force]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import unicodedata
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_DATABASE_PATH = OUT_DIR / "directory.sqlite3"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_PATH}"
sys.path.insert(0, str(BENCH_DIR.parent))

import langcodes  # noqa: E402
import pycountry  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from registry import migrations, models  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.context import Context  # noqa: E402
from registry.progress import Reporter  # noqa: E402
from registry.services.seed import Outcome, write_seed_records  # noqa: E402
from registry.services.seed import SeedRecord as Record  # noqa: E402

SEED = 20_261_123
ACTOR = "bench-generator"

# --- name pools ------------------------------------------------------------------------------------

CYRILLIC_SURNAMES = [
    "Ибраимов", "Токтогулов", "Абдыкадыров", "Асанов", "Бекмуратов", "Жумабаев", "Кадыров", "Назаров",
    "Исмаилов", "Сыдыков", "Ахмедов", "Каримов", "Рахимов", "Юсупов", "Усманов", "Петров", "Иванов",
    "Смирнов", "Кузнецов", "Волков", "Соколов", "Морозов", "Новиков", "Павлов", "Захаров", "Жуков",
    "Фёдоров", "Яковлев", "Осипов", "Тимофеев", "Хасанов", "Нурланов", "Ержанов", "Мамедов", "Алиев",
    "Гасанов", "Гусейнов", "Сулейманов", "Эргашев", "Турсунов", "Маматов", "Орозбеков", "Шарипов",
    "Давлатов", "Нуриев", "Щербаков", "Горбунов", "Байтурсынов", "Сатпаев", "Омаров", "Шевченко",
    "Коваленко", "Бондаренко", "Ткаченко", "Мельник", "Григорян", "Петросян", "Цой", "Ким", "Бейшеналиев",
]
CYRILLIC_GIVEN = {
    "m": ["Азамат", "Айбек", "Бакыт", "Данияр", "Ерлан", "Нурлан", "Тимур", "Руслан", "Алексей", "Дмитрий",
          "Сергей", "Андрей", "Игорь", "Олег", "Максим", "Фарход", "Шухрат", "Жасур", "Рустам", "Ильяс"],
    "f": ["Айгерим", "Айжан", "Гульнара", "Динара", "Жанна", "Мадина", "Нургуль", "Елена", "Ольга", "Татьяна",
          "Наталья", "Ирина", "Юлия", "Мария", "Зарина", "Феруза", "Дильноза", "Асель", "Чолпон", "Назира"],
}
LATIN_SURNAMES = [
    "Martin", "García", "Müller", "Rossi", "Dubois", "Silva", "Santos", "Nowak", "Kowalski", "Novák", "Horvat",
    "Jansen", "Nielsen", "Andersson", "Virtanen", "O'Brien", "Papadopoulos", "Yılmaz", "Nguyen", "Tran", "Wang",
    "Kumar", "Singh", "Khan", "Hossain", "Okafor", "Mensah", "Diallo", "Traoré", "Ndiaye", "Mwangi", "Banda",
    "Moyo", "Haddad", "Mansour", "Park", "Tanaka", "Sato", "Reyes", "Cruz", "Fernández", "López", "González",
    "Pereira", "Costa", "Schmidt", "Fischer", "Weber", "Wagner", "Kovač", "Popescu", "Dimitrov", "Lefèvre",
    "Sørensen", "Þórsson", "Nakamura", "Adeyemi", "Boateng", "Kamara", "Sesay", "Rahman", "Chowdhury",
]
LATIN_GIVEN = {
    "m": ["Jean", "Pierre", "Carlos", "Juan", "Luis", "Ahmed", "Mohamed", "Kwame", "Chidi", "Wei", "Hiroshi",
          "Raj", "Jan", "Piotr", "Lars", "João", "Mateus", "Nikos", "Mehmet", "Minh", "Ibrahim", "Kofi"],
    "f": ["Ana", "María", "Sofía", "Fatima", "Amina", "Aisha", "Ngozi", "Li", "Yuki", "Priya", "Anna", "Eva",
          "Katarzyna", "Ingrid", "Lucía", "Elena", "Ayşe", "Thi Lan", "Mariam", "Zeynep", "Chloé", "Akosua"],
}

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "ң": "ng", "ө": "o", "ү": "u", "ә": "a", "ғ": "g", "қ": "q", "ұ": "u",
    "һ": "h", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ҷ": "j", "ӯ": "u", "ӣ": "i", "ҳ": "h",
}
_LAT_TO_CYR = [
    ("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("yu", "ю"), ("ya", "я"),
    ("yo", "ё"), ("j", "дж"), ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"),
    ("g", "г"), ("h", "х"), ("i", "и"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
    ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"),
    ("x", "кс"), ("y", "ы"), ("z", "з"),
]


def to_latin(text: str) -> str:
    out = []
    for ch in text:
        lat = _CYR_TO_LAT.get(ch.lower())
        if lat is None:
            out.append(ch)
        else:
            out.append(lat.capitalize() if ch.isupper() else lat)
    return "".join(out)


def to_cyrillic(text: str) -> str:
    """Crude Latin-to-Cyrillic for place names ("Jalal-Abad" -> "Джалал-Абад")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    out, i = [], 0
    while i < len(plain):
        for lat, cyr in _LAT_TO_CYR:
            chunk = plain[i:i + len(lat)]
            if chunk.lower() == lat:
                out.append(cyr.capitalize() if chunk[0].isupper() else cyr)
                i += len(lat)
                break
        else:
            out.append(plain[i])
            i += 1
    return "".join(out)


def ascii_slug(text: str, sep: str = ".") -> str:
    plain = unicodedata.normalize("NFKD", to_latin(text)).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    return sep.join(words)


# --- networks and regions --------------------------------------------------------------------------

EU = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
      "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
POST_SOVIET = {"AM", "AZ", "BY", "EE", "GE", "KZ", "KG", "LV", "LT", "MD", "RU", "TJ", "TM", "UA", "UZ", "MN"}
SUN_THU = {"SA", "AE", "QA", "KW", "BH", "OM", "JO", "EG", "IL", "IQ", "YE", "LY", "SY", "DZ"}

NETWORKS = [
    # code, acronym, English name, Russian name, scope, member countries (None: all), share of authorities
    ("globe", "GlobE", "Global Operational Network of Anti-Corruption Law Enforcement Authorities",
     "Глобальная оперативная сеть правоохранительных органов по борьбе с коррупцией", "global", None, 0.08),
    ("ejn", "EJN", "European Judicial Network in criminal matters", "Европейская судебная сеть по уголовным делам",
     "regional", EU, 0.35),
    ("casc", "CASC", "Network of prosecutors of Central Asia and the South Caucasus",
     "Сеть прокуроров Центральной Азии и Южного Кавказа", "regional",
     ["KZ", "KG", "TJ", "TM", "UZ", "AM", "AZ", "GE"], 0.5),
    ("wacap", "WACAP", "West African Network of Central Authorities and Prosecutors",
     "Западноафриканская сеть центральных органов и прокуроров", "regional",
     ["BJ", "BF", "CV", "CI", "GM", "GH", "GN", "GW", "LR", "ML", "NE", "NG", "SN", "SL", "TG", "MR"], 0.4),
    ("seajust", "SEAJust", "South East Asia Justice Network", "Сеть правосудия Юго-Восточной Азии", "regional",
     ["BD", "KH", "ID", "LA", "MY", "MM", "NP", "PH", "LK", "TH", "TL", "VN", "MV", "PK"], 0.4),
    ("iberred", "IberRed", "Ibero-American Network for International Legal Cooperation",
     "Иберо-американская сеть международного правового сотрудничества", "regional",
     ["ES", "PT", "AR", "BO", "BR", "CL", "CO", "CR", "CU", "DO", "EC", "SV", "GT", "HN", "MX", "NI", "PA",
      "PY", "PE", "UY", "VE", "AD"], 0.3),
]

# kind, English name, Russian name ({place}: locality, {country}: country name)
NATIONAL_BODIES = [
    ("ministry_of_justice", "Ministry of Justice of {country}", "Министерство юстиции ({country})"),
    ("central_authority", "Central Authority for International Legal Cooperation of {country}",
     "Центральный орган по международному правовому сотрудничеству ({country})"),
    ("prosecution_service", "Prosecutor General's Office of {country}", "Генеральная прокуратура ({country})"),
    ("fiu", "Financial Intelligence Unit of {country}", "Подразделение финансовой разведки ({country})"),
    ("anti_corruption_body", "National Anti-Corruption Agency of {country}",
     "Национальное антикоррупционное агентство ({country})"),
    ("law_enforcement", "INTERPOL National Central Bureau for {country}",
     "Национальное центральное бюро Интерпола ({country})"),
    ("judiciary", "Supreme Court of {country}", "Верховный суд ({country})"),
]
REGIONAL_BODIES = [
    ("prosecution_service", "Prosecutor's Office of {place}", "Прокуратура ({place})", 5),
    ("law_enforcement", "{place} Police Directorate", "Управление полиции ({place})", 3),
    ("judiciary", "{place} Regional Court", "Областной суд ({place})", 2),
    ("anti_corruption_body", "Anti-Corruption Department, {place} Office", "Антикоррупционный отдел, {place}", 1),
    ("law_enforcement", "Cybercrime Unit, {place}", "Отдел по борьбе с киберпреступностью, {place}", 1),
    ("other", "Customs Service, {place} Office", "Таможенная служба, {place}", 1),
]
POSITIONS = [
    ("Head of the International Cooperation Department", "Начальник отдела международного сотрудничества"),
    ("Senior Prosecutor, Mutual Legal Assistance", "Старший прокурор по правовой помощи"),
    ("Liaison Officer", "Офицер связи"),
    ("Deputy Head of the Extradition Unit", "Заместитель начальника отдела экстрадиции"),
    ("Asset Recovery Specialist", "Специалист по возврату активов"),
    ("Legal Adviser, Central Authority", "Юрисконсульт центрального органа"),
    ("Investigator, Financial Crimes", "Следователь по финансовым преступлениям"),
    ("Cybercrime Analyst", "Аналитик по киберпреступности"),
]
FUNCTION_POSTS = [
    ("Mutual legal assistance desk", "Отделение по исполнению запросов о правовой помощи"),
    ("International requests registry", "Канцелярия международных запросов"),
    ("Extradition desk", "Отделение экстрадиции"),
]
DUTY_POST = ("24/7 duty officer for urgent international requests", "Дежурный по срочным международным запросам")
NOTE_TITLES = [
    ("urgent_request_procedure", "Urgent requests: send by e-mail ahead of the original"),
    ("temporary_measure", "Requests accepted electronically during the office move"),
    ("channel_change", "New secure channel for mutual legal assistance requests"),
    ("preservation_request", "Data preservation requests through the 24/7 point only"),
    ("suspension", "Postal service suspended: use the diplomatic channel"),
]


@dataclass(frozen=True)
class Plan:
    authorities: int
    contact_points: int
    notes: int
    seed: int

    def expected(self) -> dict[str, int]:
        return {"authority": self.authorities, "contact_point": self.contact_points,
                "network": len(NETWORKS), "emergency_note": self.notes}


class Generator:
    def __init__(self, plan: Plan, taxonomy, namespace: str):
        self.plan = plan
        self.namespace = namespace
        self.rng = random.Random(plan.seed)
        self.crime_types = sorted(taxonomy.crime_types.terms)
        self.request_types = sorted(taxonomy.request_types.terms)
        self.countries = sorted(c.alpha_2 for c in pycountry.countries)
        self.country_names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
        self.places = defaultdict(list)
        for sub in pycountry.subdivisions:
            self.places[sub.country_code].append(sub.name)
        for places in self.places.values():
            places.sort()
        self.time_zones = _country_time_zones()
        self.networks_of = defaultdict(list)
        for code, _acr, _en, _ru, _scope, countries, _share in NETWORKS:
            for cc in countries or self.countries:
                self.networks_of[cc].append(code)
        self.members: dict[str, list[dict]] = defaultdict(list)
        self.authority_ids: list[tuple[str, str]] = []  # (record id, country)

    def qualify(self, local_id: str) -> str:
        return f"{self.namespace}:{local_id}"

    # -- counts -----------------------------------------------------------------------------------

    def _spread(self, total: int, weights: list[float], minimum: int) -> list[int]:
        counts = [minimum] * len(weights)
        rest = total - minimum * len(weights)
        if rest < 0:
            raise ValueError(f"{total} is too few for {len(weights)} slots of at least {minimum}")
        for index, extra in Counter(self.rng.choices(range(len(weights)), weights, k=rest)).items():
            counts[index] += extra
        return counts

    # -- records ----------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        """Every record in write order: per country its authorities then their contact points;
        then the networks (members must exist), then the emergency notes."""
        rng = self.rng
        # Bigger countries (more subdivisions) have more authorities: Russia ~300, a tiny territory 4.
        country_weights = [(1 + len(self.places.get(cc, ()))) ** 0.6 * rng.lognormvariate(0, 0.4)
                           for cc in self.countries]
        per_country = self._spread(self.plan.authorities, country_weights, minimum=4)
        cp_weights = [rng.uniform(0.5, 1.5) for _ in range(self.plan.authorities)]
        per_authority = self._spread(self.plan.contact_points, cp_weights, minimum=1)
        cp_counts = iter(per_authority)
        for cc, count in zip(self.countries, per_country, strict=True):
            yield from self._country(cc, count, cp_counts)
        yield from self._networks()
        yield from self._notes()

    def _country(self, cc: str, count: int, cp_counts: Iterator[int]) -> Iterator[Record]:
        rng = self.rng
        likely = langcodes.Language.get(f"und-{cc}").maximize()
        local_language = likely.language if likely.language and langcodes.tag_is_valid(likely.language) else "en"
        cyrillic = likely.script == "Cyrl"
        russian = cc in POST_SOVIET or cyrillic
        country_name = self.country_names[cc]
        places = self.places.get(cc) or [country_name]
        regional = [b for b in REGIONAL_BODIES for _ in range(b[3])]
        owner = self.owner_of(cc)
        contact_points = []
        for i in range(count):
            local_id = f"{cc.lower()}-a{i:04d}"
            if i < len(NATIONAL_BODIES):
                kind, en, ru = NATIONAL_BODIES[i]
                place = places[0] if len(places) == 1 else rng.choice(places)
            else:
                kind, en, ru, _weight = rng.choice(regional)
                place = places[(i - len(NATIONAL_BODIES)) % len(places)]
                serial = (i - len(NATIONAL_BODIES)) // len(places)
                if serial:
                    en, ru = f"{en} No. {serial + 1}", f"{ru} № {serial + 1}"
            names = {"en": en.format(place=place, country=country_name)}
            if russian:
                names["ru"] = ru.format(place=to_cyrillic(place), country=to_cyrillic(country_name))
            languages = _unique([local_language, *rng.sample(["en", "fr", "es", "ru", "ar", "pt"], rng.randint(0, 2))])
            competences = rng.sample(self.crime_types, rng.randint(2, 7))
            request_types = rng.sample(self.request_types, rng.randint(1, 6))
            slug = ascii_slug(names["en"], "-")[:40].strip("-")
            body = {
                "names": names,
                "kind": kind,
                "country": cc,
                "address": {"street": f"{rng.randint(1, 250)} {rng.choice(['Main', 'Justice', 'Freedom', 'Central'])}"
                                      f" Street", "locality": place},
                "competences": competences,
                "request_types": request_types,
                "languages": languages,
                "channels": self._channels(slug, cc),
                "status": "active" if rng.random() < 0.95 else "inactive",
            }
            if rng.random() < 0.5:
                body["acronym"] = "".join(w[0] for w in ascii_slug(names["en"], " ").upper().split()
                                          if len(w) > 1 and w not in {"OF", "THE", "FOR", "NO"})[:32] or cc
            if rng.random() < 0.7:
                body["website"] = f"https://www.{slug or cc.lower()}.{cc.lower()}.example.org"
            if rng.random() < 0.8:
                body["verified_at"] = (date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))).isoformat()
            record_id = self.qualify(local_id)
            self.authority_ids.append((record_id, cc))
            for code, _acr, _en, _ru, _scope, _countries, share in NETWORKS:
                if code in self.networks_of[cc] and (i == 0 or rng.random() < share):
                    member = {"authority_id": record_id, "role": rng.choices(
                        ["member", "observer", "associate"], [8, 1, 1])[0]}
                    if rng.random() < 0.8:
                        member["since"] = (date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))).isoformat()
                    self.members[code].append(member)
            yield Record("authority", local_id, owner, body)
            contact_points.extend(self._contact_points(local_id, cc, body, next(cp_counts), russian, cyrillic,
                                                       owner))
        yield from contact_points

    def _channels(self, slug: str, cc: str) -> list[dict]:
        rng = self.rng
        calling = rng.randint(1, 998)
        channels = [{"kind": "email", "value": f"{slug or 'office'}@{cc.lower()}.example.org",
                     "visibility": rng.choice(["public", "partner"])},
                    {"kind": "phone", "value": f"+{calling} 555 0{rng.randint(100, 999)}", "visibility": "public"}]
        if rng.random() < 0.3:
            channels.append({"kind": "secure_platform", "value": "GlobE Secure Communication Platform",
                             "note": "Preferred for case-related exchanges", "visibility": "partner"})
        if rng.random() < 0.4:
            channels.append({"kind": "diplomatic", "value": "Through the Ministry of Foreign Affairs",
                             "visibility": "public"})
        if rng.random() < 0.1:
            channels.append({"kind": "fax", "value": f"+{calling} 555 0{rng.randint(100, 999)}",
                             "visibility": "restricted"})
        return channels

    def _person(self, cc: str, cyrillic: bool) -> tuple[str, str]:
        """(name as written, ASCII e-mail local part)."""
        rng = self.rng
        sex = rng.choice("mf")
        post_soviet = cc in POST_SOVIET or cyrillic
        if post_soviet or rng.random() < 0.05:
            surname = rng.choice(CYRILLIC_SURNAMES)
            if sex == "f" and surname.endswith(("ов", "ев", "ин")):
                surname += "а"
            given = rng.choice(CYRILLIC_GIVEN[sex])
            name = f"{given} {surname}"
            if not cyrillic:
                name = to_latin(name)  # Ибраимов as written in a Latin-script country: Ibraimov
        else:
            name = f"{rng.choice(LATIN_GIVEN[sex])} {rng.choice(LATIN_SURNAMES)}"
        first, _, last = name.partition(" ")
        return name, f"{ascii_slug(first)[:1]}.{ascii_slug(last, '')}"

    def _contact_points(self, authority_local: str, cc: str, authority: dict, count: int, russian: bool,
                        cyrillic: bool, owner: str) -> list[Record]:
        rng = self.rng
        networks = [m for m in self.networks_of[cc]]
        time_zone = rng.choice(self.time_zones.get(cc) or ["UTC"])
        days = ["sun", "mon", "tue", "wed", "thu"] if cc in SUN_THU else ["mon", "tue", "wed", "thu", "fri"]
        out = []
        successor_from = None  # a hand-over: the previous holder left the day before
        for j in range(count):
            local_id = f"{authority_local}-c{j:02d}"
            duty = (j == 0 and rng.random() < 0.3) or rng.random() < 0.04
            person = not duty and rng.random() < 0.65
            if duty:
                en, ru = DUTY_POST
            elif person:
                en, ru = rng.choice(POSITIONS)
            else:
                en, ru = rng.choice(FUNCTION_POSTS)
            position = {"en": en}
            if russian:
                position["ru"] = ru
            roles = [{"network": n, "role": "24_7" if duty else rng.choices(
                ["contact_point", "alternate", "secretariat_focal_point"], [6, 3, 1])[0]}
                for n in rng.sample(networks, min(len(networks), rng.randint(1, 2)))]
            body = {
                "authority_id": self.qualify(authority_local),
                "kind": "person" if person else "function",
                "position": position,
                "roles": roles,
                "languages": rng.sample(authority["languages"], rng.randint(1, len(authority["languages"]))),
            }
            mailbox = ascii_slug(en, "-")[:30].strip("-")
            if person:
                name, handle = self._person(cc, cyrillic)
                body["person"] = {"name": name, "email": f"{handle}.{rng.randint(1, 999)}@{cc.lower()}.example.org",
                                  "phone": f"+{rng.randint(1, 998)} 555 0{rng.randint(100, 999)}"}
            if rng.random() < 0.8:
                body["email"] = f"{mailbox}.{authority_local}@{cc.lower()}.example.org"
            if duty or rng.random() < 0.5:
                body["phone"] = f"+{rng.randint(1, 998)} 555 0{rng.randint(100, 999)}"
            if rng.random() < 0.15:
                body["secure_platform"] = {"platform": "GlobE Secure Communication Platform", "handle": local_id}
            if duty:
                body["hours"] = {"time_zone": time_zone, "always": True}
            else:
                weekly = [{"days": days, "opens": rng.choice(["08:00", "08:30", "09:00"]),
                           "closes": rng.choice(["17:00", "17:30", "18:00"])}]
                if rng.random() < 0.1:
                    weekly.append({"days": ["sat"], "opens": "09:00", "closes": "13:00"})
                body["hours"] = {"time_zone": time_zone, "weekly": weekly}
            if successor_from is not None:
                valid_from, successor_from = successor_from, None
            else:
                valid_from = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3000))
            body["valid_from"] = valid_from.isoformat()
            if person and j + 1 < count and rng.random() < 0.15:
                # Hand-over: this holder left (or leaves) on valid_until; the next record takes over.
                until = max(valid_from, date(2020, 1, 1)) + timedelta(days=rng.randint(30, 2900))
                body["valid_until"] = until.isoformat()
                successor_from = until + timedelta(days=1)
            if rng.random() < 0.6:
                body["verified_at"] = (date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))).isoformat()
            out.append(Record("contact_point", local_id, owner, body))
        return out

    def _networks(self) -> Iterator[Record]:
        for code, acronym, en, ru, scope, _countries, _share in NETWORKS:
            body = {"code": code, "acronym": acronym, "names": {"en": en, "ru": ru}, "scope": scope,
                    "established": "2010-01-01",
                    "members": sorted(self.members.pop(code, []), key=lambda m: m["authority_id"])}
            yield Record("network", f"net-{code}", code, body)

    def owner_of(self, cc: str) -> str:
        """The network that publishes a country's authorities: its regional network, else GlobE."""
        return next((n for n in self.networks_of[cc] if n != "globe"), "globe")

    def _notes(self) -> Iterator[Record]:
        rng = self.rng
        for k in range(self.plan.notes):
            bucket = k % 10
            if bucket < 6:
                scope = {"country": rng.choice(self.countries)}
            elif bucket < 9:
                authority_id, cc = rng.choice(self.authority_ids)
                scope = {"authority_id": authority_id}
            else:
                scope = {"network": rng.choice(NETWORKS)[0]}
            kind, title = rng.choice(NOTE_TITLES)
            start = date(2022, 1, 1) + timedelta(days=rng.randint(0, 1800))
            urgency = rng.choices(["routine", "urgent", "emergency"], [5, 3, 1])[0]
            body = {"scope": scope, "kind": kind, "urgency": urgency,
                    "title": {"en": title}, "body": {"en": f"{title}. Synthetic note {k} for the benchmark."},
                    "effective_from": start.isoformat(),
                    "visibility": rng.choices(["public", "partner", "restricted"], [5, 4, 1])[0]}
            if rng.random() < 0.4:
                body["effective_until"] = (start + timedelta(days=rng.randint(30, 900))).isoformat()
            if rng.random() < 0.4:
                body["crime_types"] = rng.sample(self.crime_types, rng.randint(1, 3))
            if rng.random() < 0.3:
                body["request_types"] = rng.sample(self.request_types, rng.randint(1, 3))
            # A note attached to an authority is published by the authority's network.
            owner = self.owner_of(cc) if "authority_id" in scope else scope.get("network", "globe")
            yield Record("emergency_note", f"note-{k:05d}", owner, body)


def _unique(values):
    return list(dict.fromkeys(values))


def _country_time_zones() -> dict[str, list[str]]:
    """Country -> IANA zones, from zone.tab where the system has it (UTC otherwise)."""
    available = zoneinfo.available_timezones()
    out = defaultdict(list)
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    cc, _coords, zone, *_ = line.split("\t")
                    if zone in available:
                        out[cc].append(zone)
            break
    return {cc: sorted(zones) for cc, zones in out.items()}


# --- database --------------------------------------------------------------------------------------

MODELS = {"authority": models.Authority, "contact_point": models.ContactPoint, "network": models.Network,
          "emergency_note": models.EmergencyNote}


def live_counts(ctx: Context) -> dict[str, int]:
    with ctx.db.read() as session:
        return {name: session.scalar(select(func.count()).select_from(model).where(model.deleted.is_(False)))
                for name, model in MODELS.items()}


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).resolve()
    return None


def context_for(url: str) -> Context:
    settings = Settings.from_env({}, database_url=url, instance_path=str(OUT_DIR / "instance"))
    return Context.create(settings)


def write_all(ctx: Context, records: Iterator[Record], batch_size: int, total: int) -> Counter:
    written = Counter()
    done = 0
    with Reporter("generate: records") as progress:
        while batch := list(islice(records, batch_size)):
            with ctx.db.write() as session:
                for record, outcome in write_seed_records(session, ctx, batch, actor=ACTOR):
                    written[(record.record_type, outcome)] += 1
            done += len(batch)
            progress(done, total)
    return written


def ensure(database_url: str = DEFAULT_DATABASE_URL, *, force: bool = False, authorities: int = 20_000,
           contact_points: int = 100_000, notes: int = 600, batch_size: int = 2_000, seed: int = SEED) -> dict:
    """Generate the directory unless the database already holds the expected counts."""
    plan = Plan(authorities, contact_points, notes, seed)
    path = sqlite_file(database_url)
    if force and path is not None and path.is_relative_to(OUT_DIR) and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        print(f"removed {path}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(database_url)
    ctx = context_for(database_url)
    try:
        counts = live_counts(ctx)
        if counts == plan.expected() and not force:
            print(f"{display_url(database_url)} already holds the directory {counts}; not regenerating "
                  f"(--force to redo)")
            return counts
        total = sum(plan.expected().values())
        print(f"generating {total:,} records (seed {seed}) into {display_url(database_url)}, "
              f"{batch_size:,} per transaction", flush=True)
        started = time.perf_counter()
        generator = Generator(plan, ctx.taxonomy, ctx.settings.namespace)
        written = write_all(ctx, generator.records(), batch_size, total)
        elapsed = time.perf_counter() - started
        counts = live_counts(ctx)
        changed = sum(n for (_t, outcome), n in written.items() if outcome == Outcome.WRITTEN)
        print(f"generated in {elapsed:.1f} s ({total / elapsed:,.0f} records/s; {changed:,} written, "
              f"{total - changed:,} unchanged): {counts}")
        if counts != plan.expected():
            raise SystemExit(f"expected {plan.expected()}, the database holds {counts} "
                             f"(another data set in it? use a fresh database or --force)")
        if ctx.db.dialect == "postgresql":
            # The planner's statistics for the new rows, as autovacuum would gather them some time after a
            # bulk load: without them, small tables (network members) are read by sequential scans.
            with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
        return counts
    finally:
        ctx.db.dispose()


def display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help=f"SQLAlchemy URL (default: {DEFAULT_DATABASE_URL})")
    parser.add_argument("--force", action="store_true",
                        help="regenerate even when the counts match (a SQLite file under bench/out is deleted "
                             "first; elsewhere records are rewritten in place)")
    parser.add_argument("--authorities", type=int, default=20_000)
    parser.add_argument("--contact-points", type=int, default=100_000)
    parser.add_argument("--notes", type=int, default=600, help="emergency notes")
    parser.add_argument("--batch-size", type=int, default=2_000, help="records per write transaction")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    ensure(args.database_url, force=args.force, authorities=args.authorities,
           contact_points=args.contact_points, notes=args.notes, batch_size=args.batch_size, seed=args.seed)


if __name__ == "__main__":
    main()
