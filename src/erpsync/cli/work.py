"""Checking connectors and running the sync: ``erpsync conformance``, ``demo``, ``sync``, ``worker`` and ``import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.settings import get_settings
from erpsync.sync import heap

if TYPE_CHECKING:
    from erpsync.sync.runs import RunCounts


@app.command("conformance")
def conformance(
    url: str = typer.Argument(help="the connector's base URL"),
    secret: str = typer.Option(..., envvar="ERPSYNC_CONNECTOR_SECRET", help="its shared secret"),
    config: Path = typer.Option(..., help="JSON file with the config of a working connection"),
    delete_command: str = typer.Option(
        "",
        help="command deleting a record in the ERP, run as CMD ACTOR_TYPE ERP_KEY (exit 0: deleted); without it "
        "deletions cannot be checked and the run is incomplete",
    ),
) -> None:
    """Check a live connector against every rule of the protocol.

    Exit status: 0 conforms, 1 a rule failed, 3 incomplete (no rule failed, some could not be checked).
    """
    from rich.console import Console

    from erpsync.testing.conformance import ConformanceHooks, delete_by_command, render, run_conformance

    with common.cli_errors():
        hooks = ConformanceHooks(delete_actor=delete_by_command(delete_command) if delete_command else None)
        report = run_conformance(url, secret=secret, config=common.config_file(config), hooks=hooks)
    render(report, Console())
    raise typer.Exit(report.exit_code)


@app.command("demo")
def demo(
    host: str = typer.Option("127.0.0.1", help="address the hub listens on"),
    port: int = typer.Option(8000, help="port of the hub"),
    connector_port: int = typer.Option(8765, help="port of the sample connector"),
) -> None:
    """Run the product on its embedded default: hub, sample connector with demo data, demo users and CRM data."""
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
        common.cli_errors(),
        common.hub_and_clients() as (database, clients),
    ):
        summary = prepare_demo(database, clients, sample.erp, connector_url=connector_url, secret=secret)
        table = Table("login", "password", "can")
        for login, password, role in summary.users:
            table.add_row(login, password, role)
        console = Console()
        console.print(f"[bold]erpsync demo[/] on http://{host}:{port}/ (API: http://{host}:{port}/api/v1/docs)")
        console.print(f"sample connector on {connector_url}; connection {summary.connection_name!r} saved")
        console.print(table)
        common.serve_hub(create_app(settings, database=database), host, port)


@app.command("sync")
def sync() -> None:
    """Run one sync cycle over every active connection, with a progress bar.

    Exit code 0 only when every run succeeded; 1 when a run failed, was partial (records failing) or was cancelled.
    """
    from erpsync.sync.engine import RunSummary, active_connection_ids, run_cycle
    from erpsync.sync.runs import RunStatus
    from erpsync.sync.work import Engine

    with common.hub_and_clients() as (database, clients), common.cli_errors():
        total = len(active_connection_ids(database))
        with output.progress_bar("syncing connections", total=total) as (progress, task):

            def advance(_connection_id: int, _summary: RunSummary | None) -> None:
                progress.advance(task)

            summaries = run_cycle(Engine(database, clients), progress=advance)
    for summary in summaries:
        counts = summary.counts
        typer.echo(
            f"connection {summary.connection_id}: {summary.status}, {counts.records} records, "
            f"{counts.crm_writes} to CRM, {counts.erp_writes} to ERP, {counts.errors} failing, {counts.broken} broken"
            + _automatic(counts)
            + (f" ({summary.error})" if summary.error else "")
        )
    unsuccessful = [summary for summary in summaries if summary.status != RunStatus.OK.value]
    if unsuccessful:
        states = ", ".join(f"connection {summary.connection_id} {summary.status}" for summary in unsuccessful)
        typer.echo(f"error: {len(unsuccessful)} of {len(summaries)} runs did not succeed: {states}", err=True)
        raise typer.Exit(1)


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

    from erpsync.sync.work import Engine
    from erpsync.worker import WorkerOptions, serve_workers

    options = WorkerOptions(
        threads=threads,
        namespace=namespace,
        lease_ttl=timedelta(seconds=lease_seconds),
        poll_seconds=poll_seconds,
        redeliver_after=timedelta(seconds=redeliver_seconds),
    )
    with common.hub_and_clients() as (database, clients), common.cli_errors():
        typer.echo(f"erpsync worker: {threads} threads, database {database.dialect}, queue namespace {namespace}")
        heap.freeze_for_good()  # built: the collector leaves the worker's objects alone from now on
        serve_workers(get_settings(), Engine(database, clients), options)


@app.command("import")
def import_actors(
    connection: str = typer.Argument(help="the connection's name"),
    actor_type: str = typer.Argument(help="customer, supplier, partner, person or project"),
    criteria: Path | None = typer.Option(None, help="JSON file with search restrictions [{field, operator, values}]"),
    resume: int | None = typer.Option(None, help="resume the failed or cancelled import with this id instead"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Import ERP actors into the CRM here and now, with a progress bar; re-running resumes, never duplicates."""
    from erpsync.cli.operations import restrictions_from, run_job_here, show_job
    from erpsync.sync import imports, operations
    from erpsync.sync.work import Engine

    with common.hub_and_clients() as (database, clients), common.cli_errors(), database.sessions() as session:
        engine = Engine(database, clients)
        connection_id = common.connection_named(session, connection).id
        if resume is not None:
            job_id = operations.resume_import(session, connection_id, resume, user=None).id
        else:
            restrictions = restrictions_from(criteria)
            parsed = common.actor_type_of(actor_type)
            job_id = operations.start_import(
                session, engine, connection_id, parsed, restrictions=restrictions, user=None
            ).id
        done = run_job_here("importing", lambda show: imports.run_import(engine, job_id, progress=show))
        show_job(done, database, as_json)


def _automatic(counts: RunCounts) -> str:
    """What automatic creation did in a run, when it did anything."""
    if not (counts.auto_linked or counts.auto_created or counts.to_review):
        return ""
    return (
        f"; automatic creation: {counts.auto_linked} linked, {counts.auto_created} created,"
        f" {counts.to_review} to review"
    )
