"""The CRM record edits a person makes, for the API and the web UI alike: create and delete a company, person or
project, each one unit of work in the caller's session, stamped with the user (``changed_by`` and the change feed,
through ``erpsync.crm.service``). An update is ``erpsync.sync.crm_edits.update``: it records the change in the linked
records' field history too.

Public names: ``create``, ``delete``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.storage.unit_of_work import unit_of_work


def create(session: Session, entity_type: EntityType, attrs: Mapping[str, Any], *, user_id: int) -> service.Entity:
    """A new record (``InvalidFieldError`` for a value that breaks a rule: nothing is saved)."""
    with unit_of_work(session):
        return service.create_entity(session, entity_type, attrs, changed_by=service.user_origin(user_id))


def delete(session: Session, entity_type: EntityType, entity_id: int, *, user_id: int) -> None:
    with unit_of_work(session):
        service.delete_entity(session, entity_type, entity_id, changed_by=service.user_origin(user_id))
