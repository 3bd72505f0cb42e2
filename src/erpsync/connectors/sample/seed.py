"""Demo data for the sample ERP (Nordic companies with persons and projects, always the same) and synthetic bulk
records for benchmarks."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from erpsync.protocol.models import ActorType, Value

from .erp import NewRecord, SampleErp
from .sales_seed import seed_documents

DEMO_USER = "erpsync"
DEMO_PASSWORD = "demo"
SEED = 20240601
_T = TypeVar("_T")


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    tld: str
    legal_forms: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (zip, city)
    streets: tuple[str, ...]
    stems: tuple[str, ...]
    trades: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    phone_prefix: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


def _cities(text: str) -> tuple[tuple[str, str], ...]:
    """ "1050=København K, 8000=Aarhus C" -> (zip, city) pairs."""
    return tuple((zip_code, city) for zip_code, city in (pair.split("=") for pair in text.split(", ")))


COUNTRIES = {
    "DK": Country(
        code="DK",
        currency="DKK",
        tld="dk",
        legal_forms=_words("A/S, ApS, I/S"),
        cities=_cities(
            "1050=København K, 8000=Aarhus C, 5000=Odense C, 9000=Aalborg, 6700=Esbjerg, 8900=Randers C, "
            "6000=Kolding, 7100=Vejle, 4000=Roskilde, 7400=Herning, 3000=Helsingør, 8700=Horsens"
        ),
        streets=_words(
            "Vestergade, Østergade, Nørregade, Strandvejen, Hovedgaden, Industrivej, Søndergade, Havnegade, "
            "Fabriksvej, Åboulevarden"
        ),
        stems=_words(
            "Nordisk, Dansk, Jysk, Fynsk, Vestkyst, Øresund, Limfjord, Kattegat, Skagen, Bornholms, Himmerland, "
            "Sønderjysk"
        ),
        trades=_words(
            "Træ, Stål, Byg, Data, Logistik, Maskinfabrik, Emballage, Møbler, Fisk, Energi, Rådgivning, "
            "Transport, VVS, El-service, Tryk"
        ),
        first_names=_words(
            "Mette, Lars, Anne, Søren, Camilla, Jens, Louise, Mikkel, Sofie, Rasmus, Helle, Anders, Ida, Frederik"
        ),
        last_names=_words(
            "Jensen, Nielsen, Hansen, Pedersen, Andersen, Christensen, Larsen, Sørensen, Rasmussen, Jørgensen, "
            "Madsen, Kristensen, Østergaard, Mølgaard"
        ),
        phone_prefix="+45",
    ),
    "SE": Country(
        code="SE",
        currency="SEK",
        tld="se",
        legal_forms=_words("AB, HB"),
        cities=_cities(
            "111 20=Stockholm, 411 03=Göteborg, 211 20=Malmö, 753 10=Uppsala, 721 30=Västerås, 702 10=Örebro, "
            "582 22=Linköping, 252 21=Helsingborg, 553 15=Jönköping, 903 26=Umeå"
        ),
        streets=_words(
            "Drottninggatan, Storgatan, Kungsgatan, Vasagatan, Sveavägen, Industrigatan, Hamngatan, Järnvägsgatan"
        ),
        stems=_words("Svensk, Norrlands, Göta, Mälardalens, Skånsk, Värmlands, Dala, Västkust, Öresunds, Småländsk"),
        trades=_words(
            "Trä, Stål, Bygg, Data, Logistik, Mekaniska, Förpackning, Möbler, Energi, Konsult, Transport, El, Tryckeri"
        ),
        first_names=_words("Anna, Erik, Maria, Lars, Karin, Johan, Eva, Anders, Sara, Magnus, Linnéa, Björn"),
        last_names=_words(
            "Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson, Svensson, Gustafsson, "
            "Lindström, Åberg"
        ),
        phone_prefix="+46",
    ),
    "NO": Country(
        code="NO",
        currency="NOK",
        tld="no",
        legal_forms=_words("AS, ASA"),
        cities=_cities(
            "0150=Oslo, 5003=Bergen, 7011=Trondheim, 4006=Stavanger, 9008=Tromsø, 3015=Drammen, "
            "4610=Kristiansand, 6002=Ålesund, 8006=Bodø"
        ),
        streets=_words(
            "Storgata, Kirkegata, Dronningens gate, Karl Johans gate, Strandgata, Industriveien, Havnegata, Fjordveien"
        ),
        stems=_words(
            "Norsk, Fjord, Vestlandet, Nordland, Trøndelag, Hordaland, Oslofjord, Finnmark, Sørlandet, Lofoten"
        ),
        trades=_words(
            "Tre, Stål, Bygg, Data, Logistikk, Mekaniske, Emballasje, Sjømat, Energi, Rådgivning, Transport, Elektro"
        ),
        first_names=_words("Ingrid, Ole, Kari, Lars, Nora, Magnus, Silje, Håkon, Marit, Even, Tone, Sindre"),
        last_names=_words(
            "Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nilsen, Kristiansen, Berg, Haugen, Solberg, Bråten"
        ),
        phone_prefix="+47",
    ),
    "FI": Country(
        code="FI",
        currency="EUR",
        tld="fi",
        legal_forms=_words("Oy, Oyj, Ab"),
        cities=_cities(
            "00100=Helsinki, 02100=Espoo, 33100=Tampere, 20100=Turku, 90100=Oulu, 40100=Jyväskylä, 15110=Lahti, "
            "70100=Kuopio"
        ),
        streets=_words(
            "Mannerheimintie, Aleksanterinkatu, Hämeenkatu, Kauppakatu, Satamakatu, Teollisuustie, "
            "Rautatienkatu, Kirkkokatu"
        ),
        stems=_words("Suomen, Pohjolan, Karjalan, Lapin, Saimaan, Hämeen, Pohjanmaan, Uudenmaan, Savon"),
        trades=_words(
            "Puu, Teräs, Rakennus, Data, Logistiikka, Konepaja, Pakkaus, Huonekalu, Energia, Konsultointi, "
            "Kuljetus, Sähkö"
        ),
        first_names=_words("Aino, Mikko, Laura, Juha, Johanna, Antti, Sanna, Jari, Elina, Ville, Päivi, Timo"),
        last_names=_words(
            "Korhonen, Virtanen, Mäkinen, Nieminen, Mäkelä, Hämäläinen, Laine, Heikkinen, Koskinen, Järvinen, "
            "Lehtonen, Saarinen"
        ),
        phone_prefix="+358",
    ),
}

ERP_COMPANIES = (
    # key, name, organisations, country weights (DK, SE, NO, FI)
    ("NORDIC", "Nordic Trading A/S", 200, (50, 20, 15, 15)),
    ("SVEA", "Svea Industri AB", 60, (15, 60, 15, 10)),
    ("FJORD", "Fjord Handel AS", 40, (10, 15, 65, 10)),
)
_KIND_WEIGHTS = ((ActorType.CUSTOMER, 65), (ActorType.SUPPLIER, 20), (ActorType.PARTNER, 15))
_TITLES = (
    "CEO",
    "CFO",
    "Purchasing manager",
    "Sales director",
    "Accountant",
    "IT manager",
    "Project manager",
    "Office manager",
    "Warehouse manager",
)
_PROJECT_TOPICS = (
    "ERP roll-out",
    "Warehouse expansion",
    "Web shop relaunch",
    "Service agreement",
    "Fleet renewal",
    "Energy audit",
    "Office refit",
    "Data migration",
    "Trade fair stand",
    "Packaging redesign",
)
_PROJECT_STATUS_WEIGHTS = (("PLANNED", 20), ("ACTIVE", 45), ("ONHOLD", 10), ("DONE", 20), ("CANCELLED", 5))


@dataclass(frozen=True)
class SeedSummary:
    companies: int
    organisations: int
    persons: int
    projects: int
    documents: int


def seed_demo(erp: SampleErp, *, today: dt.date | None = None) -> SeedSummary:
    """Fill an empty ERP with the demo companies, the demo user, and the same Nordic records every time; their sales
    documents are dated back from ``today`` (default: the day it runs)."""
    rng = random.Random(SEED)
    erp.add_user(DEMO_USER, DEMO_PASSWORD)
    totals = [0, 0, 0]
    for key, name, count, weights in ERP_COMPANIES:
        erp.add_company(key, name)
        for index, amount in enumerate(_seed_company(erp, rng, key, count, weights)):
            totals[index] += amount
    documents = seed_documents(erp, today=today or dt.date.today())
    organisations, persons, projects = totals
    return SeedSummary(len(ERP_COMPANIES), organisations, persons, projects, documents)


def _seed_company(
    erp: SampleErp, rng: random.Random, company: str, count: int, weights: tuple[int, ...]
) -> tuple[int, int, int]:
    countries = rng.choices(list(COUNTRIES.values()), weights=weights, k=count)
    names = _unique_names(rng, countries)
    organisations = [(_weighted(rng, _KIND_WEIGHTS), c, n) for c, n in zip(countries, names, strict=True)]
    persons = projects = 0
    for actor_type in (ActorType.CUSTOMER, ActorType.SUPPLIER, ActorType.PARTNER):
        mine = [(country, name) for kind, country, name in organisations if kind is actor_type]
        keys = erp.insert_many(company, actor_type, [NewRecord(_organisation(rng, c, n)) for c, n in mine])
        persons += len(erp.insert_many(company, ActorType.PERSON, list(_persons(rng, actor_type, keys, mine))))
        if actor_type is not ActorType.SUPPLIER:
            projects += len(erp.insert_many(company, ActorType.PROJECT, list(_projects(rng, actor_type, keys))))
    return count, persons, projects


def _unique_names(rng: random.Random, countries: list[Country]) -> list[str]:
    names: list[str] = []
    while len(names) < len(countries):
        country = countries[len(names)]
        stem = rng.choice(country.stems if rng.random() < 0.7 else country.last_names)
        name = f"{stem} {rng.choice(country.trades)} {rng.choice(country.legal_forms)}"
        if name not in names:
            names.append(name)
    return names


def _organisation(rng: random.Random, country: Country, name: str) -> dict[str, Value]:
    domain = f"{_slug(name.rsplit(' ', 1)[0])}.{country.tld}"
    postal = _address(rng, country)
    street = postal if rng.random() < 0.7 else _address(rng, country)
    org_number, vat_number = _registration_numbers(rng, country.code)
    return {
        "name": name,
        "org_number": org_number,
        "vat_number": vat_number,
        "postal_address1": postal[0],
        "postal_zip": postal[1],
        "postal_city": postal[2],
        "street_address1": street[0],
        "street_zip": street[1],
        "street_city": street[2],
        "country": country.code,
        "phone": _phone(rng, country),
        "email": f"info@{domain}",
        "url": f"https://www.{domain}",
        "currency": country.currency,
        "payment_terms": rng.choice(("NET8", "NET14", "NET30", "NET30", "NET60", "EOM30", "PREPAID")),
        "customer_group": rng.choice(("RETAIL", "WHOLESALE", "WHOLESALE", "PUBLIC", "RESELLER")),
        "employees": rng.choice((2, 5, 12, 25, 40, 80, 150, 400, 1200)),
        "credit_limit": float(rng.randrange(0, 101) * 5000),
        "blocked": rng.random() < 0.05,
        "active": rng.random() < 0.95,
    }


def _persons(
    rng: random.Random, parent_type: ActorType, parents: list[str], organisations: list[tuple[Country, str]]
) -> Iterator[NewRecord]:
    for parent, (country, name) in zip(parents, organisations, strict=True):
        domain = f"{_slug(name.rsplit(' ', 1)[0])}.{country.tld}"
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            first, last = rng.choice(country.first_names), rng.choice(country.last_names)
            values: dict[str, Value] = {
                "first_name": first,
                "last_name": last,
                "title": rng.choice(_TITLES),
                "email": f"{_slug(first)}.{_slug(last)}@{domain}",
                "phone_direct": _phone(rng, country),
                "phone_mobile": _phone(rng, country),
                "active": rng.random() < 0.95,
            }
            yield NewRecord(values, parent_key=parent, parent_type=parent_type)


def _projects(rng: random.Random, parent_type: ActorType, parents: list[str]) -> Iterator[NewRecord]:
    for parent in parents:
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            topic, year = rng.choice(_PROJECT_TOPICS), rng.choice((2024, 2025, 2026))
            values: dict[str, Value] = {
                "name": f"{topic} {year}",
                "description": f"{topic} for the customer, planned for {year}.",
                "end_date": f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T00:00:00Z",
                "status": _weighted(rng, _PROJECT_STATUS_WEIGHTS),
            }
            yield NewRecord(values, parent_key=parent, parent_type=parent_type)


def _weighted(rng: random.Random, options: Sequence[tuple[_T, int]]) -> _T:
    return rng.choices([option for option, _ in options], weights=[weight for _, weight in options])[0]


def _address(rng: random.Random, country: Country) -> tuple[str, str, str]:
    zip_code, city = rng.choice(country.cities)
    return f"{rng.choice(country.streets)} {rng.randrange(1, 180)}", zip_code, city


def _phone(rng: random.Random, country: Country) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(8))
    return f"{country.phone_prefix} {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"


def _registration_numbers(rng: random.Random, country: str) -> tuple[str, str]:
    """(organisation number, VAT number) in each country's usual format."""
    digits = "".join(str(rng.randrange(10)) for _ in range(10))
    if country == "DK":
        cvr = f"{rng.randrange(1, 10)}{digits[:7]}"
        return cvr, f"DK{cvr}"
    if country == "SE":
        number = f"55{digits[:4]}-{digits[4:8]}"
        return number, f"SE{number.replace('-', '')}01"
    if country == "NO":
        number = f"9{digits[:8]}"
        return f"{number[:3]} {number[3:6]} {number[6:]}", f"NO{number}MVA"
    number = f"{digits[:7]}-{digits[7]}"
    return number, f"FI{number.replace('-', '')}"


