"""The English and Danish catalogs: the same keys, no empty text, every key the templates name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from erpsync.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
_LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def test_every_key_exists_in_both_languages() -> None:
    english, danish = (set(i18n.CATALOGS[language]) for language in ("en", "da"))
    assert english - danish == set(), "keys missing in Danish"
    assert danish - english == set(), "keys missing in English"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_no_text_is_empty(language: str) -> None:
    assert [key for key, text in i18n.CATALOGS[language].items() if not text.strip()] == []


def test_every_key_named_in_a_template_is_in_the_catalogs() -> None:
    named = {key for path in TEMPLATES.rglob("*.html") for key in _LITERAL_KEY.findall(path.read_text())}
    assert len(named) > 50
    # A key ending in "." or "_" is the literal start of a composed one (t("run.status." ~ run.status)).
    prefixes = {key for key in named if key.endswith((".", "_"))}
    assert named - prefixes - set(i18n.CATALOGS["en"]) == set()
    assert [p for p in prefixes if not any(key.startswith(p) for key in i18n.CATALOGS["en"])] == []


def test_the_danish_product_terms() -> None:
    danish = set(i18n.CATALOGS["da"].values())
    for term in ("Sync Connector", "ERP-forbindelse", "ERP-aktør", "Indstillinger og vedligeholdelse"):
        assert any(term in text for text in danish), term


def test_an_unknown_language_falls_back_to_english_and_an_unknown_key_is_a_bug() -> None:
    t = i18n.Translator("fr")
    assert t("action.save") == "Save"
    with pytest.raises(KeyError):
        t("no.such.key")
    assert i18n.pick_language(None, "fr-FR, da;q=0.5") == "da"
