"""How the ERP tab shows ERP values: the fields marked for the tab or the search, list labels, and reading an actor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from erpsync.errors import NotFoundError
from erpsync.protocol import models as m
from erpsync.sync.erp_tab.views import Display, FieldValue
from erpsync.sync.merge import is_blank
from erpsync.sync.work import Pass

# --- showing values -------------------------------------------------------------------------------------------------


def metas_of(p: Pass) -> dict[str, m.FieldMeta]:
    return {meta.key: meta for meta in p.erp_fields}


def list_labels(p: Pass, metas: Iterable[m.FieldMeta], records: Sequence[Mapping[str, m.Value]]) -> dict[str, str]:
    """The ERP labels of the list values in ``records``, keyed ``list_name/key``."""
    wanted: dict[str, set[str]] = {}
    for meta in metas:
        if meta.type is m.FieldType.LIST and meta.list_name:
            keys = {str(values[meta.key]) for values in records if not is_blank(values.get(meta.key))}
            if keys:
                wanted.setdefault(meta.list_name, set()).update(keys)
    return {
        f"{name}/{item.key}": item.label
        for name, keys in sorted(wanted.items())
        for item in p.client.list_items(connection_id=p.connection_uuid, list_name=name, keys=sorted(keys)).items
    }


def display(meta: m.FieldMeta, value: m.Value, labels: Mapping[str, str]) -> Display:
    """How a value reads: a list item's label, a checkbox's bool (its words are the caller's language), else text."""
    if is_blank(value):
        return ""
    if meta.type is m.FieldType.LIST:
        return labels.get(f"{meta.list_name}/{value}", str(value))
    if isinstance(value, bool):
        return value
    return str(value)


def shown(metas: Sequence[m.FieldMeta], values: Mapping[str, m.Value], labels: Mapping[str, str]) -> list[FieldValue]:
    return [
        FieldValue(
            key=meta.key,
            label=meta.label,
            value=values.get(meta.key),
            display=display(meta, values.get(meta.key), labels),
            type=meta.type,
        )
        for meta in metas
    ]


def rows_marked(p: Pass, *, tab: bool) -> list[m.FieldMeta]:
    """The ERP fields marked *show in ERP tab* (or *show in search*), in rank order; missing ones left out."""
    metas = metas_of(p)
    marked = [row.erp_field for row in p.mapping.fields if (row.show_in_tab if tab else row.show_in_search)]
    return [metas[key] for key in marked if key in metas]


def read_actor(p: Pass, erp_key: str, field_keys: Sequence[str]) -> m.Actor:
    found = p.client.get_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=[erp_key], field_keys=field_keys
    )
    actor = next((actor for actor in found.actors if actor.erp_key == erp_key), None)
    if actor is None:
        raise NotFoundError(f"the ERP has no {p.actor_type} {erp_key!r}: it was deleted or is missing")
    return actor
