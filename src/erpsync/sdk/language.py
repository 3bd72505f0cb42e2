"""Answering in the language the hub asks for (docs/protocol.md, *Language*).

A connector declares the languages it speaks in ``capabilities.languages`` (its default first, e.g.
``Translations.languages``); the SDK then hands it the request's ``language`` through ``asked()`` while it answers,
``info`` and ``config_fields`` included. ``Translations`` is a small catalogue keyed by the default language's text: a
text without a translation, or a language the connector does not speak, stays in the default language: never an
error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from erpsync.protocol import models as m
from erpsync.protocol.language import best_match, current


def asked() -> str | None:
    """The ``language`` of the request being answered; None when the hub sent none."""
    return current()


class Translations:
    """Texts of the default language -> their translation, per language; templates may name values (``{name}``)."""

    def __init__(self, default: str, catalogs: Mapping[str, Mapping[str, str]]) -> None:
        self.default = default
        self._catalogs = {language: dict(texts) for language, texts in catalogs.items()}

    @property
    def languages(self) -> list[str]:
        """What to declare in ``capabilities.languages``: the default first."""
        return [self.default, *(language for language in self._catalogs if language != self.default)]

    def language(self) -> str:
        """The language this answer is in: the asked one when spoken, else the default."""
        return best_match(asked(), self.languages) or self.default

    def text(self, text: str, **values: Any) -> str:
        """``text`` in the asked language, its ``{name}`` filled from ``values``."""
        translated = self._catalogs.get(self.language(), {}).get(text, text)
        return translated.format(**values) if values else translated

    def field(self, meta: m.FieldMeta) -> m.FieldMeta:
        """A field's label and description (and a display-only field's text) in the asked language."""
        update: dict[str, Any] = {"label": self.text(meta.label), "description": self.text(meta.description)}
        if meta.type is m.FieldType.LABEL and isinstance(meta.default, str):
            update["default"] = self.text(meta.default)
        return meta.model_copy(update=update)

    def fields(self, metas: Iterable[m.FieldMeta]) -> list[m.FieldMeta]:
        return [self.field(meta) for meta in metas]

    def items(self, items: Iterable[m.ListItem]) -> list[m.ListItem]:
        """List items with their labels in the asked language (keys never change)."""
        return [item.model_copy(update={"label": self.text(item.label)}) for item in items]
