"""Merging two CRM records of one type into one: the user picks the surviving record and, per field where the two
differ, which value survives; the other record is deleted (a tombstone in the change feed) and, for companies, its
persons move to the survivor.

Rules: by default the survivor keeps its own values and a blank one is filled from the other record; a field chosen
``other`` takes the other record's value (blank included). The survivor is always stamped, also when no value of its
own changes, so the change feed carries it and the next sync writes the merged values to every ERP actor now linked to
it. The CRM knows nothing of links: the sync layer's merge use case (``erpsync.sync.crm_merges``) wraps this one in its
unit of work and moves them.

Public names: ``Keep``, ``FieldDifference``, ``MergedEntities``, ``merge_attrs``, ``differences``, ``merge_entities``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.crm.validation import EXTRA_ATTRS
from erpsync.errors import ValidationError
from erpsync.storage.tables import Person


class Keep(StrEnum):
    """Whose value of a field survives a merge."""

    SURVIVOR = "survivor"
    OTHER = "other"


@dataclass(frozen=True)
class FieldDifference:
    """A field whose values differ between the two records, and what survives by default."""

    attr: str
    survivor: Any
    other: Any
    default: Keep


@dataclass(frozen=True)
class MergedEntities:
    survivor: service.Entity
    merged_id: int
    taken_from_other: list[str]
    """The attributes whose value came from the merged-away record, in field order."""
    persons_moved: list[int]
    """For companies: the merged-away company's persons, now the survivor's."""


def merge_attrs(entity_type: EntityType) -> list[str]:
    """The attributes a merge chooses between: every CRM field, and a person's company."""
    return [field.attr for field in CRM_FIELDS[entity_type].values()] + sorted(EXTRA_ATTRS[entity_type])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _default(survivor: Any, other: Any) -> Keep:
    return Keep.OTHER if _blank(survivor) and not _blank(other) else Keep.SURVIVOR


def _pair(session: Session, entity_type: EntityType, survivor_id: int, other_id: int) -> tuple[Any, Any]:
    if survivor_id == other_id:
        raise ValidationError(f"a {entity_type} cannot be merged with itself")
    return service.get_entity(session, entity_type, survivor_id), service.get_entity(session, entity_type, other_id)


def differences(session: Session, entity_type: EntityType, survivor_id: int, other_id: int) -> list[FieldDifference]:
    """The fields where the two records differ (``NotFoundError`` for a missing one), for the merge dialog."""
    survivor, other = _pair(session, entity_type, survivor_id, other_id)
    found = []
    for attr in merge_attrs(entity_type):
        mine, theirs = getattr(survivor, attr), getattr(other, attr)
        if mine != theirs and not (_blank(mine) and _blank(theirs)):
            found.append(FieldDifference(attr, mine, theirs, _default(mine, theirs)))
    return found


def _chosen(entity_type: EntityType, choices: Mapping[str, Keep | str]) -> dict[str, Keep]:
    attrs = set(merge_attrs(entity_type))
    chosen: dict[str, Keep] = {}
    for attr, keep in choices.items():
        if attr not in attrs:
            raise InvalidFieldError(attr, f"not a {entity_type} field")
        if keep not in (Keep.SURVIVOR.value, Keep.OTHER.value):
            raise InvalidFieldError(attr, "choose 'survivor' or 'other'")
        chosen[attr] = Keep(keep)
    return chosen


def merge_entities(
    session: Session,
    entity_type: EntityType,
    survivor_id: int,
    other_id: int,
    choices: Mapping[str, Keep | str],
    *,
    changed_by: str,
) -> MergedEntities:
    """Merge ``other_id`` into ``survivor_id`` in the caller's transaction (``NotFoundError``, ``ValidationError``,
    ``InvalidFieldError``: nothing is changed then)."""
    chosen = _chosen(entity_type, choices)
    survivor, other = _pair(session, entity_type, survivor_id, other_id)
    values: dict[str, Any] = {}
    for difference in differences(session, entity_type, survivor_id, other_id):
        keep = chosen.get(difference.attr, difference.default)
        if keep is Keep.OTHER:
            values[difference.attr] = difference.other
    moved = _move_persons(session, survivor_id, other_id, changed_by) if entity_type is EntityType.COMPANY else []
    service.delete_entity(session, entity_type, other.id, changed_by=changed_by)
    service.update_entity(session, entity_type, survivor.id, values, changed_by=changed_by)
    service.touch_entity(session, survivor, changed_by=changed_by)
    return MergedEntities(survivor, other_id, [attr for attr in merge_attrs(entity_type) if attr in values], moved)


def _move_persons(session: Session, survivor_id: int, other_id: int, changed_by: str) -> list[int]:
    persons = list(session.scalars(select(Person).where(Person.company_id == other_id).order_by(Person.id)))
    for person in persons:
        person.company_id = survivor_id
        service.touch_entity(session, person, changed_by=changed_by)
    session.flush()
    return [person.id for person in persons]
