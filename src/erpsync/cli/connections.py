"""Registered sync connectors and ERP connections as administrators set them up: ``erpsync connectors ...`` and
``erpsync connections list|add|show|update|test|refresh|delete|restore|purge`` (``sync.setup``'s use cases). Activation,
*Sync now* and health are in ``cli.configure`` and ``cli.operations``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.api.connection_schemas import (
    ConfigFormPublic,
    ConnectionPublic,
    ConnectionUpdate,
    ConnectorUpdate,
    VisibilityBody,
    connection_public,
    connector_public,
)
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.errors import NotFoundError
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync import connections, connectors, setup
from erpsync.sync.connectors import ConnectorClients

connectors_app = typer.Typer(help="Registered sync connectors.", no_args_is_help=True)
connections_app = typer.Typer(help="ERP connections.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
app.add_typer(connections_app, name="connections")


def _secret_from(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    secret: str = typer.prompt("Shared secret", hide_input=True)
    return secret


@connectors_app.command("list")
def connectors_list(as_json: bool = output.JSON_OPTION) -> None:
    """List the registered connectors: id, name, URL, what their info says."""
    with common.hub_and_clients() as (database, _clients), database.read_session() as session:
        if as_json:
            output.print_json([connector_public(connector) for connector in connectors.list_connectors(session)])
            return
        for connector in connectors.list_connectors(session):
            info = connector.info_json
            typer.echo(f"{connector.id}\t{connector.name}\t{connector.url}\t{info.get('name')} {info.get('version')}")


@connectors_app.command("add")
def connectors_add(
    name: str = typer.Argument(help="the connector's name in the hub"),
    url: str = typer.Argument(help="its base URL, e.g. http://127.0.0.1:8765"),
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help="read the shared secret from standard input"),
) -> None:
    """Register a connector; the hub asks its info first and refuses a URL that is not a connector."""
    secret = _secret_from(secret_stdin)
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        connector = setup.add_connector(session, clients, name=name, url=url, secret=secret, by=None)
    typer.echo(f"connector {name} added: {connector.info_json['name']} {connector.info_json['version']}")


@connectors_app.command("remove")
def connectors_remove(name: str = typer.Argument(help="the connector's name")) -> None:
    """Remove a connector; refused while connections use it."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        setup.delete_connector(session, _connector_named(session, name).id, by=None)
    typer.echo(f"connector {name} removed")


def _connector_named(session: Session, name: str) -> SyncConnector:
    connector = session.scalar(select(SyncConnector).where(SyncConnector.name == name))
    if connector is None:
        raise NotFoundError(f"no sync connector named {name!r}")
    return connector


