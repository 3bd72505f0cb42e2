"""ERP connections (SPEC §4 steps 1-7): test before save, save inactive, metadata cache, soft delete; who sees which
connection is ``sync.connection_visibility``'s.

A connection is identified towards its connector by a UUID the hub generates. Its password config fields are stored
encrypted apart from the other values and are never returned. Nothing is half-saved: the connector is told about a
connection inside the transaction that stores it, and told to forget it again if that transaction fails.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit, text
from erpsync.crypto import Cipher, cipher_for
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.language import speaking
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import (
    ConnectionActorFields,
    ErpConnection,
    SyncConnector,
    utcnow,
)
from erpsync.sync import configuration, configuration_loading, connection_config, metadata_languages
from erpsync.sync.bulkhead import BulkheadPolicy
from erpsync.sync.connection_visibility import (
    Visibility,
    set_visibility,
)
from erpsync.sync.connectors import ConnectorClients, get_connector

__all__ = [
    "CONFIG_DIALOG_CONNECTION_ID",
    "ConfigForm",
    "ConnectionDraft",
    "Metadata",
    "Resender",
    "actor_fields",
    "client_for",
    "config_fields",
    "config_form",
    "create_connection",
    "delete_connection",
    "fetch_metadata",
    "full_config",
    "hub_clients",
    "hub_clients_from",
    "read_metadata",
    "refresh_metadata",
    "restore_connection",
    "run_test",
    "store_config",
    "store_metadata",
    "stored_secrets",
    "update_connection",
]
"""This module's use cases."""

logger = logging.getLogger(__name__)

CONFIG_DIALOG_CONNECTION_ID = "new"
"""The connection id sent with ``list_items`` for a config field's list, before the connection exists."""


@dataclass(frozen=True)
class ConnectionDraft:
    name: str
    connector_id: int
    config: Mapping[str, m.Value]
    visibility: Visibility = field(default_factory=Visibility)
    description: str = ""


@dataclass(frozen=True)
class ConfigForm:
    """What the connection dialog renders: the connector's config fields and the items of their lists."""

    fields: list[m.FieldMeta]
    lists: dict[str, list[m.ListItem]]


# --- the connector's config fields ------------------------------------------------------------------------------------


def config_fields(clients: ConnectorClients, connector: SyncConnector) -> list[m.FieldMeta]:
    return clients.for_connector(connector).config_fields().fields


def config_form(clients: ConnectorClients, connector: SyncConnector) -> ConfigForm:
    client = clients.for_connector(connector)
    fields = client.config_fields().fields
    lists = {
        f.list_name: client.list_items(connection_id=CONFIG_DIALOG_CONNECTION_ID, list_name=f.list_name).items
        for f in fields
        if f.type == m.FieldType.LIST and f.list_name
    }
    return ConfigForm(fields=fields, lists=lists)


def run_test(
    clients: ConnectorClients,
    connector: SyncConnector,
    *,
    config: Mapping[str, m.Value],
    connection: ErpConnection | None = None,
) -> m.Envelope:
    """Run the connector's ``test_config`` on ``config``; blank password fields of ``connection`` keep their value.

    Raises ``ValidationError`` for values that do not fit the field metadata, and the connector's typed error when
    the test fails. Reads nothing from the database: the caller ends its transaction first (``sync.setup``).
    """
    _refuse_nul(config)
    fields = config_fields(clients, connector)
    if connection is not None:
        config = connection_config.with_kept_secrets(fields, config, stored_secrets(clients.cipher, connection))
    checked = connection_config.check_config(fields, config)
    return clients.for_connector(connector).test_config(config=checked)


# --- create, edit, delete ---------------------------------------------------------------------------------------------


