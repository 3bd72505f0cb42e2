"""The ``erpsync`` command line (Typer)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import current_revision, upgrade

app = typer.Typer(help="erpsync: keeps a CRM and ERP systems in sync.", no_args_is_help=True)
connector_app = typer.Typer(help="Run a built-in sync connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")


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

    from erpsync.api.app import create_app

    database = _upgraded_database()
    typer.echo(f"erpsync hub on http://{host}:{port}/api/v1 (database: {database.dialect})")
    uvicorn.run(create_app(get_settings(), database=database), host=host, port=port, log_level="info")


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
