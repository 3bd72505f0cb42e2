"""Bodies of the ERP tab (SPEC §9): ``/{companies|persons|projects}/{id}/erp`` and its per-connection operations."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.sync import erp_tab
from erpsync.sync.merge import Side

_Key = Annotated[str, Field(min_length=1, max_length=255)]
_Display = Annotated[
    str | bool,
    Field(
        description="how the value reads: text, a list value by its ERP label, or a checkbox as true/false "
        "(for the client to word in its user's language); empty when blank"
    ),
]


class EntityCollection(StrEnum):
    """The CRM collections that have an ERP tab."""

    COMPANIES = "companies"
    PERSONS = "persons"
    PROJECTS = "projects"

    @property
    def entity_type(self) -> EntityType:
        return _ENTITY_TYPES[self]


_ENTITY_TYPES = {
    EntityCollection.COMPANIES: EntityType.COMPANY,
    EntityCollection.PERSONS: EntityType.PERSON,
    EntityCollection.PROJECTS: EntityType.PROJECT,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- sections -------------------------------------------------------------------------------------------------------


class LinkPublic(BaseModel):
    actor_type: m.ActorType
    erp_key: str
    state: str
    last_sync_at: dt.datetime | None
    last_error: str | None


class FieldValuePublic(BaseModel):
    key: str
    label: str
    value: m.Value
    display: _Display


class SectionPublic(BaseModel):
    connection_id: int
    connection_name: str
    actor_types: list[m.ActorType]
    link: LinkPublic | None
    fields: list[FieldValuePublic]
    error: str | None = Field(description="why the live fields could not be read (the connector's message)")


class SectionsPublic(BaseModel):
    sections: list[SectionPublic]


def link_public(link: erp_tab.LinkView) -> LinkPublic:
    return LinkPublic(
        actor_type=link.actor_type,
        erp_key=link.erp_key,
        state=link.state,
        last_sync_at=link.last_sync_at,
        last_error=link.last_error,
    )


def _fields_public(fields: list[erp_tab.FieldValue]) -> list[FieldValuePublic]:
    return [FieldValuePublic(**asdict(value)) for value in fields]


def sections_public(sections: list[erp_tab.Section]) -> SectionsPublic:
    return SectionsPublic(
        sections=[
            SectionPublic(
                connection_id=section.connection_id,
                connection_name=section.connection_name,
                actor_types=section.actor_types,
                link=link_public(section.link) if section.link else None,
                fields=_fields_public(section.fields),
                error=section.error,
            )
            for section in sections
        ]
    )


# --- search ---------------------------------------------------------------------------------------------------------


class RestrictionBody(_Strict):
    """A search criterion (SPEC §6.4); the operator is checked against the field's type by the service."""

    field: _Key
    operator: Annotated[str, Field(min_length=1, max_length=32)]
    values: list[m.Value] = Field(default_factory=list, max_length=m.MAX_KEYS)


class SearchBody(_Strict):
    """Simple search: ``text`` (left out: the entity's name); advanced: ``restrictions``."""

    actor_type: m.ActorType
    text: str | None = Field(default=None, max_length=1000)
    restrictions: list[RestrictionBody] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_kind(self) -> SearchBody:
        if self.text is not None and self.restrictions is not None:
            raise ValueError("give text (simple search) or restrictions (advanced search), not both")
        return self

    def restriction_inputs(self) -> list[erp_tab.RestrictionInput] | None:
        if self.restrictions is None:
            return None
        return [erp_tab.RestrictionInput(r.field, r.operator, list(r.values)) for r in self.restrictions]


class HitPublic(BaseModel):
    erp_key: str
    actor_type: m.ActorType
    fields: list[FieldValuePublic]
    linked: bool = Field(description="the actor is linked to a CRM entity in this connection already")


def hits_public(hits: list[erp_tab.Hit]) -> list[HitPublic]:
    return [
        HitPublic(erp_key=h.erp_key, actor_type=h.actor_type, fields=_fields_public(h.fields), linked=h.linked)
        for h in hits
    ]


# --- compare and connect --------------------------------------------------------------------------------------------


class ComparisonPublic(BaseModel):
    erp_field: str
    label: str
    crm_field: str
    direction: str
    crm: m.Value
    erp: m.Value
    crm_display: _Display
    erp_display: _Display
    differ: bool
    choice_needed: bool
    problem: str | None


def comparisons_public(comparisons: list[erp_tab.FieldComparison]) -> list[ComparisonPublic]:
    return [ComparisonPublic(**asdict(c)) for c in comparisons]


class ConnectBody(_Strict):
    actor_type: m.ActorType
    erp_key: _Key
    winners: dict[_Key, Side] = Field(default_factory=dict, description="per CRM field: which side's value wins")


class LinkedPublic(BaseModel):
    """What connect or create did: the link, the fields written per side (CRM keys, ERP keys), values that did not
    cross."""

    link: LinkPublic
    changed: dict[str, list[str]]
    errors: list[dict[str, Any]]


def linked_public(linked: erp_tab.Linked) -> LinkedPublic:
    return LinkedPublic(
        link=link_public(linked.link),
        changed={"crm": linked.changed_crm, "erp": linked.changed_erp},
        errors=[{"field": p.field, "message": p.message} for p in linked.errors],
    )


# --- create ---------------------------------------------------------------------------------------------------------


class PromptPublic(BaseModel):
    key: str
    label: str
    type: m.FieldType
    items: list[m.ListItem]
    value: m.Value
    mandatory: bool


def prompts_public(prompts: list[erp_tab.Prompt]) -> list[PromptPublic]:
    return [
        PromptPublic(key=p.key, label=p.label, type=p.type, items=p.items, value=p.value, mandatory=p.mandatory)
        for p in prompts
    ]


class CreateBody(_Strict):
    actor_type: m.ActorType
    values: dict[_Key, m.Value] = Field(default_factory=dict, description="answers to the defaults that ask the user")
