"""A connection's field metadata in every language its connector speaks (docs/protocol.md, *Language*).

The metadata cache (``ConnectionActorFields.fields_json``) holds each field as the connector answers it in its
default language, and beside it ``labels``: per declared language, the field's label and description in it. The
other members (type, access, list) are the same in every language, so one row serves all of them and the mapping
never depends on who looked. ``localized`` picks the user's language (``erpsync.protocol.language.current()``, set
per request by the web pages and the API) when reading the cache; a language the connector does not speak reads the
default labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.language import best_match, speaking

Labels = dict[str, dict[str, dict[str, str]]]
"""Field key -> language -> ``{"label", "description"}``."""


def fetch_labels(
    client: ConnectorClient, connection_uuid: str, actor_types: Sequence[m.ActorType]
) -> dict[m.ActorType, Labels]:
    """The labels of every actor type's fields in each language the connector declares now (``info`` read again,
    after the connection's fields were read: the languages may be those of the connection's ERP), its default
    excluded: the cache's own members hold those; no call for labels to a connector that declares none."""
    labels: dict[m.ActorType, Labels] = {actor_type: {} for actor_type in actor_types}
    for language in client.refresh_info().capabilities.languages[1:]:
        with speaking(language):
            for actor_type in actor_types:
                fields = client.actor_fields(connection_id=connection_uuid, actor_type=actor_type).fields
                for meta in fields:
                    texts = {"label": meta.label, "description": meta.description}
                    labels[actor_type].setdefault(meta.key, {})[language] = texts
    return labels


def stored(fields: Sequence[m.FieldMeta], labels: Labels) -> list[dict[str, Any]]:
    """The cache rows' JSON: each field as answered in the default language, with its labels in the others."""
    return [{**meta.model_dump(mode="json"), "labels": labels.get(meta.key, {})} for meta in fields]


def localized(item: Mapping[str, Any], language: str | None) -> m.FieldMeta:
    """One cached field with its label and description in ``language`` when the connector speaks it."""
    meta = m.FieldMeta.model_validate(item)
    translations = item.get("labels")
    if not isinstance(translations, Mapping):
        return meta
    chosen = best_match(language, list(translations))
    texts = translations.get(chosen) if chosen else None
    if not isinstance(texts, Mapping):
        return meta
    return meta.model_copy(update={key: str(texts[key]) for key in ("label", "description") if key in texts})