def create_connection(
    session: Session, clients: ConnectorClients, draft: ConnectionDraft, *, by: int | None = None
) -> ErpConnection:
    """Test, then save inactive, send the config under a new UUID and cache the actor types and fields.

    ``by`` is the user acting (None: the command line or the system), recorded in the audit log.
    """
    connector = get_connector(session, draft.connector_id)
    name = _check_name(session, draft.name)
    description = text.refuse_nul(draft.description, "the description").strip()
    _refuse_nul(draft.config)
    fields = config_fields(clients, connector)
    config = connection_config.check_config(fields, draft.config)
    client = clients.for_connector(connector)
    _passed_test(client, config)
    connection = ErpConnection(uuid=str(uuid.uuid4()), name=name, connector_id=connector.id, description=description)
    store_config(clients.cipher, connection, fields, config)
    session.add(connection)
    session.flush()
    set_visibility(session, connection, draft.visibility)
    try:
        client.save_connection(connection_id=connection.uuid, config=config)
        read_metadata(session, client, connection)
    except ErpsyncError as exc:
        _forget_quietly(client, connection.uuid)
        raise ValidationError(f"the connector did not accept the connection: {exc.user_message}") from exc
    _audit(session, connection, "create", by, connector_id=connection.connector_id, config=connection.config_json)
    return connection


def update_connection(
    session: Session,
    clients: ConnectorClients,
    connection: ErpConnection,
    *,
    name: str | None = None,
    config: Mapping[str, m.Value] | None = None,
    visibility: Visibility | None = None,
    description: str | None = None,
    by: int | None = None,
) -> ErpConnection:
    """Edit; a changed config is tested again and sent to the connector before it is saved (an unchanged one is not)."""
    if config is not None:
        _refuse_nul(config)
    if name is not None:
        connection.name = _check_name(session, name, exclude_id=connection.id)
    if description is not None:
        connection.description = text.refuse_nul(description, "the description").strip()
    if visibility is not None:
        set_visibility(session, connection, visibility)
    if config is not None:
        _replace_config(clients, connection, config)
    connection.updated_at = utcnow()
    session.flush()
    parts = (("name", name), ("config", config), ("visibility", visibility), ("description", description))
    changed = [part for part, value in parts if value is not None]
    _audit(session, connection, "update", by, changed=changed, config=connection.config_json)
    return connection


def _replace_config(clients: ConnectorClients, connection: ErpConnection, values: Mapping[str, m.Value]) -> None:
    client = clients.for_connector(connection.connector)
    fields = client.config_fields().fields
    merged = connection_config.with_kept_secrets(fields, values, stored_secrets(clients.cipher, connection))
    config = connection_config.check_config(fields, merged)
    if config == full_config(clients.cipher, connection):
        return  # the same config: nothing to test again (a new name, description or visibility needs no test)
    _passed_test(client, config)
    try:
        client.save_connection(connection_id=connection.uuid, config=config)
    except ErpsyncError as exc:
        raise ValidationError(f"the connector did not accept the new config: {exc.user_message}") from exc
    store_config(clients.cipher, connection, fields, config)


def delete_connection(
    session: Session, clients: ConnectorClients, connection: ErpConnection, *, by: int | None = None
) -> None:
    """Soft delete: the connection is deactivated and hidden, its links stay until it is purged."""
    if connection.deleted_at is not None:
        raise ConflictError(f"connection {connection.name!r} is deleted already")
    connection.deleted_at = utcnow()
    connection.active = False
    _forget_quietly(clients.for_connector(connection.connector), connection.uuid)
    _audit(session, connection, "delete", by)


def restore_connection(
    session: Session, clients: ConnectorClients, connection: ErpConnection, *, by: int | None = None
) -> None:
    if connection.deleted_at is None:
        raise ConflictError(f"connection {connection.name!r} is not deleted")
    _check_name(session, connection.name, exclude_id=connection.id)
    config = full_config(clients.cipher, connection)
    try:
        clients.for_connector(connection.connector).save_connection(connection_id=connection.uuid, config=config)
    except ErpsyncError as exc:
        raise ValidationError(f"the connector did not accept the connection again: {exc.user_message}") from exc
    connection.deleted_at = None
    session.flush()
    _audit(session, connection, "restore", by)


