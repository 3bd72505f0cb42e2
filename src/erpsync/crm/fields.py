"""The catalogue of CRM fields that mappings can use (SPEC §3): key, model attribute, type, list, length."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    COMPANY = "company"
    PERSON = "person"
    PROJECT = "project"


class CrmFieldType(StrEnum):
    TEXT = "text"
    DATE = "date"  # ISO 8601 date string
    LIST = "list"  # a list item id of ``list_name``
    CHECKBOX = "checkbox"  # true or false, never blank


class CrmList(StrEnum):
    COUNTRY = "country"
    BUSINESS = "business"
    CATEGORY = "category"
    PROJECT_STATUS = "project_status"


@dataclass(frozen=True)
class CrmField:
    key: str  # upper-case mapping key, e.g. ``POSTALAD1``
    attr: str  # attribute/column of the entity, e.g. ``postal_address1``
    type: CrmFieldType = CrmFieldType.TEXT
    list_name: CrmList | None = None
    max_length: int = 255


def _text(key: str, attr: str, max_length: int = 255) -> CrmField:
    return CrmField(key, attr, CrmFieldType.TEXT, None, max_length)


def _list(key: str, attr: str, list_name: CrmList) -> CrmField:
    return CrmField(key, attr, CrmFieldType.LIST, list_name)


ACTIVE = CrmField("ACTIVE", "active", CrmFieldType.CHECKBOX)
"""Every entity's active flag (docs/concepts.md *Active and inactive records*): an inactive record stays, with its
links, but searches leave it out unless asked; an ERP deletion under the ``deactivate`` policy clears it."""


def _address(prefix: str, attr_prefix: str, *, with_county_state: bool = True) -> list[CrmField]:
    fields = [_text(f"{prefix}AD{i}", f"{attr_prefix}_address{i}") for i in (1, 2, 3)]
    fields += [_text(f"{prefix}ZIP", f"{attr_prefix}_zip", 32), _text(f"{prefix}CITY", f"{attr_prefix}_city")]
    if with_county_state:
        fields += [_text(f"{prefix}COUNTY", f"{attr_prefix}_county"), _text(f"{prefix}STATE", f"{attr_prefix}_state")]
    return fields


_COMPANY = [
    _text("NAME", "name"),
    _text("DEPARTMENT", "department"),
    _text("NUMBER1", "number1", 64),
    _text("NUMBER2", "number2", 64),
    _text("VATNO", "vat_number", 64),
    _text("PHONE", "phone", 64),
    _text("FAX", "fax", 64),
    _text("EMAIL", "email"),
    _text("URL", "url", 1000),
    *_address("POSTAL", "postal"),
    *_address("STREET", "street"),
    _list("COUNTRY", "country_id", CrmList.COUNTRY),
    _list("BUSINESS", "business_id", CrmList.BUSINESS),
    _list("CATEGORY", "category_id", CrmList.CATEGORY),
    ACTIVE,
]

_PERSON = [
    _text("FIRSTNAME", "first_name"),
    _text("MIDDLENAME", "middle_name"),
    _text("LASTNAME", "last_name"),
    _text("TITLE", "title"),
    _text("POSITION", "position"),
    _text("NUMBER", "number", 64),
    _text("PHONE_DIRECT", "phone_direct", 64),
    _text("PHONE_PRIVATE", "phone_private", 64),
    _text("PHONE_MOBILE", "phone_mobile", 64),
    _text("PHONE_OTHER", "phone_other", 64),
    _text("EMAIL", "email"),
    _text("URL", "url", 1000),
    CrmField("BIRTHDATE", "birth_date", CrmFieldType.DATE),
    *_address("POSTAL", "postal", with_county_state=False),
    _list("POSTALCOUNTRY", "country_id", CrmList.COUNTRY),
    ACTIVE,
]

_PROJECT = [
    _text("NAME", "name"),
    _text("TEXT", "text", 10_000),
    _text("NUMBER", "number", 64),
    _text("URL", "url", 1000),
    CrmField("ENDDATE", "end_date", CrmFieldType.DATE),
    _list("STATUS", "status_id", CrmList.PROJECT_STATUS),
    ACTIVE,
]

CRM_FIELDS: dict[EntityType, dict[str, CrmField]] = {
    EntityType.COMPANY: {f.key: f for f in _COMPANY},
    EntityType.PERSON: {f.key: f for f in _PERSON},
    EntityType.PROJECT: {f.key: f for f in _PROJECT},
}
"""Mapping keys per entity type, in display order."""