def _slug(text: str) -> str:
    """Lower-case ASCII for domains and e-mail addresses: "Øresund Træ" -> "oresund-trae"."""
    text = text.replace("æ", "ae").replace("Æ", "Ae").replace("ø", "o").replace("Ø", "O").replace("å", "aa")
    text = text.replace("Å", "Aa")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(part for part in "".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


def generate_synthetic(
    erp: SampleErp, count: int, *, company: str = "NORDIC", seed: int = SEED, first: int = 0
) -> list[str]:
    """Insert ``count`` synthetic customers numbered from ``first`` into ``company`` in one transaction; returns
    their keys. Customers with different numbers share no name, org number or e-mail (an import matches by those)."""
    rng = random.Random(seed)
    country = COUNTRIES["DK"]
    records = [NewRecord(_synthetic_customer(rng, country, index)) for index in range(first, first + count)]
    return erp.insert_many(company, ActorType.CUSTOMER, records)


def _synthetic_customer(rng: random.Random, country: Country, index: int) -> dict[str, Value]:
    zip_code, city = rng.choice(country.cities)
    return {
        "name": f"Synthetic Customer {index:07d} ApS",
        "org_number": f"{10000000 + index}",
        "postal_address1": f"{rng.choice(country.streets)} {rng.randrange(1, 180)}",
        "postal_zip": zip_code,
        "postal_city": city,
        "country": "DK",
        "email": f"customer{index}@synthetic.example",
        "currency": "DKK",
        "payment_terms": "NET30",
        "credit_limit": float(rng.randrange(0, 101) * 1000),
    }
