"""The hub itself: ``erpsync serve``, its database (``db``), users and groups."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session

from erpsync import accounts, administration, logins
from erpsync.cli import common
from erpsync.cli.common import app
from erpsync.errors import NotFoundError
from erpsync.settings import get_settings
from erpsync.storage.migrate import current_revision

db_app = typer.Typer(help="The hub's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the hub.", no_args_is_help=True)
groups_app = typer.Typer(help="Groups of users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(groups_app, name="groups")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
) -> None:
    """Migrate the database, then serve the hub's API (and UI) over HTTP."""
    import uvicorn

    from erpsync.app import create_app

    database = common.upgraded_database()
    typer.echo(f"erpsync hub on http://{host}:{port}/api/v1 (database: {database.dialect})")
    # uvicorn's proxy_headers would believe X-Forwarded-For from loopback; the hub decides (ERPSYNC_TRUSTED_PROXIES).
    hub = create_app(get_settings(), database=database)
    uvicorn.run(hub, host=host, port=port, log_level="info", log_config=None, proxy_headers=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    database = common.upgraded_database()
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
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        administration.create_user(
            session, login=login, password=password, name=name, is_admin=admin, licences=licence, by=None, via="cli"
        )
    typer.echo(f"user {login} added")
    database.dispose()


@users_app.command("list")
def users_list() -> None:
    """List the users: login, roles, licences."""
    database = common.upgraded_database()
    with database.session() as session:
        for user in accounts.list_users(session):
            roles = "admin" if user.is_admin else "user"
            state = "" if user.active else " (inactive)"
            typer.echo(f"{user.id}\t{user.login}\t{roles}\t{user.licences or '-'}{state}")
    database.dispose()


@users_app.command("unlock")
def users_unlock(login: str = typer.Argument(help="the login name")) -> None:
    """Lift the throttling of failed sign-ins on a user's login, from every address."""
    database = common.upgraded_database()
    limiter = logins.LoginLimiter.from_settings(get_settings())
    with common.cli_errors(), database.sessions() as session:
        held = logins.unlock_user(session, limiter, _user_id(session, login), by=None, via="cli")
    typer.echo(f"user {login} unlocked (held at {held} addresses)")
    database.dispose()


@groups_app.command("add")
def groups_add(
    name: str = typer.Argument(help="the group's name"),
    member: list[str] = typer.Option([], help="login of a member (repeatable)"),
) -> None:
    """Add a group of users."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        member_ids = [_user_id(session, login) for login in member]
        administration.create_group(session, name=name, member_ids=member_ids, by=None, via="cli")
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
    database = common.upgraded_database()
    with database.session() as session:
        for group in accounts.list_groups(session):
            typer.echo(f"{group.id}\t{group.name}\t{', '.join(user.login for user in group.members) or '-'}")
    database.dispose()
