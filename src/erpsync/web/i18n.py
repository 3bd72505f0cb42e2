"""The UI's text in English and Danish: one gettext catalog per language,
``translations/<language>/LC_MESSAGES/messages.po``, read with Babel when the module loads (no compile step).

Each message id is a key (``"erp.hits"``); its text may name values (``{count}``). A text that depends on a number
is a plural entry (``msgid_plural``, one form per the language's ``Plural-Forms``) and takes ``count``:
``t("erp.hits", count=3)`` picks the form for 3. Dates and numbers are written by ``erpsync.web.formats``.

Public names: ``LANGUAGES``, ``DEFAULT_LANGUAGE``, ``CATALOGS``, ``PLURALS``, ``Translator``, ``pick_language``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("en", "da")
DEFAULT_LANGUAGE = "en"
_FOLDER = Path(__file__).parent / "translations"


def catalog_path(language: str) -> Path:
    return _FOLDER / language / "LC_MESSAGES" / "messages.po"


def _load(language: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]], Translations]:
    """The singular text of every key, the forms of the plural ones, and the catalog as gettext reads it."""
    with catalog_path(language).open("rb") as file:
        catalog = read_po(file, locale=language)
    texts: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        if isinstance(message.id, tuple):
            forms = tuple(str(form) for form in message.string or ())
            texts[str(message.id[0])], plurals[str(message.id[0])] = forms[0], forms
        else:
            texts[str(message.id)] = str(message.string)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return texts, plurals, Translations(compiled)


_LOADED = {language: _load(language) for language in LANGUAGES}
CATALOGS: dict[str, dict[str, str]] = {language: loaded[0] for language, loaded in _LOADED.items()}
"""Per language, the text of every key (a plural entry's first form)."""
PLURALS: dict[str, dict[str, tuple[str, ...]]] = {language: loaded[1] for language, loaded in _LOADED.items()}
"""Per language, every form of the plural entries."""


class Translator:
    """``t("key", name=...)``: the text of ``key`` in one language; an unknown key is a bug and raises ``KeyError``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else DEFAULT_LANGUAGE
        self._catalog = CATALOGS[self.language]
        self._plurals = PLURALS[self.language]
        self._translations = _LOADED[self.language][2]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._catalog[key]
        if key in self._plurals:
            text = self._translations.ngettext(key, key, _number(values.get("count")))
        return text.format(**values) if values else text


def _number(count: object) -> int:
    """The number a plural form is chosen by (a count from a query string arrives as text)."""
    try:
        return abs(int(str(count)))
    except ValueError:
        return 2  # not a number: the form for "many"


def pick_language(chosen: object, accept_language: str) -> str:
    """The language the user chose, else the first one their browser asks for that we have, else English."""
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
