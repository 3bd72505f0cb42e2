"""The hub itself: ``erpsync serve``, its database (``db``), users, groups and the items of CRM lists (``lists``)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session

from erpsync import accounts, administration, logins
from erpsync.api.schemas import GroupPublic, GroupUpdate, UserPublic, UserUpdate, group_public, user_public
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.crm import lists
from erpsync.crm.schemas import ListItemCreate, ListItemPublic, ListItemUpdate
from erpsync.errors import NotFoundError
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import current_revision

db_app = typer.Typer(help="The hub's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the hub.", no_args_is_help=True)
groups_app = typer.Typer(help="Groups of users.", no_args_is_help=True)
lists_app = typer.Typer(
    help="The items of the CRM's lists (country, business, category, project status).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(groups_app, name="groups")
app.add_typer(lists_app, name="lists")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
) -> None:
    """Migrate the database, then serve the hub's API (and UI) over HTTP."""
    from erpsync.app import create_app

    database = common.upgraded_database()
    _fill_countries(database)
    typer.echo(f"erpsync hub on http://{host}:{port}/api/v1 (database: {database.dialect})")
    settings = get_settings()
    # The event loop answers quick requests (who asks) itself; while request threads compute it waits for the
    # interpreter, at most this long per turn (CPython's default: 5 ms).
    sys.setswitchinterval(settings.http_switch_interval_ms / 1000)
    common.serve_hub(create_app(settings, database=database), host, port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration; a fresh hub's country list is filled from ISO 3166-1."""
    database = common.upgraded_database()
    _fill_countries(database)
    typer.echo(f"database at revision {current_revision(database.engine)}")
    database.dispose()


def _fill_countries(database: Database) -> None:
    """A fresh hub starts with every ISO 3166-1 country in its country list (a used list is left as it is)."""
    with database.sessions() as session:
        added = administration.fill_countries(session, by=None, via="cli")
    if added:
        typer.echo(f"country list filled with {added} ISO 3166-1 countries")


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
def users_list(as_json: bool = output.JSON_OPTION) -> None:
    """List the users: login, roles, licences."""
    database = common.upgraded_database()
    with database.read_session() as session:
        users = [user_public(user) for user in accounts.list_users(session)]
    database.dispose()
    if as_json:
        output.print_json(users)
        return
    for user in users:
        roles = "admin" if user.is_admin else "user"
        state = "" if user.active else " (inactive)"
        typer.echo(f"{user.id}\t{user.login}\t{roles}\t{','.join(user.licences) or '-'}{state}")


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
def groups_list(as_json: bool = output.JSON_OPTION) -> None:
    """List the groups and their members."""
    database = common.upgraded_database()
    with database.read_session() as session:
        groups = accounts.list_groups(session)
        public = [group_public(group) for group in groups]
        lines = [f"{g.id}\t{g.name}\t{', '.join(user.login for user in g.members) or '-'}" for g in groups]
    database.dispose()
    if as_json:
        output.print_json(public)
        return
    for line in lines:
        typer.echo(line)


@users_app.command("update")
def users_update(
    login: str = typer.Argument(help="the login name"),
    name: str | None = typer.Option(None, help="new full name"),
    admin: bool | None = typer.Option(None, "--admin/--no-admin", help="give or take the administrator role"),
    licence: list[str] | None = typer.Option(None, help="the licences, replacing the current ones (repeatable): erp"),
    no_licences: bool = typer.Option(False, "--no-licences", help="take every licence"),
    active: bool | None = typer.Option(None, "--active/--inactive", help="let the user sign in, or not"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="set a new password, read from stdin"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Change a user: what is not given stays as it is."""
    if licence and no_licences:
        raise typer.BadParameter("give --licence or --no-licences, not both")
    changes = {"name": name, "is_admin": admin, "active": active, "licences": [] if no_licences else licence or None}
    body = {key: value for key, value in changes.items() if value is not None}
    if password_stdin:
        body["password"] = _read_password(True)
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        parsed = UserUpdate.model_validate(body)
        user = administration.update_user(
            session, _user_id(session, login), parsed.model_dump(exclude_unset=True), by=None, via="cli"
        )
        public = user_public(user)
    database.dispose()
    _show_user(public, as_json)


def _show_user(user: UserPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(user)
    else:
        output.print_fields(f"user {user.login}", user.model_dump())


@users_app.command("remove")
def users_remove(login: str = typer.Argument(help="the login name")) -> None:
    """Delete a user."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        administration.delete_user(session, _user_id(session, login), by=None, via="cli")
    database.dispose()
    typer.echo(f"user {login} removed")


def _group_id(session: Session, name: str) -> int:
    group = next((group for group in accounts.list_groups(session) if group.name == name), None)
    if group is None:
        raise NotFoundError(f"no group named {name!r}")
    return group.id


@groups_app.command("update")
def groups_update(
    name: str = typer.Argument(help="the group's name"),
    new_name: str | None = typer.Option(None, "--name", help="a new name"),
    description: str | None = typer.Option(None, help="a new description"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Rename a group or change its description."""
    _update_group(name, {"name": new_name, "description": description}, as_json=as_json)


@groups_app.command("members")
def groups_members(
    name: str = typer.Argument(help="the group's name"),
    member: list[str] = typer.Option([], help="login of a member (repeatable); the list replaces the members"),
    add: list[str] = typer.Option([], help="login of a user to add (repeatable)"),
    remove: list[str] = typer.Option([], help="login of a user to take out (repeatable)"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Show a group's members, or change them: --member sets them all, --add and --remove change some."""
    if member and (add or remove):
        raise typer.BadParameter("give --member, or --add / --remove, not both")
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        group = accounts.get_group(session, _group_id(session, name))
        logins_now = [user.login for user in group.members]
        wanted = member or [login for login in [*logins_now, *add] if login not in remove]
        ids = [_user_id(session, login) for login in dict.fromkeys(wanted)]
        public = group_public(group)
    database.dispose()
    if member or add or remove:
        _update_group(name, {"members": ids}, as_json=as_json)
    else:
        _show_group(public, as_json)


def _update_group(name: str, changes: dict[str, object], *, as_json: bool) -> None:
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        body = GroupUpdate.model_validate({key: value for key, value in changes.items() if value is not None})
        group = administration.update_group(
            session,
            _group_id(session, name),
            name=body.name,
            description=body.description,
            member_ids=body.members,
            by=None,
            via="cli",
        )
        public = group_public(group)
    database.dispose()
    _show_group(public, as_json)


def _show_group(group: GroupPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(group)
    else:
        output.print_fields(f"group {group.name}", group.model_dump())


@groups_app.command("remove")
def groups_remove(name: str = typer.Argument(help="the group's name")) -> None:
    """Delete a group (its members stay)."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        administration.delete_group(session, _group_id(session, name), by=None, via="cli")
    database.dispose()
    typer.echo(f"group {name} removed")


# --- CRM lists --------------------------------------------------------------------------------------------------------


@lists_app.command("show")
def lists_show(
    name: str = typer.Argument(help="the list's name, country, business, category or project_status"),
    deleted: bool = typer.Option(False, "--deleted", help="include deleted items"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """The items of a CRM list, in their order."""
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        items = lists.list_items(session, lists.parse_list_name(name), include_deleted=deleted)
        public = [ListItemPublic.model_validate(item) for item in items]
    database.dispose()
    if as_json:
        output.print_json(public)
        return
    rows = ((item.id, item.label, item.rank, "deleted" if item.deleted else "") for item in public)
    output.print_table(f"list {name}", ("id", "label", "rank", ""), rows)


@lists_app.command("add")
def lists_add(
    name: str = typer.Argument(help="the list's name"),
    label: str = typer.Argument(help="the new item's label"),
    rank: int | None = typer.Option(None, help="its place in the list (default: last)"),
) -> None:
    """Add an item to a CRM list."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        body = ListItemCreate(label=label, rank=rank)
        item = administration.add_list_item(session, name, label=body.label, rank=body.rank, by=None, via="cli")
        typer.echo(f"item {item.id} {item.label!r} added to {name}")
    database.dispose()


@lists_app.command("rename")
def lists_rename(
    name: str = typer.Argument(help="the list's name"),
    item_id: int = typer.Argument(help="the item's id (see lists show)"),
    label: str = typer.Argument(help="the item's new label"),
) -> None:
    """Give an item of a CRM list a new label."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        changes = ListItemUpdate(label=label).model_dump(exclude_unset=True)
        item = administration.update_list_item(session, name, item_id, changes, by=None, via="cli")
        typer.echo(f"item {item.id} of {name} renamed to {item.label!r}")
    database.dispose()
