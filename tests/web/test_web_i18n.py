"""The English and Danish gettext catalogs: the same keys, no empty text, plural entries with every form of their
language, every key the templates name exists."""

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


def test_plural_entries_have_every_form_and_the_count_picks_one() -> None:
    assert set(i18n.PLURALS["en"]) == set(i18n.PLURALS["da"]), "a text plural in one language only"
    for language in i18n.LANGUAGES:
        assert all(len(forms) == 2 and all(f.strip() for f in forms) for forms in i18n.PLURALS[language].values())
    english, danish = i18n.Translator("en"), i18n.Translator("da")
    assert [english("erp.hits", count=n) for n in (0, 1, 2)] == ["0 hits", "1 hit", "2 hits"]
    assert [danish("erp.hits", count=n) for n in (1, 5)] == ["1 resultat", "5 resultater"]
    assert english("import.undone", count="1") == "Import undone: 1 record deleted.", "a count from a query string"
    texts = [text for language in i18n.LANGUAGES for text in i18n.CATALOGS[language].values()]
    assert [text for text in texts if "(s)" in text or "(er)" in text] == [], "plural forms, not (s)"


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
