"""Registered sync connectors and ERP connections: ``erpsync connectors ...`` and ``erpsync connections ...``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.cli import common
from erpsync.cli.common import app
from erpsync.errors import NotFoundError
from erpsync.settings import get_settings
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync import connections, connectors, setup

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
def connectors_list() -> None:
    """List the registered connectors: id, name, URL, what their info says."""
    with common.hub_and_clients() as (database, _clients), database.read_session() as session:
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
        connector = setup.add_connector(session, clients, get_settings(), name=name, url=url, secret=secret, by=None)
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
def connections_list(deleted: bool = typer.Option(False, "--deleted", help="list deleted connections")) -> None:
    """List the ERP connections in sync-priority order."""
    with common.hub_and_clients() as (database, _clients), database.read_session() as session:
        query = select(ErpConnection).order_by(ErpConnection.priority, ErpConnection.id)
        query = query.where(ErpConnection.deleted_at.is_not(None) if deleted else ErpConnection.deleted_at.is_(None))
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
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        with database.read_session() as session:
            connection = common.connection_named(session, name)
        answer = connections.client_for(clients, connection).test_connection(connection_id=connection.uuid)
    typer.echo(f"connection {name}: {answer.user_message or 'test passed'}")
