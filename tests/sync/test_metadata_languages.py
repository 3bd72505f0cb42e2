"""The metadata cache keeps each field's labels per language and reads them in the user's language, falling back to
the connector's default for a language it does not speak or a row cached before it spoke any."""

from __future__ import annotations

from erpsync.protocol import models as m
from erpsync.sync.metadata_languages import localized, stored

_NAME = m.FieldMeta(key="name", label="Name", description="The name", type=m.FieldType.TEXT, access="mandatory")


def test_a_field_reads_in_the_language_asked_and_keeps_everything_else() -> None:
    (item,) = stored([_NAME], {"name": {"da": {"label": "Navn", "description": "Navnet"}}})
    danish = localized(item, "da-DK")
    assert (danish.label, danish.description) == ("Navn", "Navnet")
    assert danish.model_dump(exclude={"label", "description"}) == _NAME.model_dump(exclude={"label", "description"})


def test_an_unspoken_language_or_none_reads_the_default() -> None:
    (item,) = stored([_NAME], {"name": {"da": {"label": "Navn", "description": "Navnet"}}})
    assert localized(item, "fr") == _NAME
    assert localized(item, None) == _NAME


def test_a_row_cached_without_labels_reads_as_it_was() -> None:
    assert localized(_NAME.model_dump(mode="json"), "da") == _NAME
