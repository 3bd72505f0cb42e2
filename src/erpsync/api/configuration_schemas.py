"""Request and response bodies of a connection's sync configuration (SPEC §4 *Configure*, §9).

Responses carry what a configure screen renders: each mapping row with its ERP field's label and type, the CRM fields
it may pair with and whether the connector still reports it; each list mapping with the items of both lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ListItem
from erpsync.sync import mapping as rules
from erpsync.sync.configuration import list_mapping_names
from erpsync.sync.mapping import ActorTypeMapping, ConnectionConfig, FieldDefault, FieldMapping, ListMapping, Problem
from erpsync.sync.merge import Direction, Policy

_Key = Field(min_length=1, max_length=255)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- problems ---------------------------------------------------------------------------------------------------------


class ProblemPublic(BaseModel):
    """One reason a save or an activation is refused; ``loc`` is the actor type or list, then the field."""

    loc: list[str]
    msg: str
    type: str = "configuration"


def problem_public(problem: Problem) -> ProblemPublic:
    return ProblemPublic(loc=[part for part in (problem.scope, problem.field) if part], msg=problem.message)


# --- field mappings ---------------------------------------------------------------------------------------------------


class FieldRowBody(Strict):
    erp_field: str = _Key
    crm_field: str | None = Field(default=None, max_length=64)
    direction: Direction = Direction.NONE
    show_in_search: bool = False
    show_in_tab: bool = False
    policy: Policy | None = Field(default=None, description="overrides the connection's conflict policy")


class MappingBody(Strict):
    active: bool = False
    fields: list[FieldRowBody] = Field(default_factory=list, max_length=1000)

    def to_mapping(self, actor_type: m.ActorType) -> ActorTypeMapping:
        rows = tuple(FieldMapping(**row.model_dump()) for row in self.fields)
        return ActorTypeMapping(actor_type=actor_type, active=self.active, fields=rows)


class FieldRowPublic(FieldRowBody):
    model_config = ConfigDict(extra="ignore")

    rank: int
    label: str
    type: m.FieldType | None = Field(description="None for a field the connector no longer reports")
    list_name: str | None
    read_only: bool
    missing_in_erp: bool
    compatible_crm_fields: list[str]


class MappingPublic(BaseModel):
    actor_type: m.ActorType
    entity: str
    active: bool
    fields: list[FieldRowPublic]


def mapping_public(mapping: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> MappingPublic:
    """One row per mapped field (those missing in the ERP flagged), then one per ERP field not mapped yet."""
    metas = {meta.key: meta for meta in erp_fields}
    unmapped = [meta for meta in erp_fields if meta.key not in {row.erp_field for row in mapping.fields}]
    rows = [*mapping.fields, *(FieldMapping(erp_field=meta.key, rank=meta.rank) for meta in unmapped)]
    entity = rules.ENTITY_FOR_ACTOR[mapping.actor_type]
    return MappingPublic(
        actor_type=mapping.actor_type,
        entity=entity.value,
        active=mapping.active,
        fields=[_row_public(row, metas.get(row.erp_field), entity) for row in rows],
    )


def _row_public(row: FieldMapping, meta: m.FieldMeta | None, entity: EntityType) -> FieldRowPublic:
    return FieldRowPublic(
        **row.model_dump(),
        label=meta.label if meta else row.erp_field,
        type=meta.type if meta else None,
        list_name=meta.list_name if meta else None,
        read_only=rules.is_read_only(meta) if meta else True,
        missing_in_erp=meta is None,
        compatible_crm_fields=[crm.key for crm in rules.compatible_crm_fields(meta, entity)] if meta else [],
    )


# --- list mappings ----------------------------------------------------------------------------------------------------


class ListMappingBody(Strict):
    crm_list: CrmList
    items: dict[str, int | None] = Field(
        default_factory=dict, max_length=10_000, description="ERP item key -> CRM item id, or null for no selection"
    )


class ListMappingsBody(Strict):
    lists: dict[str, ListMappingBody] = Field(default_factory=dict, max_length=200, description="by ERP list name")

    def to_list_mappings(self) -> dict[str, ListMapping]:
        return {
            name: ListMapping(list_name=name, crm_list=body.crm_list, items=body.items)
            for name, body in self.lists.items()
        }


class CrmItemPublic(BaseModel):
    id: int
    label: str


class ListMappingPublic(BaseModel):
    crm_list: CrmList | None = Field(description="saved, else the list of the CRM field a mapped row pairs with")
    saved: bool
    items: dict[str, int | None]
    erp_items: list[m.ListItem]
    crm_items: list[CrmItemPublic]


class ListMappingsPublic(BaseModel):
    lists: dict[str, ListMappingPublic]


def list_mappings_public(
    config: ConnectionConfig,
    offered: Mapping[m.ActorType, Sequence[m.FieldMeta]],
    *,
    erp_lists: Mapping[str, Sequence[m.ListItem]],
    crm_items: Mapping[CrmList, Sequence[ListItem]],
) -> ListMappingsPublic:
    """One entry per list a synced list field uses, and per saved list mapping."""
    lists = {}
    for name in sorted(list_mapping_names(config, offered)):
        saved = config.list_mappings.get(name)
        crm_list = saved.crm_list if saved else _paired_crm_list(config, offered, name)
        lists[name] = ListMappingPublic(
            crm_list=crm_list,
            saved=saved is not None,
            items=dict(saved.items) if saved else {},
            erp_items=list(erp_lists.get(name, [])),
            crm_items=[CrmItemPublic(id=i.id, label=i.label) for i in crm_items.get(crm_list, [])] if crm_list else [],
        )
    return ListMappingsPublic(lists=lists)


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


# --- defaults, ranks, policy, priority, activation --------------------------------------------------------------------


class DefaultsBody(Strict):
    defaults: dict[str, FieldDefault] = Field(default_factory=dict, max_length=1000, description="by ERP field key")


class DefaultsPublic(BaseModel):
    actor_type: m.ActorType
    defaults: dict[str, FieldDefault] = Field(description="mandatory is on where the connector requires the field")
    fields: list[m.FieldMeta] = Field(description="the ERP fields that can be given a default")


def defaults_public(
    actor_type: m.ActorType, defaults: Mapping[str, FieldDefault], erp_fields: Sequence[m.FieldMeta]
) -> DefaultsPublic:
    settable = [
        meta
        for meta in erp_fields
        if not rules.is_read_only(meta) and meta.type not in (m.FieldType.LABEL, m.FieldType.PASSWORD)
    ]
    return DefaultsPublic(actor_type=actor_type, defaults=dict(defaults), fields=settable)


class RanksBody(Strict):
    order: list[str] = Field(max_length=1000, description="every ERP field of the mapping, first shown first")


class RanksPublic(RanksBody):
    labels: dict[str, str]


def ranks_public(mapping: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> RanksPublic:
    labels = {meta.key: meta.label for meta in erp_fields}
    order = [row.erp_field for row in mapping.fields]
    return RanksPublic(order=order, labels={key: labels.get(key, key) for key in order})


class PolicyBody(Strict):
    policy: Policy = Policy.NEWEST
    no_blank_overwrite: bool = False


class PriorityBody(Strict):
    connection_ids: list[int] = Field(max_length=10_000, description="every live connection, served first first")


class PriorityEntry(BaseModel):
    id: int
    name: str
    active: bool


class PriorityPublic(PriorityBody):
    connections: list[PriorityEntry]


def priority_public(connections: Sequence[ErpConnection]) -> PriorityPublic:
    return PriorityPublic(
        connection_ids=[c.id for c in connections],
        connections=[PriorityEntry(id=c.id, name=c.name, active=c.active) for c in connections],
    )


class ActivationPublic(BaseModel):
    id: int
    active: bool