def _audit(session: Session, connection: ErpConnection, action: str, by: int | None, **detail: object) -> None:
    detail = {"name": connection.name, **detail} | audit.via(by)
    audit.record(session, user_id=by, action=action, target_type="connection", target_id=connection.id, detail=detail)


def _passed_test(client: ConnectorClient, config: dict[str, m.Value]) -> None:
    try:
        client.test_config(config=config)
    except ErpsyncError as exc:
        raise ValidationError(f"Test connection failed: {exc.user_message}") from exc


def _forget_quietly(client: ConnectorClient, connection_uuid: str) -> None:
    # The hub's state is what counts; a connector that missed a delete only keeps an unused config.
    try:
        client.delete_connection(connection_id=connection_uuid)
    except ErpsyncError as exc:
        logger.warning("connector did not delete connection %s: %s", connection_uuid, exc.user_message)


def _refuse_nul(config: Mapping[str, m.Value]) -> None:
    if text.contains_nul(config):
        raise ValidationError(f"a config value {text.NUL_REFUSED}")


def _check_name(session: Session, name: str, *, exclude_id: int | None = None) -> str:
    name = text.refuse_control(name.strip(), "the connection name")
    if not name:
        raise ValidationError("the connection needs a name")
    query = select(ErpConnection.id).where(
        func.lower(ErpConnection.name) == name.lower(), ErpConnection.deleted_at.is_(None)
    )
    if exclude_id is not None:
        query = query.where(ErpConnection.id != exclude_id)
    if session.scalar(query) is not None:
        raise ConflictError(f"an ERP connection named {name!r} exists already")
    return name


# --- secrets ----------------------------------------------------------------------------------------------------------


def store_config(
    cipher: Cipher, connection: ErpConnection, fields: Sequence[m.FieldMeta], config: Mapping[str, m.Value]
) -> None:
    parts = connection_config.split(fields, config)
    connection.config_json = parts.plain
    connection.secrets_encrypted = cipher.encrypt(json.dumps(parts.secrets)) if parts.secrets else None


def stored_secrets(cipher: Cipher, connection: ErpConnection) -> dict[str, str]:
    if not connection.secrets_encrypted:
        return {}
    secrets: dict[str, str] = json.loads(cipher.decrypt(connection.secrets_encrypted))
    return secrets


def full_config(cipher: Cipher, connection: ErpConnection) -> dict[str, m.Value]:
    """The config as the connector needs it, password fields decrypted; never return or log this."""
    return {**connection.config_json, **stored_secrets(cipher, connection)}


# --- metadata cache ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """What a connector reports of a connection: its actor types, each with its fields and searchable fields."""

    fields: dict[m.ActorType, list[m.FieldMeta]]
    searchable: dict[m.ActorType, list[str]]
    labels: dict[m.ActorType, metadata_languages.Labels] = field(default_factory=dict)


def fetch_metadata(client: ConnectorClient, connection_uuid: str) -> Metadata:
    """Ask the connector (no transaction open) for the actor types and fields of a connection it knows, in its
    default language and the labels in each other language it speaks."""
    with speaking(None):
        actor_types = client.actor_types(connection_id=connection_uuid).actor_types
        fields, searchable = {}, {}
        for actor_type in actor_types:
            fields[actor_type] = client.actor_fields(connection_id=connection_uuid, actor_type=actor_type).fields
            found = client.searchable_fields(connection_id=connection_uuid, actor_type=actor_type)
            searchable[actor_type] = list(found.field_keys)
    labels = metadata_languages.fetch_labels(client, connection_uuid, actor_types)
    return Metadata(fields=fields, searchable=searchable, labels=labels)


def store_metadata(session: Session, connection: ErpConnection, metadata: Metadata) -> dict[str, list[str]]:
    """Cache the metadata and auto-map what is new (SPEC §4 *Mappings*), under a new configuration stamp; returns
    the field keys that vanished per type."""
    with configuration.changing(connection):
        vanished = _cache_metadata(connection, metadata)
        session.flush()
        configuration.auto_map_connection(session, connection)
    return {actor_type: keys for actor_type, keys in vanished.items() if keys}


