"""Reading the Sync tab's *Configure* forms (SPEC §4): the posted mapping rows, list pairs and defaults, and a move in
an ordered list. A value of the wrong kind is reported in ``problems`` (or per field), never raised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from starlette.datastructures import FormData

from erpsync.crm.fields import CrmList
from erpsync.protocol import models as m
from erpsync.sync.configuration_views import ListMappingsView, ListMappingView
from erpsync.sync.mapping import (
    ActorTypeMapping,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    ListMapping,
)
from erpsync.sync.merge import Direction, Policy
from erpsync.web.erp_values import parse_value

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Refusal:
    """Why a save was refused: every reason, and per field the message of a value of the wrong kind."""

    problems: Sequence[str] = ()
    field_errors: Mapping[str, str] = field(default_factory=dict)


def enum_of(kind: type[E], text: object, problems: list[str]) -> E | None:
    if text in (None, ""):
        return None
    try:
        return kind(str(text))
    except ValueError:
        problems.append(f"{text!r} is not a {kind.__name__.lower()}")
        return None


def moved(order: list[str], move: str) -> list[str]:
    """``order`` with the item named by ``move`` ("up:<key>" or "down:<key>") swapped with its neighbour."""
    direction, _, key = move.partition(":")
    if key not in order or direction not in ("up", "down"):
        return order
    index = order.index(key)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    return order


def mapping_from_form(form: FormData, actor_type: m.ActorType, problems: list[str]) -> ActorTypeMapping:
    """The posted rows; a row missing in the ERP whose *remove* box is ticked is left out."""
    rows = []
    for key in dict.fromkeys(str(key) for key in form.getlist("erp_field") if key):
        if f"remove.{key}" in form:
            continue
        row = FieldMapping(
            erp_field=key,
            crm_field=str(form.get(f"crm_field.{key}") or "") or None,
            direction=enum_of(Direction, form.get(f"direction.{key}"), problems) or Direction.NONE,
            show_in_search=f"show_in_search.{key}" in form,
            show_in_tab=f"show_in_tab.{key}" in form,
            policy=enum_of(Policy, form.get(f"policy.{key}"), problems),
        )
        rows.append(row)
    return ActorTypeMapping(
        actor_type=actor_type,
        active="active" in form,
        fields=tuple(rows),
        erp_delete=enum_of(ErpDeletePolicy, form.get("erp_delete"), problems) or ErpDeletePolicy.KEEP,
        crm_delete=enum_of(CrmDeletePolicy, form.get("crm_delete"), problems) or CrmDeletePolicy.UNLINK,
    )


def duplicates(screen: ListMappingsView) -> dict[str, set[int]]:
    """Per list, the CRM items paired with more than one ERP item (shown in red; the save refuses them)."""
    return {
        name: {item for item, count in Counter(v for v in shown.items.values() if v is not None).items() if count > 1}
        for name, shown in screen.lists.items()
    }


def list_mappings_from_form(
    form: FormData, screen: ListMappingsView, problems: list[str]
) -> tuple[dict[str, ListMapping], ListMappingsView]:
    """The posted pairs of every list on the screen, and the screen showing them.

    A list is saved when it was saved before, when an item is paired, or when its CRM list was chosen (its pairs then
    start empty); a list whose CRM list is set to none is no longer mapped. A list only offered stays unsaved."""
    mappings, shown_lists = {}, {}
    for name, shown in screen.lists.items():
        crm_list = _posted_crm_list(form, name, shown.crm_list, problems)
        items = _posted_items(form, name, shown, problems) if crm_list is shown.crm_list else {}
        crm_items = shown.crm_items if crm_list is shown.crm_list else []
        shown_lists[name] = shown.model_copy(update={"items": items, "crm_list": crm_list, "crm_items": crm_items})
        wanted = shown.saved or crm_list is not shown.crm_list or any(v is not None for v in items.values())
        if crm_list is not None and wanted:
            mappings[name] = ListMapping(list_name=name, crm_list=crm_list, items=items)
    return mappings, ListMappingsView(lists=shown_lists)


def _posted_crm_list(form: FormData, name: str, shown: CrmList | None, problems: list[str]) -> CrmList | None:
    posted = form.get(f"crm_list.{name}")
    if posted is None:  # a form without the choice keeps the list shown
        return shown
    return enum_of(CrmList, posted, problems)


def _posted_items(form: FormData, name: str, shown: ListMappingView, problems: list[str]) -> dict[str, int | None]:
    items: dict[str, int | None] = {}
    for erp_item in shown.erp_items:
        text = str(form.get(f"item.{name}.{erp_item.key}") or "")
        if text and not text.isdigit():
            problems.append(f"{name}.{erp_item.key}: {text!r} is not a CRM item")
        items[erp_item.key] = int(text) if text.isdigit() else None
    return items


def defaults_from_form(
    form: FormData, fields: Sequence[m.FieldMeta], field_errors: dict[str, str]
) -> dict[str, FieldDefault]:
    defaults = {}
    for meta in fields:
        value, error = parse_value(meta.type, str(form.get(f"value.{meta.key}") or ""))
        if error:
            field_errors[meta.key] = error
        ask, mandatory = f"ask.{meta.key}" in form, f"mandatory.{meta.key}" in form
        if value is not None or ask or mandatory:
            defaults[meta.key] = FieldDefault(value=value, ask_user=ask, mandatory=mandatory)
    return defaults
