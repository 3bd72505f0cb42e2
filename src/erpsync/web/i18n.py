"""The UI's text in English and Danish: one JSON catalog per language in ``translations/``, the same keys in each.

Public names: ``LANGUAGES``, ``DEFAULT_LANGUAGE``, ``CATALOGS``, ``Translator``, ``pick_language``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "da")
DEFAULT_LANGUAGE = "en"
_FOLDER = Path(__file__).parent / "translations"


def _load(language: str) -> dict[str, str]:
    catalog: dict[str, str] = json.loads((_FOLDER / f"{language}.json").read_text(encoding="utf-8"))
    return catalog


CATALOGS: dict[str, dict[str, str]] = {language: _load(language) for language in LANGUAGES}


class Translator:
    """``t("key", name=...)``: the text of ``key`` in one language; an unknown key is a bug and raises ``KeyError``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else DEFAULT_LANGUAGE
        self._catalog = CATALOGS[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._catalog[key]
        return text.format(**values) if values else text


def pick_language(chosen: object, accept_language: str) -> str:
    """The language the user chose, else the first one their browser asks for that we have, else English."""
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
