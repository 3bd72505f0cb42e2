"""The pydantic ladder per CRM entity (``XCreate``, ``XUpdate``, ``XPublic``) and for list items.

Field names are the catalogue's ``CrmField.attr``; lengths come from the catalogue too. ``erpsync.crm.validation``
checks the same rules again for writes that do not come through the API (the sync engine).

Public names: ``CompanyCreate``, ``CompanyUpdate``, ``CompanyPublic``, ``PersonCreate``, ``PersonUpdate``,
``PersonPublic``, ``ProjectCreate``, ``ProjectUpdate``, ``ProjectPublic``, ``Page``, ``ListItemCreate``,
``ListItemUpdate``, ``ListItemPublic``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.crm.lists import MAX_LABEL_LENGTH

_C = EntityType.COMPANY
_P = EntityType.PERSON
_J = EntityType.PROJECT


def _text(entity: EntityType, key: str) -> Any:
    return Field(default=None, max_length=CRM_FIELDS[entity][key].max_length)


def _name(entity: EntityType) -> Any:
    return Field(min_length=1, max_length=CRM_FIELDS[entity]["NAME"].max_length)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: dt.datetime
    change_seq: int
    changed_by: str


class CompanyFields(BaseModel):
    department: str | None = _text(_C, "DEPARTMENT")
    number1: str | None = _text(_C, "NUMBER1")
    number2: str | None = _text(_C, "NUMBER2")
    vat_number: str | None = _text(_C, "VATNO")
    phone: str | None = _text(_C, "PHONE")
    fax: str | None = _text(_C, "FAX")
    email: str | None = _text(_C, "EMAIL")
    url: str | None = _text(_C, "URL")
    postal_address1: str | None = _text(_C, "POSTALAD1")
    postal_address2: str | None = _text(_C, "POSTALAD2")
    postal_address3: str | None = _text(_C, "POSTALAD3")
    postal_zip: str | None = _text(_C, "POSTALZIP")
    postal_city: str | None = _text(_C, "POSTALCITY")
    postal_county: str | None = _text(_C, "POSTALCOUNTY")
    postal_state: str | None = _text(_C, "POSTALSTATE")
    street_address1: str | None = _text(_C, "STREETAD1")
    street_address2: str | None = _text(_C, "STREETAD2")
    street_address3: str | None = _text(_C, "STREETAD3")
    street_zip: str | None = _text(_C, "STREETZIP")
    street_city: str | None = _text(_C, "STREETCITY")
    street_county: str | None = _text(_C, "STREETCOUNTY")
    street_state: str | None = _text(_C, "STREETSTATE")
    country_id: int | None = None
    business_id: int | None = None
    category_id: int | None = None


class CompanyCreate(CompanyFields, _Input):
    name: str = _name(_C)
    active: bool = True


class CompanyUpdate(CompanyFields, _Input):
    name: str | None = Field(default=None, min_length=1, max_length=CRM_FIELDS[_C]["NAME"].max_length)
    active: bool | None = None  # left out: unchanged; null is refused


class CompanyPublic(CompanyFields, _Output):
    name: str
    active: bool


class PersonFields(BaseModel):
    company_id: int | None = None
    first_name: str | None = _text(_P, "FIRSTNAME")
    middle_name: str | None = _text(_P, "MIDDLENAME")
    last_name: str | None = _text(_P, "LASTNAME")
    title: str | None = _text(_P, "TITLE")
    position: str | None = _text(_P, "POSITION")
    number: str | None = _text(_P, "NUMBER")
    phone_direct: str | None = _text(_P, "PHONE_DIRECT")
    phone_private: str | None = _text(_P, "PHONE_PRIVATE")
    phone_mobile: str | None = _text(_P, "PHONE_MOBILE")
    phone_other: str | None = _text(_P, "PHONE_OTHER")
    email: str | None = _text(_P, "EMAIL")
    url: str | None = _text(_P, "URL")
    birth_date: dt.date | None = None
    postal_address1: str | None = _text(_P, "POSTALAD1")
    postal_address2: str | None = _text(_P, "POSTALAD2")
    postal_address3: str | None = _text(_P, "POSTALAD3")
    postal_zip: str | None = _text(_P, "POSTALZIP")
    postal_city: str | None = _text(_P, "POSTALCITY")
    country_id: int | None = None


class PersonCreate(PersonFields, _Input):
    active: bool = True


class PersonUpdate(PersonFields, _Input):
    active: bool | None = None  # left out: unchanged; null is refused


class PersonPublic(PersonFields, _Output):
    active: bool


class ProjectFields(BaseModel):
    text: str | None = _text(_J, "TEXT")
    number: str | None = _text(_J, "NUMBER")
    url: str | None = _text(_J, "URL")
    end_date: dt.date | None = None
    status_id: int | None = None


class ProjectCreate(ProjectFields, _Input):
    name: str = _name(_J)
    active: bool = True


class ProjectUpdate(ProjectFields, _Input):
    name: str | None = Field(default=None, min_length=1, max_length=CRM_FIELDS[_J]["NAME"].max_length)
    active: bool | None = None  # left out: unchanged; null is refused


class ProjectPublic(ProjectFields, _Output):
    name: str
    active: bool


ItemT = TypeVar("ItemT", bound=BaseModel)


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int


class ListItemCreate(_Input):
    label: str = Field(min_length=1, max_length=MAX_LABEL_LENGTH)
    rank: int | None = None


class ListItemUpdate(_Input):
    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL_LENGTH)
    rank: int | None = None
    deleted: bool | None = None


class ListItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    list_name: str
    label: str
    rank: int
    deleted: bool


class MergeRequest(_Input):
    """Merge ``other_id`` into the record addressed: per attribute, whose value survives (``survivor`` or ``other``);
    an attribute not named keeps the survivor's value, or the other's when the survivor's is blank."""

    other_id: int
    values: dict[str, Literal["survivor", "other"]] = Field(default_factory=dict)
