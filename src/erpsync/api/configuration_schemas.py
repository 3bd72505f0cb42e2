"""Request bodies of a connection's sync configuration (SPEC §4 *Configure*, §9), and the answers that are the API's
own (problems, priority, activation). The mapping, list mapping, defaults and ranks answers are the configure screens'
views (``erpsync.sync.configuration_views``), shared with the web pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from erpsync.crm.fields import CrmList
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.sync.mapping import (
    ActorTypeMapping,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    ListMapping,
    Problem,
)
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
    erp_delete: ErpDeletePolicy = Field(default=ErpDeletePolicy.KEEP, description="what an ERP deletion does")
    crm_delete: CrmDeletePolicy = Field(default=CrmDeletePolicy.UNLINK, description="what a CRM deletion does")

    def to_mapping(self, actor_type: m.ActorType) -> ActorTypeMapping:
        rows = tuple(FieldMapping(**row.model_dump()) for row in self.fields)
        return ActorTypeMapping(
            actor_type=actor_type,
            active=self.active,
            fields=rows,
            erp_delete=self.erp_delete,
            crm_delete=self.crm_delete,
        )


class DeletePreviewPublic(BaseModel):
    """What an ERP-deletion policy would do to today's data, computed without writing: the broken links whose ERP
    actor is deleted or missing (their CRM record still there), and how many CRM records it would delete or
    deactivate."""

    erp_delete: ErpDeletePolicy
    broken: int
    deleted: int
    deactivated: int


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


# --- defaults, ranks, policy, priority, activation --------------------------------------------------------------------


class DefaultsBody(Strict):
    defaults: dict[str, FieldDefault] = Field(default_factory=dict, max_length=1000, description="by ERP field key")


class RanksBody(Strict):
    order: list[str] = Field(max_length=1000, description="every ERP field of the mapping, first shown first")


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
