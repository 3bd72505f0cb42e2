"""Checks every value written to a CRM entity against the field catalogue: types, lengths, list ids, ISO dates.

Public names: ``clean_attrs(session, entity_type, attrs)``, ``field_for_attr(entity_type, attr)``, ``REQUIRED_ATTRS``,
``EXTRA_ATTRS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS, CrmField, CrmFieldType, EntityType
from erpsync.storage.tables import Company, ListItem
from erpsync.text import NUL, NUL_REFUSED

REQUIRED_ATTRS: dict[EntityType, frozenset[str]] = {
    EntityType.COMPANY: frozenset({"name"}),
    EntityType.PERSON: frozenset(),
    EntityType.PROJECT: frozenset({"name"}),
}
"""Attributes that may not be empty."""

EXTRA_ATTRS: dict[EntityType, frozenset[str]] = {
    EntityType.COMPANY: frozenset(),
    EntityType.PERSON: frozenset({"company_id"}),
    EntityType.PROJECT: frozenset(),
}
"""Writable attributes that are not mapping fields (a person's company is the ERP person's parent, not a field)."""

_BY_ATTR: dict[EntityType, dict[str, CrmField]] = {
    entity: {field.attr: field for field in fields.values()} for entity, fields in CRM_FIELDS.items()
}


def field_for_attr(entity_type: EntityType, attr: str) -> CrmField | None:
    return _BY_ATTR[entity_type].get(attr)


def _clean_text(field: CrmField, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidFieldError(field.attr, "must be a string", key=field.key)
    if NUL in value:
        raise InvalidFieldError(field.attr, NUL_REFUSED, key=field.key)
    if len(value) > field.max_length:
        raise InvalidFieldError(field.attr, f"longer than {field.max_length} characters", key=field.key)
    return value


def _clean_date(field: CrmField, value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidFieldError(field.attr, "must be an ISO 8601 date (YYYY-MM-DD)", key=field.key)


def _clean_list_item(session: Session, field: CrmField, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFieldError(field.attr, f"must be the id of an item of the {field.list_name} list", key=field.key)
    kept = session.info.get(_KEPT_LIST_ITEMS)
    item = kept.get(value) if kept is not None else None
    item = item if item is not None else _list_item(session, value)
    if item is None or item.deleted or item.list_name != field.list_name:
        raise InvalidFieldError(field.attr, f"no item {value} in the {field.list_name} list", key=field.key)
    return value


_KEPT_LIST_ITEMS = "erpsync_kept_list_items"


def _list_item(session: Session, item_id: int) -> ListItem | None:
    """The item, read once per session: the identity map holds objects weakly, so without a reference of our own a
    page of records naming the same few items would read them again for every record."""
    item = session.get(ListItem, item_id)
    if item is not None:
        session.info.setdefault(_KEPT_LIST_ITEMS, {})[item_id] = item
    return item


def _clean_checkbox(field: CrmField, value: Any) -> bool:
    if not isinstance(value, bool):  # never blank: the column says yes or no
        raise InvalidFieldError(field.attr, "must be true or false", key=field.key)
    return value


def _clean_value(session: Session, field: CrmField, value: Any) -> Any:
    if field.type is CrmFieldType.CHECKBOX:
        return _clean_checkbox(field, value)
    if value is None:
        return None
    if field.type is CrmFieldType.TEXT:
        return _clean_text(field, value)
    if field.type is CrmFieldType.DATE:
        return _clean_date(field, value)
    return _clean_list_item(session, field, value)


def _clean_company_id(session: Session, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or session.get(Company, value) is None:
        raise InvalidFieldError("company_id", f"no company with id {value}")
    return value


def _clean_one(session: Session, entity_type: EntityType, attr: str, value: Any) -> Any:
    if attr == "company_id" and attr in EXTRA_ATTRS[entity_type]:
        cleaned = _clean_company_id(session, value)
    else:
        field = field_for_attr(entity_type, attr)
        if field is None:
            raise InvalidFieldError(attr, f"not a field of a {entity_type}")
        cleaned = _clean_value(session, field, value)
    if attr in REQUIRED_ATTRS[entity_type] and not (isinstance(cleaned, str) and cleaned.strip()):
        raise InvalidFieldError(attr, "must not be empty")
    return cleaned


def clean_attrs(session: Session, entity_type: EntityType, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The values to store, checked; raises ``InvalidFieldError`` naming the first bad field."""
    fields, required = _BY_ATTR[entity_type], REQUIRED_ATTRS[entity_type]
    cleaned = {}
    for attr, value in attrs.items():
        field = fields.get(attr)
        if (  # the usual value, text that fits, checked in one go (an import checks a page of records field by field)
            type(value) is str
            and field is not None
            and field.type is CrmFieldType.TEXT
            and len(value) <= field.max_length
            and NUL not in value
            and (attr not in required or value.strip())
        ):
            cleaned[attr] = value
        else:
            cleaned[attr] = _clean_one(session, entity_type, attr, value)
    return cleaned
