"""What every ``erpsync`` command shares: the Typer app, the settings check, the database and the connector clients,
and errors a user can fix as one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crypto import cipher_for
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.logs import configure_logging
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.storage.tables import ErpConnection
from erpsync.sync.bulkhead import BulkheadPolicy
from erpsync.sync.connections import hub_clients
from erpsync.sync.connectors import ConnectorClients

app = typer.Typer(help="erpsync: keeps a CRM and ERP systems in sync.", no_args_is_help=True)


@app.callback()
def _settings_or_exit() -> None:
    """Every command reads the settings first: settings that do not hold (say weak secrets in prod) end it at once;
    then logging is set up as they say (``ERPSYNC_LOG_FORMAT``, ``ERPSYNC_LOG_LEVEL``)."""
    try:
        settings = get_settings()
    except PydanticValidationError as exc:
        for error in exc.errors():
            typer.echo(f"error: {str(error['msg']).removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_format, settings.log_level)


def upgraded_database() -> Database:
    """The configured database, migrated to the newest schema first (upgrading is idempotent)."""
    database = Database.from_settings(get_settings())
    upgrade(database.engine)
    return database


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the errors a user can fix into a one-line message and exit code 1, instead of a traceback."""
    try:
        yield
    except ErpsyncError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def hub_and_clients() -> Iterator[tuple[Database, ConnectorClients]]:
    """The migrated database and the connector clients, closed when the command ends."""
    settings = get_settings()
    database = upgraded_database()
    clients = hub_clients(
        database,
        cipher_for(settings),
        timeout=settings.http_timeout_seconds,
        bulkhead=BulkheadPolicy.from_settings(settings),
    )
    try:
        yield database, clients
    finally:
        clients.close()
        database.dispose()


def connection_named(session: Session, name: str) -> ErpConnection:
    query = select(ErpConnection).where(ErpConnection.name == name, ErpConnection.deleted_at.is_(None))
    connection = session.scalar(query)
    if connection is None:
        raise NotFoundError(f"no ERP connection named {name!r}")
    return connection


def config_file(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read the config file {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ValidationError(f"the config file {path} must hold a JSON object of field key -> value")
    return config


def actor_type_of(name: str) -> Any:
    from erpsync.protocol.models import ActorType

    try:
        return ActorType(name)
    except ValueError:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(t.value for t in ActorType)}") from None
