"""The work context of the sync side: what a sync needs (``Engine``: the database, the connector clients, where the
mapping configuration comes from) and, per actor type of one connection, everything the merge of its records needs,
read once (``Pass``: the mapping, the ERP fields, the merge rules, the value translator, the connector's client).

The engine's runs, *Sync now*, the ERP tab, imports and resync all work through a ``Pass``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import sync_origin
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection
from erpsync.sync.configuration_loading import load_config
from erpsync.sync.connections import actor_fields, client_for
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import (
    ENTITY_FOR_ACTOR,
    ActorTypeMapping,
    ConnectionConfig,
    ListMapping,
    Translation,
    Translator,
    merge_rules,
)
from erpsync.sync.merge import FieldRule, Policy

ConfigLoader = Callable[[Session, ErpConnection], ConnectionConfig]


@dataclass(frozen=True)
class Engine:
    """What a sync needs: the database, the connector clients and where the mapping configuration comes from."""

    database: Database
    clients: ConnectorClients
    load_config: ConfigLoader = load_config


@dataclass(frozen=True)
class Pass:
    """Everything the merge of one actor type needs, read once per run."""

    connection_id: int
    connection_uuid: str
    actor_type: m.ActorType
    mapping: ActorTypeMapping
    erp_fields: Sequence[m.FieldMeta]
    config: ConnectionConfig
    client: ConnectorClient
    outranked_by: Mapping[str, str] = field(default_factory=dict)
    """Origins (``sync:<id>``) of the connections of higher sync priority, with their names: their CRM writes win."""

    @property
    def entity_type(self) -> EntityType:
        return ENTITY_FOR_ACTOR[self.actor_type]

    @property
    def field_keys(self) -> list[str]:
        """The ERP fields the engine reads: the synced ones and those the ERP sync filter restricts."""
        synced = [row.erp_field for row in self.mapping.fields if row.synced]
        filtered = [r.field for r in self.mapping.sync_filter.erp if r.field not in synced]
        return synced + list(dict.fromkeys(filtered))

    @cached_property
    def rules(self) -> dict[str, FieldRule]:
        return merge_rules(self.mapping, self.config.policy)

    @cached_property
    def asked_fields(self) -> frozenset[str]:
        """The fields whose conflicts wait for a person (policy *ask*, ``sync.conflicts``)."""
        return frozenset(key for key, rule in self.rules.items() if rule.policy is Policy.ASK)

    @property
    def origin(self) -> str:
        return sync_origin(self.connection_id)

    @cached_property
    def translator(self) -> Translator:
        """Worked out once per run: every record of the actor type is translated by it."""
        return Translator.of(self.mapping, self.erp_fields, self.lists)

    def from_crm(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.crm_to_erp(values)

    def from_erp(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.erp_canonical(values)

    def to_crm(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.erp_to_crm(values)

    @property
    def lists(self) -> Mapping[str, ListMapping]:
        return self.config.list_mappings


def passes(engine: Engine, session: Session, connection: ErpConnection) -> list[Pass]:
    """The actor types of ``connection`` that sync (master switch on, offered, with synced fields), one Pass each."""
    config = engine.load_config(session, connection)
    client = client_for(engine.clients, connection)
    offered = set(connection.actor_types_json)
    outranked_by = _higher_priority(session, connection)
    return [
        Pass(
            connection.id,
            connection.uuid,
            actor_type,
            mapping,
            actor_fields(connection, actor_type),
            config,
            client,
            outranked_by,
        )
        for actor_type, mapping in sorted(config.mappings.items())
        if mapping.active and actor_type.value in offered and any(row.synced for row in mapping.fields)
    ]


def pass_of(engine: Engine, session: Session, connection: ErpConnection, actor_type: m.ActorType) -> Pass | None:
    """The Pass of ``actor_type`` in ``connection``; None when that type does not sync."""
    return next((p for p in passes(engine, session, connection) if p.actor_type is actor_type), None)


def _higher_priority(session: Session, connection: ErpConnection) -> dict[str, str]:
    """The live connections served before ``connection`` (SPEC §4 sync priority), by their CRM origin tag."""
    ahead = select(ErpConnection.id, ErpConnection.name).where(
        ErpConnection.deleted_at.is_(None),
        (ErpConnection.priority < connection.priority)
        | ((ErpConnection.priority == connection.priority) & (ErpConnection.id < connection.id)),
    )
    return {sync_origin(row.id): row.name for row in session.execute(ahead)}


def active_connection(session: Session, connection_id: int) -> ErpConnection:
    """The connection, live and active; ``NotFoundError`` or ``ValidationError`` otherwise."""
    connection = session.get(ErpConnection, connection_id)
    if connection is None or connection.deleted_at is not None:
        raise NotFoundError(f"no ERP connection with id {connection_id}")
    if not connection.active:
        raise ValidationError(f"connection {connection.name!r} is not active")
    return connection
