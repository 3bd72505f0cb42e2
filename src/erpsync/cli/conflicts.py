"""``erpsync conflicts list|resolve``: the conflict inbox from the command line, which sees every open conflict."""

from __future__ import annotations

import typer

from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.sync import conflicts, operations
from erpsync.sync.merge import Side
from erpsync.sync.work import Engine

conflicts_app = typer.Typer(
    help="Conflicts on fields whose policy is ask, waiting for a person to choose a side.", no_args_is_help=True
)
app.add_typer(conflicts_app, name="conflicts")


@conflicts_app.command("list")
def conflicts_list(
    connection: str | None = typer.Option(None, "--connection", help="only the conflicts of this connection"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Every open conflict, oldest first."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection_id = common.connection_named(session, connection).id if connection else None
        found = conflicts.inbox(session, None, connection_id=connection_id)
    if as_json:
        output.print_json(found)
        return
    rows = (
        (c.id, c.connection_name, f"{c.entity_type} {c.entity_id}", c.erp_key, c.field, c.crm_value, c.erp_value)
        for c in found
    )
    output.print_table("open conflicts", ("id", "connection", "record", "ERP key", "field", "CRM", "ERP"), rows)


@conflicts_app.command("resolve")
def conflicts_resolve(
    ids: list[int] = typer.Argument(..., help="the conflicts' ids (see conflicts list)"),
    keep: Side = typer.Option(..., "--keep", help="the side whose value both sides take: crm or erp"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Settle conflicts in favour of one side and sync their records at once."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        results = operations.resolve_conflicts(session, Engine(database, clients), ids, keep, user=None)
    output.print_record_results(results, as_json, none="no conflict settled")
