"""Configuration as code: ``erpsync config export`` and ``erpsync config apply FILE`` (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from erpsync.cli import common
from erpsync.cli.common import app
from erpsync.crypto import cipher_for
from erpsync.errors import ValidationError
from erpsync.settings import get_settings
from erpsync.sync import config_file
from erpsync.sync.config_apply import apply_plan
from erpsync.sync.config_export import export_config
from erpsync.sync.config_plan import Change, make_plan

config_app = typer.Typer(help="The hub's configuration as one YAML file.", no_args_is_help=True)
app.add_typer(config_app, name="config")

_MARKS = {"added": ("+", "green"), "changed": ("~", "yellow"), "unchanged": ("=", None)}


@config_app.command("export")
def config_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file (default: standard output)"),
) -> None:
    """Write connectors, connections, mappings, list mappings, defaults, ranks, policies, the sync priority, CRM list
    items, users and groups as YAML; secrets as references to environment variables, never their values."""
    database = common.upgraded_database()
    try:
        with database.read_session() as session:
            text = config_file.dump(export_config(session, cipher_for(get_settings())))
    finally:
        database.dispose()
    if output is None:
        typer.echo(text, nl=False)
        return
    with common.cli_errors():
        _write(output, text)
    typer.echo(f"configuration written to {output}")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror}") from None


@config_app.command("apply")
def config_apply(
    file: Path = typer.Argument(help="the YAML file (from `erpsync config export`)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would change and apply nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="apply without asking"),
) -> None:
    """Show what the file changes, then apply it in one transaction: all of it or nothing. An invalid file is refused
    with every reason. Objects the file does not name are left as they are."""
    with common.cli_errors():
        config = config_file.load(_read(file))
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        plan = make_plan(database, clients, config, base=file.parent)
        try:
            _show(plan.changes)
            if not plan.changes_anything:
                typer.echo("no change")
                return
            if dry_run:
                typer.echo("dry run: nothing applied")
                return
            if not yes and not typer.confirm("Apply these changes?"):
                typer.echo("nothing applied")
                raise typer.Exit(1)
            changes = apply_plan(database, clients, plan, by=None)
        finally:
            plan.close()
    added = sum(change.kind == "added" for change in changes)
    changed = sum(change.kind == "changed" for change in changes)
    typer.echo(f"applied: {added} added, {changed} changed")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None


def _show(changes: list[Change]) -> None:
    """One line per object: ``+`` added, ``~`` changed (with the fields that change, then old -> new for short plain
    values; a secret only says that it changes), ``=`` unchanged."""
    for change in changes:
        mark, colour = _MARKS[change.kind]
        detail = f": {', '.join(change.fields)}" if change.fields else ""
        typer.secho(f"{mark} {change.what} {change.name}{detail}", fg=colour)
        for line in change.details:
            typer.echo(f"    {line}")
