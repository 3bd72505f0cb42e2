"""The field history from the command line (``sync.operations``' use cases): ``erpsync history show|revert|keep|
purge`` and ``erpsync runs undo``; ``--json`` prints what the API answers for the same thing."""

from __future__ import annotations

import typer

from erpsync.api.history_schemas import RunUndoPublic, field_change_public, undo_public
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.cli.operations import runs_app
from erpsync.crm.fields import EntityType
from erpsync.sync import field_history, operations
from erpsync.sync.work import Engine

history_app = typer.Typer(help="The field history: who wrote each value, revert, retention.", no_args_is_help=True)
app.add_typer(history_app, name="history")


def _show_undo(what: str, result: RunUndoPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(result)
        return
    typer.echo(f"{what}: run {result.run_id}, {len(result.written)} fields written back, {result.deleted} deleted")
    for item in result.left_alone:
        typer.echo(f"left alone: {item.entity_type} {item.entity_id} {item.side} {item.field}: {item.message}")


@runs_app.command("undo")
def runs_undo(run_id: int = typer.Argument(help="the run's id"), as_json: bool = output.JSON_OPTION) -> None:
    """Undo a run field by field, on both sides; fields edited since are left alone and listed."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        result = undo_public(operations.undo_run(session, Engine(database, clients), run_id, user=None))
    _show_undo(f"run {run_id} undone", result, as_json)


@history_app.command("show")
def history_show(
    entity_type: EntityType = typer.Argument(help="company, person or project"),
    entity_id: int = typer.Argument(help="the record's id"),
    limit: int = typer.Option(100, min=1, max=field_history.MAX_HISTORY_PAGE, help="how many"),
    offset: int = typer.Option(0, min=0, help="how many to skip"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """A record's field changes, newest first: side, field, old -> new, who wrote it and when."""
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        found = field_history.record_history(session, entity_type.value, entity_id, limit=limit, offset=offset)
        changes = [field_change_public(change) for change in found]
    database.dispose()
    if as_json:
        output.print_json(changes)
        return
    rows = (
        (c.id, c.at.isoformat(timespec="seconds"), c.side, c.field, c.old_value, c.new_value, c.source, c.run_id)
        for c in changes
    )
    headers = ("id", "when", "side", "field", "old", "new", "source", "run")
    output.print_table(f"{entity_type.value} {entity_id}", headers, rows)


@history_app.command("revert")
def history_revert(
    change_id: int = typer.Argument(help="the change's id (erpsync history show)"), as_json: bool = output.JSON_OPTION
) -> None:
    """Write back the value a change replaced, on the side it was made (left alone if edited since)."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        result = undo_public(operations.revert_field(session, Engine(database, clients), change_id, user=None))
    _show_undo(f"change {change_id} reverted", result, as_json)


@history_app.command("keep")
def history_keep(days: int = typer.Argument(help="how many days the history is kept")) -> None:
    """Set the history's retention; older changes are purged in the background."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        operations.save_history_days(session, days)
    database.dispose()
    typer.echo(f"the field history is kept {days} days")


@history_app.command("purge")
def history_purge() -> None:
    """Purge the changes older than the retention now (the background work does it daily)."""
    database = common.upgraded_database()
    with common.cli_errors():
        purged = field_history.purge(database)
    database.dispose()
    typer.echo(f"{purged.rows} changes older than {purged.before.isoformat(timespec='seconds')} purged")
