"""A connection's problems from the command line (``sync.problems`` and ``sync.operations``): ``erpsync problems
list`` (every failing and broken record), ``groups`` (failing records grouped by cause, with where to fix each),
``retry`` (one record, every one, or a whole cause) and ``unlink`` (a broken link)."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from erpsync.api.engine_schemas import link_public
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.sync import links, operations, problems
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine

problems_app = typer.Typer(help="A connection's failing and broken records, grouped by cause.", no_args_is_help=True)
app.add_typer(problems_app, name="problems")

CONNECTION = typer.Argument(help="the connection's name")


@problems_app.command("list")
def problems_list(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """The connection's failing records (tried again with back-off) and broken ones (they need a person)."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection_id = common.connection_named(session, name).id
        found = [link_public(link) for link in links.problem_links(session, connection_id)]
    if as_json:
        output.print_json(found)
        return
    rows = (
        (k.id, k.state, f"{k.entity_type} {k.entity_id}", k.erp_key, k.attempts, k.error_reason, k.last_error)
        for k in found
    )
    output.print_table(
        f"problems of {name}", ("link", "state", "record", "ERP key", "attempts", "reason", "error"), rows
    )


@problems_app.command("groups")
def problems_groups(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """Failing records grouped by cause (error code and message with numbers, ids and quoted values left out), the
    largest first, with where to fix each; then the broken links. Retry a cause with ``retry --cause``."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        found = problems.connection_problems(session, common.connection_named(session, name).id, user=None)
    if as_json:
        output.print_json(found)
        return
    rows = (
        (g.cause, g.records, g.error_code, g.message, g.fix.value, g.first_seen, g.last_seen, _examples(g))
        for g in found.groups
    )
    columns = ("cause", "records", "code", "message", "fix in", "first seen", "last seen", "e.g. links")
    output.print_table(f"problems of {name} by cause", columns, rows)
    broken = ((b.link_id, f"{b.entity_type} {b.entity_id}", b.actor_type, b.erp_key) for b in found.broken)
    output.print_table(f"broken links of {name}", ("link", "record", "actor type", "ERP key"), broken)


def _examples(group: problems.ProblemGroup) -> str:
    return ", ".join(str(example.link_id) for example in group.examples)


@problems_app.command("retry")
def problems_retry(
    name: str = CONNECTION,
    link_id: int | None = typer.Argument(None, help="the failing record's link id (see problems list)"),
    retry_all: bool = typer.Option(False, "--all", help="retry every failing record"),
    cause: str | None = typer.Option(None, "--cause", help="un-park every failing record of a cause (see groups)"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Sync a failing record again at once (or every one with --all). Exit code 1 unless each is in sync after.
    With --cause, every record of the cause is un-parked in one go and the next run syncs them."""
    if sum((link_id is not None, retry_all, cause is not None)) != 1:
        raise typer.BadParameter("give a link id, --all or --cause, one of the three")
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        connection_id = common.connection_named(session, name).id
        if cause is not None:
            scheduled = problems.retry_group(session, connection_id, cause, user=None)
            _show_scheduled(name, scheduled, as_json)
            return
        sync = Engine(database, clients)
        ids = [link_id] if link_id is not None else [k.id for k in links.failing_links(session, connection_id)]
        results = _retry(session, sync, connection_id, ids)
    output.print_record_results(results, as_json, none="no failing records")
    if any(result.state != links.LinkState.OK.value for result in results):
        raise typer.Exit(1)


def _show_scheduled(name: str, scheduled: int, as_json: bool) -> None:
    if as_json:
        output.print_json({"records": scheduled})
    else:
        typer.echo(f"{scheduled} record(s) will be retried on the next run (erpsync connections sync {name} now)")


@problems_app.command("unlink")
def problems_unlink(
    name: str = CONNECTION, link_id: int = typer.Argument(help="the broken link's id (see problems groups)")
) -> None:
    """Remove a broken link (nothing is deleted in the CRM or the ERP); then link the record to another actor or
    create it again in the ERP from its ERP tab."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        problems.unlink_broken(session, common.connection_named(session, name).id, link_id, user=None)
    typer.echo(f"link {link_id} removed")


def _retry(session: Session, sync: Engine, connection_id: int, ids: list[int]) -> list[RecordResult]:
    results = []
    with output.progress_bar("retrying", total=len(ids)) as (progress, task):
        for link_id in ids:
            result = operations.retry_failing_record(session, sync, connection_id, link_id, user=None)
            results.append(result)
            progress.advance(task)
    return results
