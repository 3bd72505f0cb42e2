"""Answering in the asked language through Tryton's own translations (docs/tryton.md, *Languages*).

A connection speaks the languages its Tryton database has loaded as translatable (``ir.lang``, ``translatable``),
besides English, the connector's default. Tryton's codes are ISO codes with ``_`` (``de``, ``es_419``, ``zh_CN``);
the protocol's are BCP 47 tags with ``-``. Asked in one of them, the connector answers a field's label and
description with the string and help Tryton gives its counterpart (``fields_get`` in that language), and list item
names as Tryton reads them in it; a field without a Tryton counterpart, and every other language, stay English.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from erpsync.connectors.tryton.fields import ActorField
from erpsync.connectors.tryton.rpc import Context, TrytonRpc
from erpsync.protocol.language import best_match
from erpsync.protocol.models import FieldMeta

DEFAULT = "en"
ADDRESS = "party.address"  # the model of the role flags that qualify an address field's label


def tag(code: str) -> str:
    """Tryton's language code as a BCP 47 tag: ``es_419`` -> ``es-419``."""
    return code.replace("_", "-")


def tryton_code(language: str) -> str:
    """A BCP 47 tag as Tryton's language code: ``zh-CN`` -> ``zh_CN``."""
    return language.replace("-", "_")


def translatable(rpc: TrytonRpc, context: Context | None = None) -> tuple[str, ...]:
    """The tags of the languages the database translates, English (the default) left out."""
    rows = rpc.search_read("ir.lang", [["translatable", "=", True]], ["code"], order=[["code", "ASC"]], context=context)
    tags = (tag(str(row["code"])) for row in rows)
    return tuple(language for language in tags if language.lower().split("-")[0] != DEFAULT)


def spoken(asked: str | None, languages: tuple[str, ...]) -> str | None:
    """The translatable language that answers ``asked``; None: English."""
    return best_match(asked, languages)


@dataclass(frozen=True)
class Text:
    """A Tryton field's string and help in one language."""

    string: str
    help: str


class FieldTexts:
    """Tryton's strings of each model's fields, per language, read once per session; thread-safe."""

    def __init__(self, rpc: TrytonRpc) -> None:
        self._rpc = rpc
        self._read: dict[tuple[str, str], dict[str, Text]] = {}
        self._lock = threading.Lock()

    def of(self, model: str, language: str) -> dict[str, Text]:
        with self._lock:
            found = self._read.get((model, language))
        if found is None:
            answer = self._rpc.model(model, "fields_get", None, context={"language": tryton_code(language)})
            found = {
                name: Text(str(about.get("string") or ""), str(about.get("help") or ""))
                for name, about in answer.items()
                if isinstance(about, dict)
            }
            with self._lock:
                self._read[(model, language)] = found
        return found


def localized(meta: FieldMeta, field: ActorField, texts: Callable[[str], dict[str, Text]]) -> FieldMeta:
    """``meta`` labelled with Tryton's string of the field's counterpart (an address field's qualified by its role
    flag's: ``Anschrift (Rechnung)``), described by its help; as it was without a counterpart in this database."""
    if field.source is None:
        return meta
    model, name = field.source
    found = texts(model).get(name)
    if found is None or not found.string:
        return meta
    label = found.string
    if field.role is not None:
        role = texts(ADDRESS).get(field.role)
        if role is None or not role.string:
            return meta
        label = f"{label} ({role.string})"
    return meta.model_copy(update={"label": label, "description": found.help or meta.description})
