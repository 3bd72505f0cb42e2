"""What the ERP tab shows (SPEC §5.1), for the API's answers and the web pages alike: per connection a section with
the entity's link and its live ERP fields, search hits, the connect dialog's comparison, the create dialog's prompts
and what connect or create did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink
from erpsync.sync.mapping import Problem
from erpsync.sync.merge import Direction

Display = str | bool
"""A value as it reads: text (a list item by its ERP label), or a checkbox's bool, which the caller words in its
user's language."""

_DISPLAY_DESCRIPTION = (
    "how the value reads: text, a list value by its ERP label, or a checkbox as true/false "
    "(for the client to word in its user's language); empty when blank"
)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class LinkView(_View):
    """The entity's link in one connection."""

    id: int = Field(exclude=True)  # the service's handle on the link; not part of an answer
    actor_type: m.ActorType
    erp_key: str
    state: str
    last_sync_at: dt.datetime | None
    last_error: str | None

    @classmethod
    def of(cls, link: ErpLink) -> LinkView:
        return cls(
            id=link.id,
            actor_type=m.ActorType(link.actor_type),
            erp_key=link.erp_key,
            state=link.state,
            last_sync_at=link.last_sync_at,
            last_error=link.last_error,
        )


class FieldValue(_View):
    """An ERP field as shown: its raw value and how it reads (``Display``)."""

    key: str
    label: str
    value: m.Value
    display: Display = Field(description=_DISPLAY_DESCRIPTION)
    type: m.FieldType | None = Field(default=None, exclude=True, description="for pages that write dates, numbers")


class Section(_View):
    connection_id: int
    connection_name: str
    actor_types: list[m.ActorType]
    link: LinkView | None
    fields: list[FieldValue]
    error: str | None = Field(
        default=None, description="why the live fields could not be read (the connector's message)"
    )
    unavailable: bool = Field(default=False, exclude=True)
    """The error is the connector's bulkhead refusing: it is not answering or is full (the web words it)."""


class Hit(_View):
    erp_key: str
    actor_type: m.ActorType
    fields: list[FieldValue]
    linked: bool = Field(description="the actor is linked to a CRM entity in this connection already")


class FieldComparison(_View):
    """One synced field in the connect dialog: both sides' values (in ERP terms) and whether the user must choose."""

    erp_field: str
    label: str
    crm_field: str
    direction: Direction
    crm: m.Value
    erp: m.Value
    crm_display: Display = Field(description=_DISPLAY_DESCRIPTION)
    erp_display: Display = Field(description=_DISPLAY_DESCRIPTION)
    differ: bool
    choice_needed: bool
    problem: str | None


class Prompt(_View):
    """A create default that asks the user."""

    key: str
    label: str
    type: m.FieldType
    items: list[m.ListItem]
    value: m.Value
    mandatory: bool
    from_record: bool = False
    """``value`` is the CRM record's: the dialog offers to update the CRM too when the user changes it."""


class ValueProblem(_View):
    """A value that could not cross to the other side."""

    field: str
    message: str


class Linked(_View):
    """What connect or create did: the link, the fields written per side (``crm``: CRM keys, ``erp``: ERP keys),
    values that did not cross."""

    link: LinkView
    changed: dict[str, list[str]]
    errors: list[ValueProblem]


def linked(link: LinkView, changed_crm: list[str], changed_erp: list[str], problems: Sequence[Problem]) -> Linked:
    return Linked(
        link=link,
        changed={"crm": changed_crm, "erp": changed_erp},
        errors=[ValueProblem(field=problem.field, message=problem.message) for problem in problems],
    )
