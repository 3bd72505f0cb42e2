"""Checking connectors and running the sync: ``erpsync conformance``, ``demo``, ``sync``, ``worker`` and ``import``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from erpsync.cli import common
from erpsync.cli.common import app
from erpsync.errors import ErpsyncError
from erpsync.settings import get_settings


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
        hub = create_app(settings, database=database)
        uvicorn.run(hub, host=host, port=port, log_level="info", log_config=None, proxy_headers=False)


@app.command("sync")
def sync() -> None:
    """Run one sync cycle over every active connection, with a progress bar.

    Exit code 0 only when every run succeeded; 1 when a run failed, was partial (records failing) or was cancelled.
    """
    from rich.progress import Progress

    from erpsync.sync.engine import RunSummary, active_connection_ids, run_cycle
    from erpsync.sync.runs import RunStatus
    from erpsync.sync.work import Engine

    with common.hub_and_clients() as (database, clients), common.cli_errors(), Progress() as progress:
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
    from erpsync.sync.erp_tab import RestrictionInput
    from erpsync.sync.work import Engine

    with common.hub_and_clients() as (database, clients), common.cli_errors():
        engine = Engine(database, clients)
        with database.session() as session:
            connection_id = common.connection_named(session, connection).id
            if resume is not None:
                jobs.requeue(session, jobs.get_job(session, resume, kind=jobs.JobKind.IMPORT))
        if resume is None:
            restrictions = None
            if criteria is not None:
                restrictions = [RestrictionInput(**item) for item in json.loads(criteria.read_text(encoding="utf-8"))]
            job_id = imports.start_import(
                engine, connection_id, common.actor_type_of(actor_type), restrictions=restrictions
            ).id
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
