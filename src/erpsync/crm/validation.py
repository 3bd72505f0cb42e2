"""Checks every value written to a CRM entity against the field catalogue: types, lengths, list ids, ISO dates.

Public names: ``clean_attrs(session, entity_type, attrs)``, ``clean_many(session, entity_type, rows)``,
``field_for_attr(entity_type, attr)``, ``REQUIRED_ATTRS``, ``EXTRA_ATTRS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import select
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


def clean_many(
    session: Session, entity_type: EntityType, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any] | InvalidFieldError]:
    """``clean_attrs`` of each of ``rows`` (a bulk write's): the values to store, or the error naming the row's first
    bad field. The list items the rows name are read in one query first, not one by one."""
    list_attrs = [field.attr for field in _BY_ATTR[entity_type].values() if field.type is CrmFieldType.LIST]
    _keep_list_items(session, {row.get(attr) for row in rows for attr in list_attrs})
    if _kept_as_they_are(session, entity_type, rows):
        return [dict(row) for row in rows]
    cleaned: list[dict[str, Any] | InvalidFieldError] = []
    for row in rows:
        try:
            cleaned.append(clean_attrs(session, entity_type, row))
        except InvalidFieldError as error:
            cleaned.append(error)
    return cleaned


def _keep_list_items(session: Session, values: Collection[Any]) -> None:
    """Read the list items of the ids among ``values`` that the session has not kept yet, in one query, and keep
    them for its checks (an id of no item stays unknown: its check reads it and refuses it)."""
    kept = session.info.setdefault(_KEPT_LIST_ITEMS, {})
    wanted = [value for value in values if type(value) is int and value not in kept]
    if wanted:
        for item in session.scalars(select(ListItem).where(ListItem.id.in_(wanted))):
            kept[item.id] = item


_ABSENT = object()


def _kept_as_they_are(session: Session, entity_type: EntityType, rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``clean_attrs`` keeps every value of ``rows`` as it is (the usual page of an import: text that fits,
    known list items, persons' companies that exist), checked a column at a time with the loops in C: the same
    checks, without a Python step per value. False sends the rows through ``clean_attrs`` one by one, which names
    what is wrong."""
    fields, required = _BY_ATTR[entity_type], REQUIRED_ATTRS[entity_type]
    attrs = dict.fromkeys(chain.from_iterable(rows))
    every_row_has_all = all(len(row) == len(attrs) for row in rows)  # the usual page: each value picked out in C
    for attr in attrs:
        field = fields.get(attr)
        company = attr == "company_id" and attr in EXTRA_ATTRS[entity_type]  # a person's company, as _clean_one has it
        if field is None and not company:
            return False  # not a field: checked row by row, which names it
        if every_row_has_all:
            column = list(map(itemgetter(attr), rows))
        else:
            column = [value for row in rows if (value := row.get(attr, _ABSENT)) is not _ABSENT]
        kept = (
            _companies_kept(session, column)
            if field is None
            else _column_kept(session, field, attr in required, column)
        )
        if not kept:
            return False
    return True


def _companies_kept(session: Session, column: list[Any]) -> bool:
    """Whether each of ``column`` is None or the id of a company, looked up in one query (a page of persons)."""
    if any(type(value) is not int for value in column if value is not None):  # before a set takes True for 1
        return False
    ids = {value for value in column if value is not None}
    return not ids or len(session.scalars(select(Company.id).where(Company.id.in_(ids))).all()) == len(ids)


def _column_kept(session: Session, field: CrmField, required: bool, column: list[Any]) -> bool:
    types = set(map(type, column))
    if type(None) in types:
        if required:
            return False
        column = [value for value in column if value is not None]
        types.discard(type(None))
    if not column:
        return True
    if field.type is CrmFieldType.TEXT:
        fits = types == {str} and max(map(len, column)) <= field.max_length and NUL not in "".join(column)
        return fits and (not required or all(map(str.strip, column)))
    if field.type is not CrmFieldType.LIST or types != {int} or required:  # required: text that is not blank
        return False
    try:
        for value in set(column):
            _clean_list_item(session, field, value)
    except InvalidFieldError:
        return False
    return True
