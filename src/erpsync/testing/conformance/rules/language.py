"""The language rule (docs/protocol.md, *Language*): a connector that declares languages answers its labels in each
of them, with the same fields and list keys in every language, and answers a language it does not speak in its
default one, without error. A connector that declares none is asked nothing in another language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context, valid_field_metas
from erpsync.testing.conformance.rule import Evidence, Rule

_UNSPOKEN = ("zz", "qq", "xx")  # unassigned primary tags: no connector speaks them
_SAME_IN_EVERY_LANGUAGE = ("key", "type", "access", "list_name", "max_length", "rank")


@dataclass
class _Reading:
    """Every label of the config fields, the actor fields and their lists in one language, by where it was found
    (``actor_fields(customer).name``), and what must be the same in every language, by what it is."""

    texts: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, object] = field(default_factory=dict)


def check_language(ctx: Context, evidence: Evidence) -> None:
    declared = list(ctx.info().capabilities.languages)
    if not declared:
        evidence.note("declares no languages: the hub sends it no `language` member")
        return
    default = _read(ctx, evidence, None)
    unspoken = next(tag for tag in _UNSPOKEN if tag not in declared)
    for language in [*declared[1:], unspoken]:
        reading = _read(ctx, evidence, language)
        changed = sorted(what for what, shape in reading.shapes.items() if default.shapes.get(what) != shape)
        evidence.expect(not changed, f"in {language!r} these differ from the default language: {changed[:5]}")
        translated = sorted(where for where, text in reading.texts.items() if default.texts.get(where) != text)
        if language == unspoken:
            evidence.expect(
                not translated, f"asked in {unspoken!r}, not declared, it answers {translated[:5]} otherwise"
            )
            continue
        evidence.expect(bool(translated), f"declares {language!r} but answers every label in it as in {declared[0]!r}")
        evidence.note(f"{language}: {len(translated)} of {len(reading.texts)} labels differ from {declared[0]}")
    evidence.note(f"declares {declared}; {unspoken!r} falls back to {declared[0]!r}")


def _read(ctx: Context, evidence: Evidence, language: str | None) -> _Reading:
    asked: dict[str, Any] = {} if language is None else {"language": language}
    reading = _Reading()
    metas = {"config_fields": _fields(ctx, evidence, "config_fields", asked)}
    for actor_type in ctx.actor_types():
        payload = ctx.on_connection(actor_type=actor_type, **asked)
        metas[f"actor_fields({actor_type})"] = _fields(ctx, evidence, "actor_fields", payload)
    lists: set[str] = set()
    for where, fields in metas.items():
        reading.shapes[where] = [tuple(getattr(meta, name) for name in _SAME_IN_EVERY_LANGUAGE) for meta in fields]
        for meta in fields:
            reading.texts[f"{where}.{meta.key}"] = meta.label
            reading.texts[f"{where}.{meta.key}.description"] = meta.description
            lists.update([meta.list_name] if meta.list_name else [])
    for list_name in sorted(lists):
        answer = ctx.wire.call("list_items", ctx.on_connection(list_name=list_name, **asked))
        if evidence.expect(answer.ok, f"list_items({list_name}) {_in(language)}: {answer.describe()}"):
            items = m.ListItemsResponse.model_validate(answer.document).items
            reading.texts.update({f"list_items({list_name}).{item.key}": item.label for item in items})
            reading.shapes[f"list_items({list_name})"] = [item.key for item in items]
    return reading


def _fields(ctx: Context, evidence: Evidence, operation: str, payload: dict[str, Any]) -> list[m.FieldMeta]:
    answer = ctx.wire.call(operation, payload)
    if not evidence.expect(answer.ok, f"{operation} {_in(payload.get('language'))}: {answer.describe()}"):
        return []
    return valid_field_metas((answer.document or {}).get("fields"))


def _in(language: object) -> str:
    return f"in {language!r}" if language else "without a language"


RULES = (
    Rule(
        "language",
        "a connector that declares languages answers labels in each, the same fields and keys, and falls back",
        check_language,
    ),
)
