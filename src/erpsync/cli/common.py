"""What every ``erpsync`` command shares: the Typer app, the settings check, the database and the connector clients,
and errors a user can fix as one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.logs import configure_logging
from erpsync.protocol.models import ActorType, FieldMeta
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration_loading, heap
from erpsync.sync.connections import hub_clients_from
from erpsync.sync.connectors import ConnectorClients

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="erpsync: keeps a CRM and ERP systems in sync.", no_args_is_help=True)


# The commands that keep running and serve: they log at the configured level. The others print their result, and
# log only warnings and errors unless ERPSYNC_LOG_LEVEL is set (else every HTTP request to a connector is a line).
_SERVING = frozenset({"serve", "worker", "demo", "connector"})


@app.callback()
def _settings_or_exit(ctx: typer.Context) -> None:
    """Every command reads the settings first: settings that do not hold (say weak secrets in prod) end it at once;
    then logging is set up as they say (``ERPSYNC_LOG_FORMAT``, ``ERPSYNC_LOG_LEVEL``)."""
    try:
        settings = get_settings()
    except PydanticValidationError as exc:
        for error in exc.errors():
            typer.echo(f"error: {str(error['msg']).removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from exc
    quiet = ctx.invoked_subcommand not in _SERVING and "log_level" not in settings.model_fields_set
    configure_logging(settings.log_format, "WARNING" if quiet else settings.log_level)


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
    except PydanticValidationError as exc:
        reasons = "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: refused: {reasons}", err=True)
        raise typer.Exit(1) from exc


def serve_hub(hub: FastAPI, host: str, port: int) -> None:
    """Serve the built hub over HTTP until stopped; what it built is frozen out of the cycle collector first
    (``sync.heap.freeze_for_good``)."""
    import uvicorn

    heap.freeze_for_good()
    # uvicorn's proxy_headers would believe X-Forwarded-For from loopback; the hub decides (ERPSYNC_TRUSTED_PROXIES).
    uvicorn.run(hub, host=host, port=port, log_level="info", log_config=None, proxy_headers=False)


@contextmanager
def hub_and_clients() -> Iterator[tuple[Database, ConnectorClients]]:
    """The migrated database and the connector clients, closed when the command ends."""
    database = upgraded_database()
    clients = hub_clients_from(database, get_settings())
    try:
        yield database, clients
    finally:
        clients.close()
        database.dispose()


def connection_named(session: Session, name: str, *, deleted: bool = False) -> ErpConnection:
    """The live connection called ``name`` (``deleted``: the deleted one, newest first)."""
    gone = ErpConnection.deleted_at.is_not(None) if deleted else ErpConnection.deleted_at.is_(None)
    query = select(ErpConnection).where(ErpConnection.name == name, gone).order_by(ErpConnection.id.desc())
    connection = session.scalars(query).first()
    if connection is None:
        raise NotFoundError(f"no {'deleted ' if deleted else ''}ERP connection named {name!r}")
    return connection


@contextmanager
def configuring(name: str, *, write: bool = False) -> Iterator[tuple[Session, ConnectorClients, ErpConnection]]:
    """The session (a writing one for ``write``), the clients and the live connection ``name``; errors as one line."""
    with (
        cli_errors(),
        hub_and_clients() as (database, clients),
        database.sessions() if write else database.read_session() as session,
    ):
        yield session, clients, connection_named(session, name)


def actor_type_in(session: Session, connection: ErpConnection, actor_type: str) -> tuple[ActorType, list[FieldMeta]]:
    """The actor type (refused when the connection has no part of it) and its ERP fields."""
    erp_fields = configuration_loading.erp_fields_of(session, connection, actor_type)
    return ActorType(actor_type), erp_fields


def config_file(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read the config file {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ValidationError(f"the config file {path} must hold a JSON object of field key -> value")
    return config


def actor_type_of(name: str) -> Any:
    try:
        return ActorType(name)
    except ValueError:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(t.value for t in ActorType)}") from None
