"""The CRM service: the one way entities are read and written, by the API (attribute names) and the sync engine
(mapping keys). Every write is validated, bumps the change sequence and records who made it.

Public names: ``Entity``, ``CrmRecord``, ``get_entity``, ``list_entities``, ``create_entity``, ``update_entity``,
``delete_entity``, ``touch_entity``; for the engine ``read_record``, ``read_records``, ``create_record``,
``write_record``, ``write_records`` (a batch), and from
``erpsync.crm.changes``: ``changes_since``, ``current_watermark``. Origin tags: ``USER_ORIGIN`` ("user:<id>"),
``sync_origin(connection_id)`` ("sync:<id>").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlalchemy.orm import Session

from erpsync.crm.changes import changes_since, current_watermark, next_change_seq, take_change_seqs
from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.crm.validation import EXTRA_ATTRS, REQUIRED_ATTRS, clean_attrs
from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.storage.bulk import insert_values, reserve_ids, row_values
from erpsync.storage.tables import Company, CrmDeletion, CrmEntity, Person, Project, utcnow

Entity = CrmEntity

__all__ = [
    "CrmRecord",
    "Entity",
    "changes_since",
    "create_entity",
    "create_record",
    "current_watermark",
    "delete_entity",
    "get_entity",
    "list_entities",
    "read_record",
    "read_records",
    "sync_origin",
    "touch_entity",
    "update_entity",
    "user_origin",
    "write_record",
    "write_records",
]


def user_origin(user_id: int) -> str:
    return f"user:{user_id}"


def sync_origin(connection_id: int) -> str:
    return f"sync:{connection_id}"


# --- attribute level (API) -------------------------------------------------------------------------------------------


def get_entity(session: Session, entity_type: EntityType, entity_id: int) -> Entity:
    entity = session.get(ENTITY_TABLES[entity_type], entity_id)
    if entity is None:
        raise NotFoundError(f"no {entity_type} with id {entity_id}")
    return entity


def _name_filter(entity_type: EntityType, q: str) -> ColumnElement[bool]:
    if entity_type is EntityType.PERSON:
        return or_(Person.first_name.icontains(q, autoescape=True), Person.last_name.icontains(q, autoescape=True))
    table = Company if entity_type is EntityType.COMPANY else Project
    return table.name.icontains(q, autoescape=True)


def list_entities(
    session: Session,
    entity_type: EntityType,
    *,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    include_inactive: bool = False,
) -> tuple[list[Entity], int]:
    """A page of entities in id order, optionally those whose name contains ``q`` (any case); and the total. Inactive
    records are left out unless ``include_inactive``."""
    table = ENTITY_TABLES[entity_type]
    query = select(table)
    if not include_inactive:
        query = query.where(table.active.is_(True))
    if q:
        query = query.where(_name_filter(entity_type, q))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(table.id).limit(limit).offset(offset))
    return list(page), total


def _stamp(session: Session, entity: Entity, changed_by: str) -> None:
    entity.change_seq = next_change_seq(session)
    entity.changed_by = changed_by
    entity.updated_at = utcnow()


def touch_entity(session: Session, entity: Entity, *, changed_by: str) -> None:
    """Stamp ``entity`` as changed without changing a value, so the change feed carries it (a merge's survivor)."""
    _stamp(session, entity, changed_by)
    session.flush()


def create_entity(session: Session, entity_type: EntityType, attrs: Mapping[str, Any], *, changed_by: str) -> Entity:
    for attr in sorted(REQUIRED_ATTRS[entity_type] - attrs.keys()):
        raise InvalidFieldError(attr, "is required")
    entity = ENTITY_TABLES[entity_type](**clean_attrs(session, entity_type, attrs))
    _stamp(session, entity, changed_by)
    session.add(entity)
    session.flush()
    return entity


@dataclass(frozen=True)
class BulkCreated:
    ids: list[int]
    """The new entities' ids, in the order of the rows."""
    change_seqs: range
    """Their change numbers, in the same order: one unbroken range."""


def create_entities_bulk(
    session: Session, entity_type: EntityType, rows: Sequence[Mapping[str, Any]], *, changed_by: str
) -> BulkCreated:
    """Create an entity for each of ``rows`` (attributes as ``clean_attrs`` returns them: checked already) in one
    bulk write: ids and change numbers taken up front for them all, then one ``COPY`` / ``executemany``."""
    if not rows:
        return BulkCreated([], range(0))
    table = ENTITY_TABLES[entity_type].__table__
    assert isinstance(table, Table)
    ids = reserve_ids(session, table, len(rows))
    first = take_change_seqs(session, len(rows)) - len(rows) + 1
    names = list(dict.fromkeys(chain.from_iterable(rows)))  # every attribute any row names, in order
    values = [
        (entity_id, seq, *row)
        for entity_id, seq, row in zip(ids, range(first, first + len(rows)), row_values(rows, names), strict=True)
    ]
    stamp = {"changed_by": changed_by, "updated_at": utcnow()}
    insert_values(session, table, ["id", "change_seq", *names], values, stamp)
    return BulkCreated(ids, range(first, first + len(rows)))


def update_entity(
    session: Session, entity_type: EntityType, entity_id: int, attrs: Mapping[str, Any], *, changed_by: str
) -> Entity:
    """Apply ``attrs``; a write that changes nothing leaves the sequence alone, so it wakes no sync."""
    entity = get_entity(session, entity_type, entity_id)
    changed = _differences(entity, clean_attrs(session, entity_type, attrs))
    if changed:
        for attr, value in changed.items():
            setattr(entity, attr, value)
        _stamp(session, entity, changed_by)
        session.flush()
    return entity


def _detach_persons(session: Session, company: Company, changed_by: str) -> None:
    # The foreign key would null them silently; doing it here puts the change in the feed.
    for person in session.scalars(select(Person).where(Person.company_id == company.id)):
        person.company_id = None
        _stamp(session, person, changed_by)


def delete_entity(session: Session, entity_type: EntityType, entity_id: int, *, changed_by: str) -> None:
    """Delete and leave a tombstone, so the engine learns of it through the change feed."""
    entity = get_entity(session, entity_type, entity_id)
    if isinstance(entity, Company):
        _detach_persons(session, entity, changed_by)
    tombstone = CrmDeletion(
        entity_type=entity_type.value, entity_id=entity_id, change_seq=next_change_seq(session), changed_by=changed_by
    )
    session.add(tombstone)
    session.delete(entity)
    session.flush()


# --- mapping-key level (sync engine) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrmRecord:
    """An entity as the engine sees it: mapping key -> JSON value (dates ISO, list fields list-item ids)."""

    entity_type: EntityType
    id: int
    values: dict[str, Any]
    updated_at: dt.datetime
    change_seq: int
    changed_by: str
    company_id: int | None = None  # a person's company: the parent of the ERP person


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _record(entity_type: EntityType, entity: Entity) -> CrmRecord:
    values = {key: _json_value(getattr(entity, field.attr)) for key, field in CRM_FIELDS[entity_type].items()}
    return CrmRecord(
        entity_type=entity_type,
        id=entity.id,
        values=values,
        updated_at=entity.updated_at,
        change_seq=entity.change_seq,
        changed_by=entity.changed_by,
        company_id=entity.company_id if isinstance(entity, Person) else None,
    )


def _attrs_for_keys(entity_type: EntityType, values: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of mapping field keys; the attributes that are no mapping field (a person's ``company_id``)
    go by their own name."""
    fields, extra = CRM_FIELDS[entity_type], EXTRA_ATTRS[entity_type]
    unknown = sorted(values.keys() - fields.keys() - extra)
    if unknown:
        raise InvalidFieldError(unknown[0], f"not a {entity_type} field key", key=unknown[0])
    return {fields[key].attr if key in fields else key: value for key, value in values.items()}


def read_record(session: Session, entity_type: EntityType, entity_id: int) -> CrmRecord:
    return _record(entity_type, get_entity(session, entity_type, entity_id))


def read_records(session: Session, entity_type: EntityType, entity_ids: Collection[int]) -> dict[int, CrmRecord]:
    """The records of those of ``entity_ids`` that exist, by id, read in one query."""
    if not entity_ids:
        return {}
    table = ENTITY_TABLES[entity_type]
    entities = session.scalars(select(table).where(table.id.in_(entity_ids)))
    return {entity.id: _record(entity_type, entity) for entity in entities}


def create_record(
    session: Session,
    entity_type: EntityType,
    values: Mapping[str, Any],
    *,
    changed_by: str,
    company_id: int | None = None,
) -> CrmRecord:
    attrs = _attrs_for_keys(entity_type, values)
    if company_id is not None:
        attrs["company_id"] = company_id
    return _record(entity_type, create_entity(session, entity_type, attrs, changed_by=changed_by))


def write_record(
    session: Session, entity_type: EntityType, entity_id: int, values: Mapping[str, Any], *, changed_by: str
) -> CrmRecord:
    attrs = _attrs_for_keys(entity_type, values)
    return _record(entity_type, update_entity(session, entity_type, entity_id, attrs, changed_by=changed_by))


def write_records(
    session: Session,
    entity_type: EntityType,
    writes: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    changed_by: str,
) -> list[ErpsyncError | None]:
    """Apply each (entity id, values) like ``write_record``, with one read of the entities and one take of change
    numbers for them all; per write, in order, the error that refused it (nothing of it written) or None. Every write
    is checked before any is made, so a refused one needs no savepoint."""
    table = ENTITY_TABLES[entity_type]
    ids = {entity_id for entity_id, _ in writes}
    entities = {e.id: e for e in session.scalars(select(table).where(table.id.in_(ids)))} if ids else {}
    errors: list[ErpsyncError | None] = []
    changes: list[tuple[Entity, dict[str, Any]]] = []
    for entity_id, values in writes:
        try:
            entity = entities.get(entity_id)
            if entity is None:
                raise NotFoundError(f"no {entity_type} with id {entity_id}")
            attrs = clean_attrs(session, entity_type, _attrs_for_keys(entity_type, values))
        except ErpsyncError as error:
            errors.append(error)
            continue
        errors.append(None)
        changes.append((entity, attrs))
    _apply_changes(session, changes, changed_by)
    return errors


def _apply_changes(session: Session, changes: Sequence[tuple[Entity, Mapping[str, Any]]], changed_by: str) -> None:
    """Set the attributes that differ; each entity changed gets a change number of its own, taken in one go."""
    changed = [(entity, diff) for entity, attrs in changes if (diff := _differences(entity, attrs))]
    if not changed:
        return
    first = take_change_seqs(session, len(changed)) - len(changed) + 1
    now = utcnow()
    for number, (entity, diff) in enumerate(changed):
        for attr, value in diff.items():
            setattr(entity, attr, value)
        entity.change_seq, entity.changed_by, entity.updated_at = first + number, changed_by, now
    session.flush()


def _differences(entity: Entity, attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {attr: value for attr, value in attrs.items() if getattr(entity, attr) != value}
