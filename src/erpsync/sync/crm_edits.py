"""A person's edit of a CRM record, for the API and the web UI alike, recorded in the field history (SPEC §4
*History*) of each of the record's links in the edit's own transaction: side ``crm``, source ``user_edit``, written
by the user, one row per synced field (keyed by the ERP field key, canonical values, as the sync's rows) whose value
the edit changed in that connection's mapping. The ERP tab thus names the author of a CRM value at once, not after the
next sync carries it. A record with no link has no ERP field keys to key a row on: its edits are not recorded (the
CRM's own ``changed_by`` still names its last writer).

Public names: ``update``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ErpLink
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync import field_history
from erpsync.sync.configuration_loading import load_config
from erpsync.sync.connections import actor_fields
from erpsync.sync.mapping import Translator
from erpsync.sync.work import ConfigLoader

logger = logging.getLogger(__name__)


def update(
    session: Session,
    entity_type: EntityType,
    entity_id: int,
    attrs: Mapping[str, Any],
    *,
    user_id: int,
    load: ConfigLoader = load_config,
) -> service.Entity:
    """Change the given attributes (``NotFoundError``, ``InvalidFieldError``: nothing is saved) and record what
    changed in each link's field history, all in one transaction."""
    with unit_of_work(session):
        before = service.read_record(session, entity_type, entity_id).values
        entity = service.update_entity(session, entity_type, entity_id, attrs, changed_by=service.user_origin(user_id))
        after = service.read_record(session, entity_type, entity_id).values
        if after != before:
            _record(session, entity_type, entity_id, (before, after), user_id=user_id, load=load)
    return entity


def _record(
    session: Session,
    entity_type: EntityType,
    entity_id: int,
    values: tuple[Mapping[str, Any], Mapping[str, Any]],
    *,
    user_id: int,
    load: ConfigLoader,
) -> None:
    linked = session.scalars(
        select(ErpLink).where(ErpLink.entity_type == entity_type.value, ErpLink.entity_id == entity_id)
    )
    for link in linked:
        connection = session.get(ErpConnection, link.connection_id)
        if connection is None or connection.deleted_at is not None:
            continue
        try:
            changes = _changes(session, connection, link, values, load)
        except ErpsyncError as error:  # a mapping that cannot be read now never refuses the edit
            logger.warning("link %s: the CRM edit is not in the field history: %s", link.id, error.user_message)
            continue
        if changes:
            field_history.add_user_edit(session, link, changes, user_id=user_id)


def _changes(
    session: Session,
    connection: ErpConnection,
    link: ErpLink,
    values: tuple[Mapping[str, Any], Mapping[str, Any]],
    load: ConfigLoader,
) -> dict[str, tuple[Any, Any]]:
    """ERP field key -> (old, new) of the synced fields the edit changed, in the connection's mapping."""
    config = load(session, connection)
    mapping = config.mappings.get(m.ActorType(link.actor_type))
    if mapping is None:
        return {}
    translator = Translator.of(mapping, actor_fields(connection, link.actor_type), config.list_mappings)
    old, new = (translator.crm_to_erp(side).values for side in values)
    return {key: (old.get(key), new.get(key)) for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
