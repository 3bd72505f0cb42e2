"""What the configure screens show of a connection's sync configuration (SPEC §4 *Configure*), for the API's answers
and the web pages alike: each mapping row with its ERP field's label and type, the CRM fields it may pair with and
whether the connector still reports it; each list mapping with the items of both lists; the fields that can take a
create default; the ranks with their labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.protocol import models as m
from erpsync.storage.tables import ListItem
from erpsync.sync import mapping as rules
from erpsync.sync.configuration_loading import list_mapping_names, list_names_of
from erpsync.sync.mapping import (
    ActorTypeMapping,
    ConnectionConfig,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
)

# --- field mappings ---------------------------------------------------------------------------------------------------


class FieldRowView(FieldMapping):
    label: str
    type: m.FieldType | None = Field(description="None for a field the connector no longer reports")
    list_name: str | None
    read_only: bool
    missing_in_erp: bool
    compatible_crm_fields: list[str]


class MappingView(BaseModel):
    actor_type: m.ActorType
    entity: str
    active: bool
    fields: list[FieldRowView]
    erp_delete: ErpDeletePolicy
    crm_delete: CrmDeletePolicy


def mapping_view(mapping: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> MappingView:
    """One row per mapped field (those missing in the ERP flagged), then one per ERP field not mapped yet."""
    metas = {meta.key: meta for meta in erp_fields}
    unmapped = [meta for meta in erp_fields if meta.key not in {row.erp_field for row in mapping.fields}]
    rows = [*mapping.fields, *(FieldMapping(erp_field=meta.key, rank=meta.rank) for meta in unmapped)]
    entity = rules.ENTITY_FOR_ACTOR[mapping.actor_type]
    return MappingView(
        actor_type=mapping.actor_type,
        entity=entity.value,
        active=mapping.active,
        fields=[_row_view(row, metas.get(row.erp_field), entity) for row in rows],
        erp_delete=mapping.erp_delete,
        crm_delete=mapping.crm_delete,
    )


def _row_view(row: FieldMapping, meta: m.FieldMeta | None, entity: EntityType) -> FieldRowView:
    return FieldRowView(
        **row.model_dump(),
        label=meta.label if meta else row.erp_field,
        type=meta.type if meta else None,
        list_name=meta.list_name if meta else None,
        read_only=rules.is_read_only(meta) if meta else True,
        missing_in_erp=meta is None,
        compatible_crm_fields=[crm.key for crm in rules.compatible_crm_fields(meta, entity)] if meta else [],
    )


# --- list mappings ----------------------------------------------------------------------------------------------------


class CrmItemView(BaseModel):
    id: int
    label: str


class ListMappingView(BaseModel):
    crm_list: CrmList | None = Field(description="saved, else the list of the CRM field a mapped row pairs with")
    saved: bool
    items: dict[str, int | None]
    erp_items: list[m.ListItem]
    crm_items: list[CrmItemView]


class ListMappingsView(BaseModel):
    lists: dict[str, ListMappingView]


def list_mappings_view(
    config: ConnectionConfig,
    offered: Mapping[m.ActorType, Sequence[m.FieldMeta]],
    *,
    erp_lists: Mapping[str, Sequence[m.ListItem]],
    crm_items: Mapping[CrmList, Sequence[ListItem]],
    every_list: bool = False,
) -> ListMappingsView:
    """One entry per list a synced list field uses, and per saved list mapping; with ``every_list``, one per list any
    offered ERP field uses, paired with the CRM list a mapped row or the auto-mapping pairs its field with (the web's
    *List mapping* screen, so a list can be mapped before the field that uses it)."""
    lists = {}
    names = list_names_of(offered) | config.list_mappings.keys() if every_list else list_mapping_names(config, offered)
    for name in sorted(names):
        saved = config.list_mappings.get(name)
        crm_list = saved.crm_list if saved else _paired_crm_list(config, offered, name)
        if crm_list is None and every_list:
            crm_list = _guessed_crm_list(offered, name)
        lists[name] = ListMappingView(
            crm_list=crm_list,
            saved=saved is not None,
            items=dict(saved.items) if saved else {},
            erp_items=list(erp_lists.get(name, [])),
            crm_items=[CrmItemView(id=i.id, label=i.label) for i in crm_items.get(crm_list, [])] if crm_list else [],
        )
    return ListMappingsView(lists=lists)


def _paired_crm_list(
    config: ConnectionConfig, offered: Mapping[m.ActorType, Sequence[m.FieldMeta]], name: str
) -> CrmList | None:
    for mapping in config.mappings.values():
        list_fields = {meta.key for meta in offered.get(mapping.actor_type, []) if meta.list_name == name}
        entity_fields = CRM_FIELDS[rules.ENTITY_FOR_ACTOR[mapping.actor_type]]
        for row in mapping.fields:
            crm = entity_fields.get(row.crm_field or "")
            if row.erp_field in list_fields and crm is not None and crm.list_name is not None:
                return crm.list_name
    return None


def _guessed_crm_list(offered: Mapping[m.ActorType, Sequence[m.FieldMeta]], name: str) -> CrmList | None:
    """The CRM list of the CRM field the auto-mapping pairs a field using list ``name`` with, if any."""
    for actor_type, erp_fields in offered.items():
        entity = rules.ENTITY_FOR_ACTOR[actor_type]
        list_fields = {meta.key for meta in erp_fields if meta.list_name == name}
        for row in rules.auto_map([meta for meta in erp_fields if meta.key in list_fields], entity):
            crm = CRM_FIELDS[entity].get(row.crm_field or "")
            if crm is not None and crm.list_name is not None:
                return crm.list_name
    return None


# --- defaults and ranks -----------------------------------------------------------------------------------------------


class DefaultsView(BaseModel):
    actor_type: m.ActorType
    defaults: dict[str, FieldDefault] = Field(description="mandatory is on where the connector requires the field")
    fields: list[m.FieldMeta] = Field(description="the ERP fields that can be given a default")


def defaults_view(
    actor_type: m.ActorType, defaults: Mapping[str, FieldDefault], erp_fields: Sequence[m.FieldMeta]
) -> DefaultsView:
    return DefaultsView(actor_type=actor_type, defaults=dict(defaults), fields=settable_fields(erp_fields))


def settable_fields(erp_fields: Sequence[m.FieldMeta]) -> list[m.FieldMeta]:
    """The ERP fields a create default can give a value to (not read-only, labels or passwords)."""
    return [
        meta
        for meta in erp_fields
        if not rules.is_read_only(meta) and meta.type not in (m.FieldType.LABEL, m.FieldType.PASSWORD)
    ]


class RanksView(BaseModel):
    order: list[str] = Field(description="every ERP field of the mapping, first shown first")
    labels: dict[str, str]


def ranks_view(mapping: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> RanksView:
    labels = {meta.key: meta.label for meta in erp_fields}
    order = [row.erp_field for row in mapping.fields]
    return RanksView(order=order, labels={key: labels.get(key, key) for key in order})
