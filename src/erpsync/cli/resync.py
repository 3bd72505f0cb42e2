"""``erpsync connections resync``: a resync in any scope (from the CRM or the connection's ERP; the whole connection,
one actor type or chosen records), here and now with a progress bar, or ``--dry-run`` to see what it would change."""

from __future__ import annotations

import typer

from erpsync.api.resync_schemas import DryRunPublic, dry_run_public
from erpsync.cli import common, output
from erpsync.cli.connections import connections_app
from erpsync.cli.operations import CONNECTION, run_job_here, show_job
from erpsync.protocol.models import ActorType
from erpsync.sync import operations, resync
from erpsync.sync.merge import Side
from erpsync.sync.work import Engine


@connections_app.command("resync")
def connections_resync(
    name: str = CONNECTION,
    source: Side = typer.Option(Side.CRM, "--from", help="crm: CRM values to the ERP; erp: ERP values into the CRM"),
    actor_type: ActorType | None = typer.Option(None, "--type", help="only this actor type"),
    records: list[int] | None = typer.Option(None, "--record", help="a chosen CRM record's id (with --type); repeat"),
    no_blank_overwrite: bool | None = typer.Option(
        None,
        "--no-blank-overwrite/--blank-overwrite",
        help="keep filled values from blank ones (default: the connection's option)",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what it would change, write nothing"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Send the linked records' values from one side to the other again, ignoring change detection."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        sync = Engine(database, clients)
        scope = resync.ResyncScope(source, actor_type, tuple(records) if records else None)
        connection_id = common.connection_named(session, name).id
        if dry_run:
            found = operations.dry_run_resync(
                session, sync, connection_id, no_blank_overwrite=no_blank_overwrite, user=None, scope=scope
            )
            _show_dry_run(dry_run_public(found), as_json)
            return
        job = operations.start_resync(
            session, sync, connection_id, no_blank_overwrite=no_blank_overwrite, user=None, scope=scope
        )
        done = run_job_here("resyncing", lambda show: resync.run_resync(sync, job.id, progress=show))
    show_job(done, database, as_json)


def _show_dry_run(result: DryRunPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(result)
        return
    rows = (
        (f"{row.entity_type} {row.entity_id}", row.erp_key, f.side, f.field, f.old, f.new)
        for row in result.rows
        for f in row.fields
    )
    output.print_table("would change", ("record", "ERP key", "side", "field", "old", "new"), rows)
    more = "" if result.complete else " (the first records only: the scope has more)"
    typer.echo(f"{result.changed} of {result.records} records would change, {result.failing} failing{more}")
