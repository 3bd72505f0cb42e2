"""The company, person and project forms: which fields, which widget, and form text -> checked attributes.

Fields come from the CRM's field catalogue (``erpsync.crm.fields``); values are checked by the API's own schemas
(``erpsync.crm.schemas``) and then by the CRM service, and every problem is reported against its field.

Public names: ``FormField``, ``ENTITY_BY_SEGMENT``, ``SEGMENT_BY_ENTITY``, ``LIST_COLUMNS``, ``form_fields``,
``choices``, ``attrs_from_form``, ``title_of``, ``display_value``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as SchemaError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm import lists, schemas
from erpsync.crm.fields import CRM_FIELDS, CrmFieldType, CrmList, EntityType
from erpsync.crm.validation import REQUIRED_ATTRS
from erpsync.storage.tables import Company, CrmEntity, Person
from erpsync.web.i18n import Translator

ENTITY_BY_SEGMENT = {"companies": EntityType.COMPANY, "persons": EntityType.PERSON, "projects": EntityType.PROJECT}
SEGMENT_BY_ENTITY = {entity: segment for segment, entity in ENTITY_BY_SEGMENT.items()}

LIST_COLUMNS: dict[EntityType, tuple[str, ...]] = {
    EntityType.COMPANY: ("number2", "phone", "email", "postal_city"),
    EntityType.PERSON: ("company_id", "email", "phone_mobile"),
    EntityType.PROJECT: ("number", "end_date", "status_id"),
}
"""The attributes shown as columns of each list page, after the name (``title_of``)."""

_SCHEMAS: dict[EntityType, tuple[type[BaseModel], type[BaseModel]]] = {
    EntityType.COMPANY: (schemas.CompanyCreate, schemas.CompanyUpdate),
    EntityType.PERSON: (schemas.PersonCreate, schemas.PersonUpdate),
    EntityType.PROJECT: (schemas.ProjectCreate, schemas.ProjectUpdate),
}
_LONG_TEXT = 1000  # longer text fields get a text area
_CHECKED = ("on", "true", "True")  # a ticked checkbox posts "on"; an unticked one posts nothing
SHOWN = ".shown"
"""The suffix of the hidden marker a form posts beside each checkbox it shows."""
_COMPANY_CHOICES = 1000  # a person's company picker lists at most this many companies


@dataclass(frozen=True)
class FormField:
    attr: str
    widget: str  # text, email, url, textarea, date, list (a CRM list), company (a person's company), checkbox
    required: bool = False
    max_length: int | None = None
    list_name: CrmList | None = None


def _widget(attr: str, kind: CrmFieldType, max_length: int) -> str:
    if kind is CrmFieldType.CHECKBOX:
        return "checkbox"
    if kind is CrmFieldType.DATE:
        return "date"
    if kind is CrmFieldType.LIST:
        return "list"
    if attr in ("email", "url"):
        return attr
    return "textarea" if max_length > _LONG_TEXT else "text"


def form_fields(entity_type: EntityType) -> list[FormField]:
    fields = [
        FormField(
            attr=field.attr,
            widget=_widget(field.attr, field.type, field.max_length),
            required=field.attr in REQUIRED_ATTRS[entity_type],
            max_length=field.max_length if field.type is CrmFieldType.TEXT else None,
            list_name=field.list_name,
        )
        for field in CRM_FIELDS[entity_type].values()
    ]
    if entity_type is EntityType.PERSON:
        fields.insert(0, FormField(attr="company_id", widget="company"))
    return fields


def choices(session: Session, entity_type: EntityType) -> dict[str, list[tuple[int, str]]]:
    """The options of each dropdown of the form: list items by label, companies by name."""
    options: dict[str, list[tuple[int, str]]] = {}
    for field in form_fields(entity_type):
        if field.list_name is not None:
            options[field.attr] = [(item.id, item.label) for item in lists.list_items(session, field.list_name)]
        elif field.widget == "company":
            rows = session.execute(select(Company.id, Company.name).order_by(Company.name).limit(_COMPANY_CHOICES))
            options[field.attr] = [(row.id, row.name) for row in rows]
    return options


def _message(t: Translator, error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("missing", "string_too_short") or error.get("input") is None:
        return t("error.required")
    if kind == "string_too_long":
        return t("error.too_long", max=error.get("ctx", {}).get("max_length", ""))
    if kind.startswith("date"):
        return t("error.date")
    return t("error.invalid")


def attrs_from_form(
    t: Translator, entity_type: EntityType, form: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The attributes to write (blank fields clear their value) and the problems per field, in the UI's language. A
    checkbox counts only where the form showed it (its ``<attr>.shown`` marker: an unticked box posts nothing), so a
    form without it leaves the value alone (a new record is active)."""
    fields = form_fields(entity_type)
    values: dict[str, Any] = {
        field.attr: str(form.get(field.attr) or "").strip() or None for field in fields if field.widget != "checkbox"
    }
    shown = [field.attr for field in fields if field.widget == "checkbox" and f"{field.attr}{SHOWN}" in form]
    values |= {attr: form.get(attr) in _CHECKED for attr in shown}
    schema = _SCHEMAS[entity_type][0 if creating else 1]
    try:
        checked = schema.model_validate(values)
    except SchemaError as exc:
        return {}, {str(error["loc"][0]): _message(t, error) for error in exc.errors()}
    attrs: dict[str, Any] = checked.model_dump(include=set(values))
    return attrs, {}


def title_of(entity: CrmEntity) -> str:
    if isinstance(entity, Person):
        return " ".join(part for part in (entity.first_name, entity.last_name) if part) or f"#{entity.id}"
    name: str = getattr(entity, "name", "")
    return name


def display_value(value: Any, attr: str, options: Mapping[str, list[tuple[int, str]]]) -> str:
    """A stored value as the user reads it: list items and companies by their label."""
    if value is None:
        return ""
    if attr in options:
        return next((label for item_id, label in options[attr] if item_id == value), str(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
