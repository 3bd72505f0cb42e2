"""The CRM's country list from ISO 3166-1: filled on a fresh hub, and each CRM country's ISO code.

The names come from Babel's locale data (the Unicode CLDR, kept current with each Babel release), in the hub's
languages. A CRM country item has a label only; its ISO code is the code whose English or Danish name the label is
(ignoring case), so the items a fresh hub was filled with and the ones an administrator typed by the usual name are
known alike. That code is what the hub pairs ERP countries with (``sync.mapping.auto.pair_by_code``).

Public names: ``iso_countries``, ``fill_countries``, ``country_codes``.
"""

from __future__ import annotations

from functools import cache

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm import lists
from erpsync.crm.fields import CrmList
from erpsync.storage.tables import ListItem

LANGUAGES = ("en", "da")  # the hub's languages: a country item's label is its name in one of them
# CLDR territories with two letters that are not ISO 3166-1 alpha-2 country codes (reserved, groups, unknown).
_NOT_ISO = frozenset(("AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "QO", "UN", "XA", "XB", "XK", "ZZ"))


@cache
def iso_countries(language: str = "en") -> dict[str, str]:
    """Every ISO 3166-1 country: alpha-2 code -> its name in ``language``, ordered by name."""
    territories: dict[str, str] = {str(code): str(name) for code, name in Locale.parse(language).territories.items()}
    codes = [code for code in territories if len(code) == 2 and code.isalpha() and code not in _NOT_ISO]
    return dict(sorted(((code, territories[code]) for code in codes), key=lambda pair: pair[1].casefold()))


@cache
def _codes_by_name() -> dict[str, str]:
    return {name.casefold(): code for language in LANGUAGES for code, name in iso_countries(language).items()}


def fill_countries(session: Session, *, language: str = "en") -> int:
    """Fill an empty CRM country list (never used: no item, not even a deleted one) with every ISO 3166-1 country,
    named in ``language``; how many items were added (0 when the list had items)."""
    used = session.scalar(select(ListItem.id).where(ListItem.list_name == CrmList.COUNTRY.value).limit(1))
    if used is not None:
        return 0
    countries = iso_countries(language)
    for rank, name in enumerate(countries.values(), start=1):
        lists.add_item(session, CrmList.COUNTRY, label=name, rank=rank)
    return len(countries)


def country_codes(items: dict[int, str]) -> dict[int, str]:
    """The ISO code of each CRM country item (id -> label) whose label is a country's English or Danish name."""
    names = _codes_by_name()
    return {item_id: names[label.casefold()] for item_id, label in items.items() if label.casefold() in names}
