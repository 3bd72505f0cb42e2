"""Connectors and connections as administrators set them up (SPEC §4): the use cases the API, the web UI and the
command line call alike.

Each use case works in the caller's session and ends its transaction itself: a change is one unit of work with its
audit entry (``sync.connectors`` and ``sync.connections`` write the entries), kept whole or not at all. A use case
that only asks a connector (its config form, a test) ends the transaction of its reads before it waits on the
connector, so no lock (on SQLite the write lock) and no pooled connection is held meanwhile. The hub in production
accepts only HTTPS connector URLs (the clients' ``https_required``, which ``connections.hub_clients_from`` sets from
``settings.env``). ``user`` is the administrator acting, None on the command line (which sees every connection and is
audited without a user, ``via: cli``).

Public names: ``add_connector``, ``update_connector``, ``delete_connector``, ``connector_config_fields``,
``connector_config_form``, ``check_config``, ``check_connection``, ``create_connection``, ``update_connection``,
``refresh_metadata``, ``delete_connection``, ``restore_connection``, ``purge_connection``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.errors import ConflictError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ErpLink, SyncConnector, User
from erpsync.storage.unit_of_work import end_transaction, unit_of_work
from erpsync.sync import connection_visibility, connections, connectors
from erpsync.sync.connectors import ConnectorClients


def _by(user: User | None) -> int | None:
    """Who acts, for the audit log: the administrator, or None for the command line."""
    return None if user is None else user.id


# --- connectors -------------------------------------------------------------------------------------------------------


def add_connector(
    session: Session, clients: ConnectorClients, *, name: str, url: str, secret: str, by: int | None
) -> SyncConnector:
    """Register a connector once its ``info`` answered (``connectors.add_connector``)."""
    with unit_of_work(session):
        return connectors.add_connector(session, clients, name=name, url=url, secret=secret, by=by)


def update_connector(
    session: Session,
    clients: ConnectorClients,
    connector_id: int,
    *,
    name: str | None = None,
    url: str | None = None,
    secret: str | None = None,
    by: int | None,
) -> SyncConnector:
    """Change name, URL or secret; a new URL or secret is probed first, with no transaction open meanwhile."""
    with unit_of_work(session):
        connector = connectors.get_connector(session, connector_id)
        return connectors.update_connector(session, clients, connector, name=name, url=url, secret=secret, by=by)


def delete_connector(session: Session, connector_id: int, *, by: int | None) -> None:
    """``ConflictError`` while connections use the connector."""
    with unit_of_work(session):
        connectors.delete_connector(session, connectors.get_connector(session, connector_id), by=by)


def _connector(session: Session, connector_id: int) -> SyncConnector:
    connector = connectors.get_connector(session, connector_id)
    end_transaction(session)
    return connector


def connector_config_fields(session: Session, clients: ConnectorClients, connector_id: int) -> list[m.FieldMeta]:
    """The connector's config fields, asked with no transaction open."""
    return connections.config_fields(clients, _connector(session, connector_id))


def connector_config_form(session: Session, clients: ConnectorClients, connector_id: int) -> connections.ConfigForm:
    """The connector's config fields and the items of their lists (the connection dialog), asked with no transaction
    open."""
    return connections.config_form(clients, _connector(session, connector_id))


# --- tests ------------------------------------------------------------------------------------------------------------


def check_config(
    session: Session,
    clients: ConnectorClients,
    *,
    connector_id: int,
    config: Mapping[str, m.Value],
    connection_id: int | None = None,
    user: User | None,
) -> m.Envelope:
    """The connector's ``test_config`` on entered values (``connections.run_test``); blank password fields of the
    saved connection ``connection_id`` keep their value. Raises the connector's typed error when the test fails."""
    existing = connection_visibility.get_connection(session, connection_id, user=user) if connection_id else None
    connector = _connector(session, connector_id)
    return connections.run_test(clients, connector, config=config, connection=existing)


def check_connection(
    session: Session, clients: ConnectorClients, connection_id: int, *, user: User | None
) -> m.Envelope:
    """The connector's ``test_connection`` on the saved connection."""
    connection = connection_visibility.get_connection(session, connection_id, user=user)
    client, connection_uuid = connections.client_for(clients, connection), connection.uuid
    end_transaction(session)
    return client.test_connection(connection_id=connection_uuid)


# --- connections ------------------------------------------------------------------------------------------------------


def create_connection(
    session: Session, clients: ConnectorClients, draft: connections.ConnectionDraft, *, by: int | None
) -> ErpConnection:
    """Test, then save inactive (``connections.create_connection``)."""
    with unit_of_work(session):
        return connections.create_connection(session, clients, draft, by=by)


def update_connection(
    session: Session,
    clients: ConnectorClients,
    connection_id: int,
    *,
    name: str | None = None,
    config: Mapping[str, m.Value] | None = None,
    visibility: connection_visibility.Visibility | None = None,
    description: str | None = None,
    user: User | None,
) -> ErpConnection:
    """Edit a connection ``user`` (the administrator acting) can see; a changed config is tested again first."""
    with unit_of_work(session):
        connection = connection_visibility.get_connection(session, connection_id, user=user)
        return connections.update_connection(
            session,
            clients,
            connection,
            name=name,
            config=config,
            visibility=visibility,
            description=description,
            by=_by(user),
        )


def refresh_metadata(
    session: Session, clients: ConnectorClients, connection_id: int, *, user: User | None
) -> dict[str, list[str]]:
    """Read actor types and fields again; the field keys per actor type the connector no longer reports."""
    with unit_of_work(session):
        connection = connection_visibility.get_connection(session, connection_id, user=user)
        return connections.refresh_metadata(session, clients, connection, by=_by(user))


def delete_connection(session: Session, clients: ConnectorClients, connection_id: int, *, user: User | None) -> None:
    """Soft delete: deactivated and hidden; the links stay until the connection is purged."""
    with unit_of_work(session):
        connection = connection_visibility.get_connection(session, connection_id, user=user)
        connections.delete_connection(session, clients, connection, by=_by(user))


def restore_connection(
    session: Session, clients: ConnectorClients, connection_id: int, *, user: User | None
) -> ErpConnection:
    with unit_of_work(session):
        connection = connection_visibility.get_connection(session, connection_id, user=user)
        connections.restore_connection(session, clients, connection, by=_by(user))
        return connection


def purge_connection(session: Session, connection_id: int, *, user: User | None) -> int:
    """Delete a deleted connection for good, with its links, watermarks, jobs, configuration and alerts (its runs
    stay in the history, without it); audited with how many links went. ``ConflictError`` unless it is deleted."""
    with unit_of_work(session):
        connection = connection_visibility.get_connection(session, connection_id, user=user)
        if connection.deleted_at is None:
            raise ConflictError(f"connection {connection.name!r} is not deleted: delete it before purging it")
        purged = session.scalar(select(func.count()).where(ErpLink.connection_id == connection_id)) or 0
        name = connection.name
        session.delete(connection)
        session.flush()
        audit.record(
            session,
            user_id=_by(user),
            action="purge",
            target_type="connection",
            target_id=connection_id,
            detail={"name": name, "links": purged} | audit.via(_by(user)),
        )
    return purged