@connections_app.command("list")
def connections_list(
    deleted: bool = typer.Option(False, "--deleted", help="list deleted connections"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """List the ERP connections in sync-priority order."""
    with common.hub_and_clients() as (database, clients), database.read_session() as session:
        query = select(ErpConnection).order_by(ErpConnection.priority, ErpConnection.id)
        query = query.where(ErpConnection.deleted_at.is_not(None) if deleted else ErpConnection.deleted_at.is_(None))
        if as_json:
            output.print_json([_public(session, clients, connection) for connection in session.scalars(query)])
            return
        for connection in session.scalars(query):
            state = "active" if connection.active else "inactive"
            typer.echo(f"{connection.id}\t{connection.name}\t{connection.connector.name}\t{state}\t{connection.uuid}")


@connections_app.command("add")
def connections_add(
    name: str = typer.Argument(help="the connection's name"),
    connector: str = typer.Option(..., help="the registered connector's name"),
    config: Path = typer.Option(..., help="JSON file with the config values (field key -> value)"),
    description: str = typer.Option("", help="a description"),
) -> None:
    """Add a connection, visible to everyone; it is tested first and saved inactive."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        draft = connections.ConnectionDraft(
            name=name,
            connector_id=_connector_named(session, connector).id,
            config=common.config_file(config),
            description=description,
        )
        connection = setup.create_connection(session, clients, draft, by=None)
        typer.echo(f"connection {name} saved (inactive) as {connection.uuid}: {', '.join(connection.actor_types_json)}")


@connections_app.command("test")
def connections_test(name: str = typer.Argument(help="the connection's name")) -> None:
    """Run the connector's test on a saved connection."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        answer = setup.check_connection(session, clients, common.connection_named(session, name).id, user=None)
    typer.echo(f"connection {name}: {answer.user_message or 'test passed'}")


@connectors_app.command("show")
def connectors_show(
    name: str = typer.Argument(help="the connector's name"), as_json: bool = output.JSON_OPTION
) -> None:
    """A connector: URL, its info, when it was added (never its secret)."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        public = connector_public(_connector_named(session, name))
    if as_json:
        output.print_json(public)
    else:
        output.print_fields(f"connector {public.name}", public.model_dump())


@connectors_app.command("update")
def connectors_update(
    name: str = typer.Argument(help="the connector's name"),
    new_name: str | None = typer.Option(None, "--name", help="a new name"),
    url: str | None = typer.Option(None, help="a new base URL (its info is asked first)"),
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help="a new shared secret, read from standard input"),
) -> None:
    """Change a connector's name, URL or secret; a new URL or secret is checked against the connector first."""
    secret = _secret_from(True) if secret_stdin else None
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        body = ConnectorUpdate(name=new_name, url=url, secret=secret)
        connector_id = _connector_named(session, name).id
        setup.update_connector(
            session, clients, connector_id, name=body.name, url=body.url, secret=body.secret, by=None
        )
    typer.echo(f"connector {new_name or name} updated")


@connectors_app.command("form")
def connectors_form(
    name: str = typer.Argument(help="the connector's name"), as_json: bool = output.JSON_OPTION
) -> None:
    """The config fields a connection of this connector needs (the connector is asked), with the items of its lists."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        form = setup.connector_config_form(session, clients, _connector_named(session, name).id)
        public = ConfigFormPublic(fields=form.fields, lists=form.lists)
    if as_json:
        output.print_json(public)
        return
    rows = ((f.key, f.label, f.type.value, f.access.value, f.list_name, f.default) for f in public.fields)
    output.print_table(f"config of {name}", ("key", "label", "type", "access", "list", "default"), rows)


def _public(session: Session, clients: ConnectorClients, connection: ErpConnection) -> ConnectionPublic:
    """The connection as the API shows it to an administrator: which password fields are set, never their values."""
    return connection_public(session, connection, sorted(connections.stored_secrets(clients.cipher, connection)))


def _show(public: ConnectionPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(public)
    else:
        output.print_fields(f"connection {public.name}", public.model_dump())


@connections_app.command("show")
def connections_show(
    name: str = typer.Argument(help="the connection's name"),
    deleted: bool = typer.Option(False, "--deleted", help="a deleted connection"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """A connection: its connector, config (password fields only as set or not), visibility, state."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.read_session() as session:
        public = _public(session, clients, common.connection_named(session, name, deleted=deleted))
    _show(public, as_json)


@connections_app.command("update")
def connections_update(
    name: str = typer.Argument(help="the connection's name"),
    new_name: str | None = typer.Option(None, "--name", help="a new name"),
    description: str | None = typer.Option(None, help="a new description"),
    config: Path | None = typer.Option(None, help="JSON file with changed config values; it is tested first"),
    visibility: Path | None = typer.Option(
        None, help='JSON file with who may see it: {"everyone": false, "users": [ids], "groups": [ids]}'
    ),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Change a connection; what is not given stays. A changed config is tested before it is saved."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        body = ConnectionUpdate(
            name=new_name,
            description=description,
            config=common.config_file(config) if config else None,
            visibility=VisibilityBody.model_validate(output.read_body(str(visibility))) if visibility else None,
        )
        connection = setup.update_connection(
            session,
            clients,
            common.connection_named(session, name).id,
            name=body.name,
            config=body.config,
            visibility=body.visibility.to_visibility() if body.visibility else None,
            description=body.description,
            user=None,
        )
        public = _public(session, clients, connection)
    _show(public, as_json)


@connections_app.command("refresh")
def connections_refresh(name: str = typer.Argument(help="the connection's name")) -> None:
    """Read the connector's actor types and fields again; new fields get mapping rows, vanished ones are named."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        vanished = setup.refresh_metadata(session, clients, common.connection_named(session, name).id, user=None)
    typer.echo(f"connection {name} refreshed")
    for actor_type, keys in vanished.items():
        typer.echo(f"{actor_type}: no longer reported: {', '.join(keys)}")


@connections_app.command("delete")
def connections_delete(name: str = typer.Argument(help="the connection's name")) -> None:
    """Delete a connection: it is deactivated and hidden, and can be restored (its links stay)."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        setup.delete_connection(session, clients, common.connection_named(session, name).id, user=None)
    typer.echo(f"connection {name} deleted (erpsync connections restore {name} brings it back)")


@connections_app.command("restore")
def connections_restore(name: str = typer.Argument(help="the deleted connection's name")) -> None:
    """Bring a deleted connection back (inactive); the connector is told of it again."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        connection_id = common.connection_named(session, name, deleted=True).id
        setup.restore_connection(session, clients, connection_id, user=None)
    typer.echo(f"connection {name} restored (inactive)")


@connections_app.command("purge")
def connections_purge(
    name: str = typer.Argument(help="the deleted connection's name"),
    yes: bool = typer.Option(False, "--yes", help="purge without asking"),
) -> None:
    """Delete a deleted connection for good, with its links, configuration and alerts (cannot be undone)."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        connection_id = common.connection_named(session, name, deleted=True).id
        if not yes:
            typer.confirm(f"Purge the deleted connection {name} and all its links for good?", abort=True)
        purged = setup.purge_connection(session, connection_id, user=None)
    typer.echo(f"connection {name} purged with {purged} link(s)")
