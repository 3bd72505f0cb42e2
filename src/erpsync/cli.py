"""The ``erpsync`` command line (Typer)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import accounts, audit, logins
from erpsync.crypto import cipher_for
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import current_revision, upgrade
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync import connections, connectors
from erpsync.sync.bulkhead import BulkheadPolicy
from erpsync.sync.connections import hub_clients
from erpsync.sync.connectors import ConnectorClients

app = typer.Typer(help="erpsync: keeps a CRM and ERP systems in sync.", no_args_is_help=True)
connector_app = typer.Typer(help="Run a built-in sync connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")


@app.callback()
def _settings_or_exit() -> None:
    """Every command reads the settings first: settings that do not hold (say weak secrets in prod) end it at once."""
    try:
        get_settings()
    except PydanticValidationError as exc:
        for error in exc.errors():
            typer.echo(f"error: {str(error['msg']).removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from exc


@connector_app.command("serve")
def connector_serve(
    name: str = typer.Argument(help="built-in connector: sample or tryton"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8765, help="port to listen on"),
) -> None:
    """Serve a built-in connector over HTTP; its shared secret comes from ERPSYNC_CONNECTOR_SECRET."""
    import uvicorn

    from erpsync.connectors import build_connector
    from erpsync.sdk.app import create_app

    settings = get_settings()
    if not settings.connector_secret:
        raise typer.BadParameter("set ERPSYNC_CONNECTOR_SECRET to the shared secret the hub will sign with")
    connector = build_connector(name, settings)
    uvicorn.run(create_app(connector, secret=settings.connector_secret), host=host, port=port, log_level="info")


@connector_app.command("seed")
def connector_seed(
    name: str = typer.Argument(help="built-in connector with a demo ERP of its own: sample"),
    synthetic: int = typer.Option(0, min=0, help="also insert this many synthetic customers (for benchmarks)"),
    company: str = typer.Option("NORDIC", help="the ERP company that receives the synthetic customers"),
) -> None:
    """Fill the sample ERP in the data folder: demo data on first use, plus synthetic customers if asked."""
    from erpsync.connectors.sample import open_erp
    from erpsync.connectors.sample.seed import generate_synthetic
    from erpsync.protocol.models import ActorType

    if name != "sample":
        raise typer.BadParameter("only the sample connector has a demo ERP to seed")
    erp = open_erp(get_settings())
    with _cli_errors():
        try:
            if synthetic:
                generate_synthetic(erp, synthetic, company=company)
            counts = ", ".join(f"{erp.count(actor_type)} {actor_type}" for actor_type in ActorType)
        finally:
            erp.close()
    typer.echo(f"sample ERP: {counts}")


# --- the hub: serve, database, users and groups ----------------------------------------------------------------------

db_app = typer.Typer(help="The hub's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the hub.", no_args_is_help=True)
groups_app = typer.Typer(help="Groups of users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(groups_app, name="groups")


def _upgraded_database() -> Database:
    """The configured database, migrated to the newest schema first (upgrading is idempotent)."""
    database = Database.from_settings(get_settings())
    upgrade(database.engine)
    return database


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Turn the errors a user can fix into a one-line message and exit code 1, instead of a traceback."""
    try:
        yield
    except ErpsyncError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
) -> None:
    """Migrate the database, then serve the hub's API (and UI) over HTTP."""
    import uvicorn

    from erpsync.app import create_app

    database = _upgraded_database()
    typer.echo(f"erpsync hub on http://{host}:{port}/api/v1 (database: {database.dialect})")
    # uvicorn's proxy_headers would believe X-Forwarded-For from loopback; the hub decides (ERPSYNC_TRUSTED_PROXIES).
    hub = create_app(get_settings(), database=database)
    uvicorn.run(hub, host=host, port=port, log_level="info", proxy_headers=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    database = _upgraded_database()
    typer.echo(f"database at revision {current_revision(database.engine)}")
    database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    login: str = typer.Argument(help="the login name"),
    name: str = typer.Option("", help="full name"),
    admin: bool = typer.Option(False, "--admin", help="give the administrator role"),
    licence: list[str] = typer.Option([], help="grant a licence (repeatable): erp"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
) -> None:
    """Add a user; the password is prompted for unless --password-stdin is given."""
    password = _read_password(password_stdin)
    database = _upgraded_database()
    with _cli_errors(), database.session() as session:
        user = accounts.create_user(
            session, login=login, password=password, name=name, is_admin=admin, licences=licence
        )
        audit.record(
            session,
            user_id=None,
            action="create",
            target_type="user",
            target_id=user.id,
            detail={"login": login, "is_admin": admin, "licences": licence, "via": "cli"},
        )
    typer.echo(f"user {login} added")
    database.dispose()


@users_app.command("list")
def users_list() -> None:
    """List the users: login, roles, licences."""
    database = _upgraded_database()
    with database.session() as session:
        for user in accounts.list_users(session):
            roles = "admin" if user.is_admin else "user"
            state = "" if user.active else " (inactive)"
            typer.echo(f"{user.id}\t{user.login}\t{roles}\t{user.licences or '-'}{state}")
    database.dispose()


@users_app.command("unlock")
def users_unlock(login: str = typer.Argument(help="the login name")) -> None:
    """Lift the throttling of failed sign-ins on a user's login, from every address."""
    database = _upgraded_database()
    with _cli_errors(), database.session() as session:
        user = accounts.get_user(session, _user_id(session, login))
        held = logins.unlock(session, logins.LoginLimiter.from_settings(get_settings()), user)
        audit.record(
            session,
            user_id=None,
            action="unlock",
            target_type="user",
            target_id=user.id,
            detail={"login": login, "addresses": held, "via": "cli"},
        )
    typer.echo(f"user {login} unlocked (held at {held} addresses)")
    database.dispose()


@groups_app.command("add")
def groups_add(
    name: str = typer.Argument(help="the group's name"),
    member: list[str] = typer.Option([], help="login of a member (repeatable)"),
) -> None:
    """Add a group of users."""
    database = _upgraded_database()
    with _cli_errors(), database.session() as session:
        member_ids = [_user_id(session, login) for login in member]
        group = accounts.create_group(session, name=name, member_ids=member_ids)
        audit.record(
            session,
            user_id=None,
            action="create",
            target_type="group",
            target_id=group.id,
            detail={"name": name, "members": member, "via": "cli"},
        )
    typer.echo(f"group {name} added")
    database.dispose()


def _user_id(session: Session, login: str) -> int:
    user = accounts.find_user(session, login)
    if user is None:
        raise NotFoundError(f"no user with login {login!r}")
    return user.id


@groups_app.command("list")
def groups_list() -> None:
    """List the groups and their members."""
    database = _upgraded_database()
    with database.session() as session:
        for group in accounts.list_groups(session):
            typer.echo(f"{group.id}\t{group.name}\t{', '.join(user.login for user in group.members) or '-'}")
    database.dispose()


# --- sync connectors and ERP connections -----------------------------------------------------------------------------

connectors_app = typer.Typer(help="Registered sync connectors.", no_args_is_help=True)
connections_app = typer.Typer(help="ERP connections.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
app.add_typer(connections_app, name="connections")


@contextmanager
def _hub() -> Iterator[tuple[Database, ConnectorClients]]:
    """The migrated database and the connector clients, closed when the command ends."""
    settings = get_settings()
    database = _upgraded_database()
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


def _secret_from(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    secret: str = typer.prompt("Shared secret", hide_input=True)
    return secret


@connectors_app.command("list")
def connectors_list() -> None:
    """List the registered connectors: id, name, URL, what their info says."""
    with _hub() as (database, _clients), database.read_session() as session:
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
    production = get_settings().env == "prod"
    with _cli_errors(), _hub() as (database, clients), database.session() as session:
        connector = connectors.add_connector(
            session, clients, name=name, url=url, secret=secret, by=None, https_required=production
        )
        typer.echo(f"connector {name} added: {connector.info_json['name']} {connector.info_json['version']}")


@connectors_app.command("remove")
def connectors_remove(name: str = typer.Argument(help="the connector's name")) -> None:
    """Remove a connector; refused while connections use it."""
    with _cli_errors(), _hub() as (database, _clients), database.session() as session:
        connector = _connector_named(session, name)
        connectors.delete_connector(session, connector, by=None)
    typer.echo(f"connector {name} removed")


def _connector_named(session: Session, name: str) -> SyncConnector:
    connector = session.scalar(select(SyncConnector).where(SyncConnector.name == name))
    if connector is None:
        raise NotFoundError(f"no sync connector named {name!r}")
    return connector


def _connection_named(session: Session, name: str) -> ErpConnection:
    query = select(ErpConnection).where(ErpConnection.name == name, ErpConnection.deleted_at.is_(None))
    connection = session.scalar(query)
    if connection is None:
        raise NotFoundError(f"no ERP connection named {name!r}")
    return connection


def _config_file(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read the config file {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ValidationError(f"the config file {path} must hold a JSON object of field key -> value")
    return config


@connections_app.command("list")
def connections_list(deleted: bool = typer.Option(False, "--deleted", help="list deleted connections")) -> None:
    """List the ERP connections in sync-priority order."""
    with _hub() as (database, _clients), database.read_session() as session:
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
    with _cli_errors(), _hub() as (database, clients), database.session() as session:
        draft = connections.ConnectionDraft(
            name=name,
            connector_id=_connector_named(session, connector).id,
            config=_config_file(config),
            description=description,
        )
        connection = connections.create_connection(session, clients, draft, by=None)
        typer.echo(f"connection {name} saved (inactive) as {connection.uuid}: {', '.join(connection.actor_types_json)}")


@connections_app.command("test")
def connections_test(name: str = typer.Argument(help="the connection's name")) -> None:
    """Run the connector's test on a saved connection."""
    with _cli_errors(), _hub() as (database, clients):
        with database.read_session() as session:
            connection = _connection_named(session, name)
        answer = connections.client_for(clients, connection).test_connection(connection_id=connection.uuid)
    typer.echo(f"connection {name}: {answer.user_message or 'test passed'}")


# --- conformance and demo --------------------------------------------------------------------------------------------


@app.command("conformance")
def conformance(
    url: str = typer.Argument(help="the connector's base URL"),
    secret: str = typer.Option(..., envvar="ERPSYNC_CONNECTOR_SECRET", help="its shared secret"),
    config: Path = typer.Option(..., help="JSON file with the config of a working connection"),
) -> None:
    """Check a live connector against every rule of the protocol; exits 1 if any rule fails."""
    from rich.console import Console

    from erpsync.testing.conformance import render, run_conformance

    with _cli_errors():
        report = run_conformance(url, secret=secret, config=_config_file(config))
    render(report, Console())
    raise typer.Exit(0 if report.ok else 1)


@app.command("demo")
def demo(
    host: str = typer.Option("127.0.0.1", help="address the hub listens on"),
    port: int = typer.Option(8000, help="port of the hub"),
    connector_port: int = typer.Option(8765, help="port of the sample connector"),
) -> None:
    """Run the product on its embedded default: hub, sample connector with demo data, demo users and CRM data."""
    import uvicorn
    from rich.console import Console
    from rich.table import Table

    from erpsync.app import create_app
    from erpsync.connectors.sample import build_connector as build_sample
    from erpsync.demo import connector_secret, prepare_demo
    from erpsync.sdk.app import create_app as create_connector_app
    from erpsync.testing.server import serve_in_thread

    settings = get_settings()
    sample = build_sample(settings)
    secret = connector_secret(settings.data_dir)
    with (
        serve_in_thread(create_connector_app(sample, secret=secret), port=connector_port) as connector_url,
        _cli_errors(),
        _hub() as (database, clients),
    ):
        summary = prepare_demo(database, clients, sample.erp, connector_url=connector_url, secret=secret)
        table = Table("login", "password", "can")
        for login, password, role in summary.users:
            table.add_row(login, password, role)
        console = Console()
        console.print(f"[bold]erpsync demo[/] on http://{host}:{port}/ (API: http://{host}:{port}/api/v1/docs)")
        console.print(f"sample connector on {connector_url}; connection {summary.connection_name!r} saved")
        console.print(table)
        hub = create_app(settings, database=database)
        uvicorn.run(hub, host=host, port=port, log_level="info", proxy_headers=False)


# --- the sync engine -------------------------------------------------------------------------------------------------


@app.command("sync")
def sync() -> None:
    """Run one sync cycle over every active connection, with a progress bar.

    Exit code 0 only when every run succeeded; 1 when a run failed, was partial (records failing) or was cancelled.
    """
    from rich.progress import Progress

    from erpsync.sync.engine import Engine, RunSummary, active_connection_ids, run_cycle
    from erpsync.sync.runs import RunStatus

    with _hub() as (database, clients), _cli_errors(), Progress() as progress:
        task = progress.add_task("syncing connections", total=len(active_connection_ids(database)))

        def advance(_connection_id: int, _summary: RunSummary | None) -> None:
            progress.advance(task)

        summaries = run_cycle(Engine(database, clients), progress=advance)
    for summary in summaries:
        counts = summary.counts
        typer.echo(
            f"connection {summary.connection_id}: {summary.status}, {counts.records} records, "
            f"{counts.crm_writes} to CRM, {counts.erp_writes} to ERP, {counts.errors} failing, {counts.broken} broken"
            + (f" ({summary.error})" if summary.error else "")
        )
    unsuccessful = [summary for summary in summaries if summary.status != RunStatus.OK.value]
    if unsuccessful:
        states = ", ".join(f"connection {summary.connection_id} {summary.status}" for summary in unsuccessful)
        typer.echo(f"error: {len(unsuccessful)} of {len(summaries)} runs did not succeed: {states}", err=True)
        raise typer.Exit(1)


# --- background work: workers and imports ----------------------------------------------------------------------------


@app.command("worker")
def worker(
    threads: int = typer.Option(2, min=1, help="worker threads in this process"),
    namespace: str = typer.Option("erpsync", help="prefix of the Redis keys (one per hub sharing a Redis)"),
    lease_seconds: float = typer.Option(60.0, min=1, help="how long a dead worker's hold on a connection lasts"),
    poll_seconds: float = typer.Option(1.0, min=0.05, help="how often the scheduler looks for due work"),
    redeliver_seconds: float = typer.Option(30.0, min=0.1, help="re-send a job no worker started after this long"),
) -> None:
    """Run Dramatiq workers on ERPSYNC_REDIS_URL: connection syncs, imports and resyncs, and the scheduler."""
    from datetime import timedelta

    from erpsync.sync.engine import Engine
    from erpsync.worker import WorkerOptions, serve_workers

    options = WorkerOptions(
        threads=threads,
        namespace=namespace,
        lease_ttl=timedelta(seconds=lease_seconds),
        poll_seconds=poll_seconds,
        redeliver_after=timedelta(seconds=redeliver_seconds),
    )
    with _hub() as (database, clients), _cli_errors():
        typer.echo(f"erpsync worker: {threads} threads, database {database.dialect}, queue namespace {namespace}")
        serve_workers(get_settings(), Engine(database, clients), options)


@app.command("import")
def import_actors(
    connection: str = typer.Argument(help="the connection's name"),
    actor_type: str = typer.Argument(help="customer, supplier, partner, person or project"),
    criteria: Path | None = typer.Option(None, help="JSON file with search restrictions [{field, operator, values}]"),
    resume: int | None = typer.Option(None, help="resume the failed or cancelled import with this id instead"),
) -> None:
    """Import ERP actors into the CRM here and now, with a progress bar; re-running resumes, never duplicates."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from erpsync.storage.tables import SyncJob
    from erpsync.sync import imports, jobs
    from erpsync.sync.engine import Engine
    from erpsync.sync.erp_tab import RestrictionInput

    with _hub() as (database, clients), _cli_errors():
        engine = Engine(database, clients)
        with database.session() as session:
            connection_id = _connection_named(session, connection).id
            if resume is not None:
                jobs.requeue(session, jobs.get_job(session, resume, kind=jobs.JobKind.IMPORT))
        if resume is None:
            restrictions = None
            if criteria is not None:
                restrictions = [RestrictionInput(**item) for item in json.loads(criteria.read_text(encoding="utf-8"))]
            job_id = imports.start_import(engine, connection_id, _actor_type(actor_type), restrictions=restrictions).id
        else:
            job_id = resume
        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns) as progress:
            task = progress.add_task("import", total=None)

            def show(job: SyncJob) -> None:
                progress.update(task, total=job.total, completed=job.processed)

            done = imports.run_import(engine, job_id, progress=show)
        if done is None:
            raise ErpsyncError("the connection is being synced: try again when the run ends")
    typer.echo(
        f"import {done.id}: {done.status}; {done.created} created, {done.linked} linked, {done.skipped} skipped"
        + (f" ({done.error})" if done.error else "")
    )
    if done.status != "done":
        raise typer.Exit(1)


def _actor_type(name: str) -> Any:
    from erpsync.protocol.models import ActorType

    try:
        return ActorType(name)
    except ValueError:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(t.value for t in ActorType)}") from None