def _cache_metadata(connection: ErpConnection, metadata: Metadata) -> dict[str, list[str]]:
    cached = {row.actor_type: row for row in connection.actor_fields}
    vanished: dict[str, list[str]] = {}
    for actor_type, fields in metadata.fields.items():
        row = cached.pop(actor_type.value, None) or ConnectionActorFields(actor_type=actor_type.value, fields_json=[])
        vanished[actor_type.value] = sorted(_keys(row.fields_json) - {f.key for f in fields})
        row.fields_json = metadata_languages.stored(fields, metadata.labels.get(actor_type, {}))
        row.searchable_json = list(metadata.searchable.get(actor_type, []))
        row.read_at = utcnow()
        if row not in connection.actor_fields:
            connection.actor_fields.append(row)
    for gone in cached.values():
        vanished[gone.actor_type] = sorted(_keys(gone.fields_json))
        connection.actor_fields.remove(gone)
    connection.actor_types_json = [t.value for t in metadata.fields]
    return vanished


def read_metadata(session: Session, client: ConnectorClient, connection: ErpConnection) -> dict[str, list[str]]:
    """Read and cache actor types, fields and searchable fields (``fetch_metadata``, ``store_metadata``)."""
    return store_metadata(session, connection, fetch_metadata(client, connection.uuid))


def refresh_metadata(
    session: Session, clients: ConnectorClients, connection: ErpConnection, *, by: int | None = None
) -> dict[str, list[str]]:
    vanished = read_metadata(session, clients.for_connector(connection.connector), connection)
    _audit(session, connection, "refresh", by, vanished=vanished)
    return vanished


def actor_fields(connection: ErpConnection, actor_type: str) -> list[m.FieldMeta]:
    """The cached field metadata of one actor type; ``NotFoundError`` for a type the connection does not offer."""
    for offered, fields in configuration_loading.offered_fields(connection).items():
        if offered.value == actor_type:
            return fields
    raise NotFoundError(f"connection {connection.name!r} has no actor type {actor_type!r}")


def _keys(fields_json: Sequence[Mapping[str, object]]) -> set[str]:
    return {str(item["key"]) for item in fields_json}


# --- clients ----------------------------------------------------------------------------------------------------------


class Resender:
    """Sends ``save_connection`` again for a connection the connector answered ``unknown_connection`` for."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.clients: ConnectorClients | None = None

    def __call__(self, connection_uuid: str) -> None:
        assert self.clients is not None, "Resender.clients is set when the clients are built"
        # A read session: the caller may hold the write lock while it waits for this connector call.
        with self._database.read_session() as session:
            connection = session.scalar(select(ErpConnection).where(ErpConnection.uuid == connection_uuid))
            if connection is None or connection.deleted_at is not None:
                return
            config = full_config(self.clients.cipher, connection)
            client = self.clients.for_connector(connection.connector)
            client.save_connection(connection_id=connection.uuid, config=config)


def hub_clients(
    database: Database,
    cipher: Cipher,
    *,
    timeout: float = 30.0,
    bulkhead: BulkheadPolicy | None = None,
    https_required: bool = False,
) -> ConnectorClients:
    """The clients a hub process uses: each resends a connection the connector forgot; each connector has its
    bulkhead (``erpsync.sync.bulkhead``); ``https_required``: connector URLs must use https (``check_url``)."""
    resender = Resender(database)
    clients = ConnectorClients(
        cipher, resend=resender, timeout=timeout, bulkhead=bulkhead, https_required=https_required
    )
    resender.clients = clients
    return clients


def hub_clients_from(database: Database, settings: Settings) -> ConnectorClients:
    """The clients as the settings say: their key, timeout and bulkheads, and https connector URLs in production."""
    return hub_clients(
        database,
        cipher_for(settings),
        timeout=settings.http_timeout_seconds,
        bulkhead=BulkheadPolicy.from_settings(settings),
        https_required=settings.env == "prod",
    )


def client_for(clients: ConnectorClients, connection: ErpConnection) -> ConnectorClient:
    return clients.for_connector(connection.connector)
