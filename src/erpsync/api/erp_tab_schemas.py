"""Bodies of the ERP tab (SPEC §9): ``/{companies|persons|projects}/{id}/erp`` and its per-connection operations. The
answers are the service's views (``erpsync.sync.erp_tab.views``), shared with the web pages."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.sync import erp_tab
from erpsync.sync.merge import Side

_Key = Annotated[str, Field(min_length=1, max_length=255)]


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


class SectionsPublic(BaseModel):
    sections: list[erp_tab.Section]


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


# --- compare and connect --------------------------------------------------------------------------------------------


class ConnectBody(_Strict):
    actor_type: m.ActorType
    erp_key: _Key
    winners: dict[_Key, Side] = Field(default_factory=dict, description="per CRM field: which side's value wins")


# --- create ---------------------------------------------------------------------------------------------------------


class CreateBody(_Strict):
    actor_type: m.ActorType
    values: dict[_Key, m.Value] = Field(default_factory=dict, description="answers to the defaults that ask the user")
    update_crm: list[_Key] = Field(
        default_factory=list,
        max_length=200,
        description="answers that also update the CRM record; any other answer that differs from the record's value "
        "goes to the ERP only",
    )
