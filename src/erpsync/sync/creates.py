"""Idempotent creates (SPEC §7): an actor is created in the ERP at most once per intent, and always ends linked.

The intent (connection, entity, the actor to create, a fresh idempotency key) is stored and committed BEFORE
``create_actor`` is called; the link is stored when the call returns. A crash or timeout in between leaves a pending
intent: the next attempt for the same entity reuses its key and its actor, so the connector returns the actor it
created then — never a second actor, never an orphan. ``resume_pending`` completes every pending intent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from erpsync.crm.fields import EntityType
from erpsync.errors import ConflictError, ConnectorError, ErpsyncError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncCreate, utcnow
from erpsync.sync import links
from erpsync.sync.connections import client_for
from erpsync.sync.connectors import ConnectorClients

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class Created:
    link_id: int
    erp_key: str
    actor: m.Actor


def record_intent(
    database: Database, *, connection_id: int, entity_type: EntityType, entity_id: int, actor: m.Actor
) -> SyncCreate:
    """Store the intent (or return the pending one of this entity, whose key a retry must reuse); ``ConflictError``
    before any ERP call when the entity is linked already, so a second create cannot leave an orphan actor."""
    with database.session() as session:
        if links.link_for_entity(session, connection_id, entity_type, entity_id) is not None:
            raise ConflictError(f"this {entity_type} is linked in this connection already")
        pending = session.scalar(
            select(SyncCreate).where(
                SyncCreate.connection_id == connection_id,
                SyncCreate.entity_type == entity_type.value,
                SyncCreate.entity_id == entity_id,
                SyncCreate.status == PENDING,
            )
        )
        if pending is not None:
            return pending
        intent = SyncCreate(
            idempotency_key=uuid.uuid4().hex,
            connection_id=connection_id,
            entity_type=entity_type.value,
            entity_id=entity_id,
            actor_json=actor.model_dump(mode="json"),
            status=PENDING,
        )
        session.add(intent)
        session.flush()
        return intent


def create_actor(
    database: Database,
    clients: ConnectorClients,
    *,
    connection_id: int,
    entity_type: EntityType,
    entity_id: int,
    actor: m.Actor,
    agreed: Mapping[str, m.Value],
) -> Created:
    """Create ``actor`` in the ERP for the entity and link them, agreeing on ``agreed`` (canonical values)."""
    intent = record_intent(
        database, connection_id=connection_id, entity_type=entity_type, entity_id=entity_id, actor=actor
    )
    return _complete(database, clients, intent, agreed)


def _complete(
    database: Database, clients: ConnectorClients, intent: SyncCreate, agreed: Mapping[str, m.Value]
) -> Created:
    with database.read_session() as session:
        connection = session.get(ErpConnection, intent.connection_id)
        assert connection is not None, "intents go with their connection (ON DELETE CASCADE)"
        client = client_for(clients, connection)
    actor = m.Actor.model_validate(intent.actor_json)
    answer = client.create_actor(connection_id=connection.uuid, actor=actor, idempotency_key=intent.idempotency_key)
    created = answer.actor
    if created is None or created.erp_key is None:
        raise ConnectorError("create_actor answered without the created actor's erp_key")
    with database.session() as session:
        stored = session.get(SyncCreate, intent.id)
        assert stored is not None
        link = links.create_link(
            session,
            connection_id=intent.connection_id,
            entity_type=EntityType(intent.entity_type),
            entity_id=intent.entity_id,
            actor_type=created.actor_type,
            erp_key=created.erp_key,
            agreed=agreed,
        )
        stored.status, stored.erp_key, stored.link_id, stored.completed_at = DONE, created.erp_key, link.id, utcnow()
        return Created(link.id, created.erp_key, created)


def resume_pending_of(
    database: Database, clients: ConnectorClients, *, connection_id: int, entity_type: EntityType
) -> list[Created]:
    """Complete the pending intents of one entity type (the engine's automatic creation, before it creates more); one
    that fails stays pending for the next run, one the ERP refuses outright is dropped (nothing was created)."""
    with database.read_session() as session:
        pending = list(
            session.scalars(
                select(SyncCreate).where(
                    SyncCreate.connection_id == connection_id,
                    SyncCreate.entity_type == entity_type.value,
                    SyncCreate.status == PENDING,
                )
            )
        )
    done: list[Created] = []
    for intent in pending:
        try:
            done.append(_complete(database, clients, intent, {}))
        except ValidationError:
            with database.session() as session:
                session.execute(delete(SyncCreate).where(SyncCreate.id == intent.id))
        except ErpsyncError:
            continue
    return done


def resume_pending(database: Database, clients: ConnectorClients, *, connection_id: int) -> list[Created]:
    """Complete the intents a crash left pending; the agreed values start empty, so the next merge settles them."""
    with database.read_session() as session:
        pending = list(
            session.scalars(
                select(SyncCreate).where(SyncCreate.connection_id == connection_id, SyncCreate.status == PENDING)
            )
        )
    return [_complete(database, clients, intent, {}) for intent in pending]
