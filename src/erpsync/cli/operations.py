"""What an administrator starts by hand and watches, from the command line (``sync.operations``' use cases):
``erpsync connections sync|health``, ``engine show|on|off|interval``, ``runs list|show|events|cancel``
and ``imports list|preview|resume|undo|cancel`` (``problems`` is in ``cli.problems``, ``connections resync`` in
``cli.resync``).

Long work (a sync, an import, a resync) runs here and now with a progress bar on standard error; ``--json`` prints
what the API answers for the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from erpsync.api.engine_schemas import (
    EngineBody,
    EventPublic,
    HealthPublic,
    RunProgressPublic,
    RunPublic,
    event_public,
    health_public,
    run_progress_public,
    run_public,
)
from erpsync.api.import_schemas import RestrictionBody
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.cli.connections import connections_app
from erpsync.errors import ErpsyncError
from erpsync.protocol.models import MAX_LIMIT
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncJob, SyncRun, utcnow
from erpsync.sync import engine_settings, imports, jobs, operations, runs
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.job_views import JobPublic, job_public
from erpsync.sync.work import Engine

engine_app = typer.Typer(help="Automatic sync: on or off, and how often.", no_args_is_help=True)
runs_app = typer.Typer(help="The sync history: runs and what they did to each record.", no_args_is_help=True)
imports_app = typer.Typer(
    help="Imports from an ERP: list, preview, resume, undo, cancel (start one with erpsync import).",
    no_args_is_help=True,
)
app.add_typer(engine_app, name="engine")
app.add_typer(runs_app, name="runs")
app.add_typer(imports_app, name="imports")

CONNECTION = typer.Argument(help="the connection's name")


# --- sync now, health -----------------------------------------------------------------------------------------------


def _show_run(run: RunPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(run)
        return
    counts = ", ".join(f"{value} {key}" for key, value in run.counts.items())
    typer.echo(f"run {run.id} ({run.kind}): {run.status}; {counts}" + (f" ({run.error})" if run.error else ""))


@connections_app.command("sync")
def connections_sync(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """Sync now: one run of the connection, here and now. Exit code 1 unless the run succeeded."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        connection_id = common.connection_named(session, name).id
        with output.progress_bar(f"syncing {name}"):
            summary = operations.sync_connection_now(session, Engine(database, clients), connection_id, user=None)
        run = run_public(runs.get_run(session, summary.run_id))
    _show_run(run, as_json)
    if run.status != runs.RunStatus.OK.value:
        raise typer.Exit(1)


@connections_app.command("health")
def connections_health(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """How many records are in sync, failing and broken, and the last run."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection = operations.live_connection(session, common.connection_named(session, name).id, user=None)
        health = health_public(runs.connection_health(session, connection.id))
    if as_json:
        output.print_json(health)
        return
    _health_table(name, health)


def _health_table(name: str, health: HealthPublic) -> None:
    last = health.last_run
    fields: dict[str, object] = {"in sync": health.in_sync, "failing": health.failing, "broken": health.broken}
    fields["outside the sync filter"] = health.filtered
    fields["last run"] = f"{last.id} {last.kind} {last.status} at {last.started_at:%Y-%m-%d %H:%M:%S}" if last else None
    output.print_fields(f"connection {name}", fields)


# --- long work: a job run here and now ----------------------------------------------------------------------------


def run_job_here(description: str, run: Callable[[Callable[[SyncJob], None]], SyncJob | None]) -> SyncJob:
    """Run an import or a resync job here and now with a progress bar; refused while the connection is being synced."""
    with output.progress_bar(description) as (progress, task):

        def show(job: SyncJob) -> None:
            progress.update(task, total=job.total, completed=job.processed)

        done = run(show)
    if done is None:
        raise ErpsyncError("the connection is being synced: try again when the run ends")
    return done


def show_job(job: SyncJob, database: Database, as_json: bool) -> None:
    """The job as the API shows it; exit code 1 unless it is done."""
    with database.read_session() as session:
        public = job_public(job, session.get(SyncRun, job.run_id) if job.run_id else None)
    if as_json:
        output.print_json(public)
    else:
        typer.echo(
            f"{public.kind} {public.id}: {public.status}; {public.created} created, {public.linked} linked, "
            f"{public.skipped} skipped, {public.failed} failed" + (f" ({public.error})" if public.error else "")
        )
    if public.status != "done":
        raise typer.Exit(1)


# --- engine -----------------------------------------------------------------------------------------------------------


def _save_engine(changes: dict[str, object], as_json: bool) -> None:
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        current = engine_settings.engine_settings(session)
        body = EngineBody.model_validate(
            {"running": current.running, "interval_seconds": current.interval_seconds} | changes
        )
        operations.save_engine_settings(session, engine_settings.EngineSettings(body.running, body.interval_seconds))
    database.dispose()
    _show_engine(body, as_json)


def _show_engine(body: EngineBody, as_json: bool) -> None:
    if as_json:
        output.print_json(body)
    else:
        state = "on" if body.running else "off"
        typer.echo(f"automatic sync {state}, every {body.interval_seconds} seconds")


@engine_app.command("show")
def engine_show(as_json: bool = output.JSON_OPTION) -> None:
    """Whether the engine syncs the active connections by itself, and how often."""
    database = common.upgraded_database()
    with database.read_session() as session:
        settings = engine_settings.engine_settings(session)
    database.dispose()
    _show_engine(EngineBody(running=settings.running, interval_seconds=settings.interval_seconds), as_json)


@engine_app.command("on")
def engine_on(as_json: bool = output.JSON_OPTION) -> None:
    """Switch automatic sync on."""
    _save_engine({"running": True}, as_json)


@engine_app.command("off")
def engine_off(as_json: bool = output.JSON_OPTION) -> None:
    """Switch automatic sync off (Sync now, imports and resyncs still run)."""
    _save_engine({"running": False}, as_json)


@engine_app.command("interval")
def engine_interval(
    seconds: int = typer.Argument(help="seconds between two cycles"), as_json: bool = output.JSON_OPTION
) -> None:
    """Set how often automatic sync runs."""
    _save_engine({"interval_seconds": seconds}, as_json)


# --- runs -------------------------------------------------------------------------------------------------------------


@runs_app.command("list")
def runs_list(
    connection: str | None = typer.Option(None, help="only the runs of this connection"),
    limit: int = typer.Option(50, min=1, max=500, help="how many"),
    offset: int = typer.Option(0, min=0, help="how many newer ones to skip"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """The runs, newest first."""
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        connection_id = common.connection_named(session, connection).id if connection else None
        found = [
            run_public(run) for run in runs.list_runs(session, connection_id=connection_id, limit=limit, offset=offset)
        ]
    database.dispose()
    if as_json:
        output.print_json(found)
        return
    rows = (
        (r.id, r.connection_id, r.kind, r.status, f"{r.started_at:%Y-%m-%d %H:%M:%S}", _counts(r.counts), r.error)
        for r in found
    )
    output.print_table("runs", ("id", "connection", "kind", "status", "started", "counts", "error"), rows)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if value)


def _progress(session: Session, run_id: int) -> RunProgressPublic:
    run = runs.get_run(session, run_id)
    return run_progress_public(run, jobs.job_of_run(session, run_id), now=utcnow())


def _show_progress(run: RunProgressPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(run)
    else:
        output.print_fields(f"run {run.id}", run.model_dump(exclude={"job"}))


@runs_app.command("show")
def runs_show(run_id: int = typer.Argument(help="the run's id"), as_json: bool = output.JSON_OPTION) -> None:
    """A run: status, counts, progress and ETA, the import or resync it belongs to."""
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        progress = _progress(session, run_id)
    database.dispose()
    _show_progress(progress, as_json)


@runs_app.command("events")
def runs_events(
    run_id: int = typer.Argument(help="the run's id"),
    limit: int = typer.Option(500, min=1, max=5000, help="how many"),
    offset: int = typer.Option(0, min=0, help="how many to skip"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """What a run did to each record: the fields it changed and the errors."""
    database = common.upgraded_database()
    with common.cli_errors(), database.read_session() as session:
        runs.get_run(session, run_id)
        events = [event_public(event) for event in runs.run_events(session, run_id, limit=limit, offset=offset)]
    database.dispose()
    if as_json:
        output.print_json(events)
        return
    output.print_table(f"run {run_id}", ("record", "ERP key", "changed", "errors"), (_event_row(e) for e in events))


def _event_row(event: EventPublic) -> tuple[object, ...]:
    record = f"{event.entity_type} {event.entity_id}" if event.entity_type else None
    changed = ", ".join(str(change.get("field", "")) for change in event.changes)
    errors = "; ".join(str(error.get("message", error)) for error in event.errors)
    return record, event.erp_key, changed, errors


@runs_app.command("cancel")
def runs_cancel(run_id: int = typer.Argument(help="the run's id"), as_json: bool = output.JSON_OPTION) -> None:
    """Ask a running run to stop at its next page: what it stored stays, the next run resumes there."""
    database = common.upgraded_database()
    with common.cli_errors(), database.sessions() as session:
        operations.cancel_run(session, database, run_id)
        progress = _progress(session, run_id)
    database.dispose()
    _show_progress(progress, as_json)


# --- imports ----------------------------------------------------------------------------------------------------------


def restrictions_from(criteria: Path | None) -> list[RestrictionInput] | None:
    """The search restrictions in the JSON file ``criteria`` ([{field, operator, values}], as the API takes them)."""
    if criteria is None:
        return None
    data = output.read_body(str(criteria))
    return [RestrictionBody.model_validate(item).input() for item in TypeAdapter(list[Any]).validate_python(data)]


@imports_app.command("preview")
def imports_preview(
    name: str = CONNECTION,
    actor_type: str = typer.Argument(help="customer, supplier, partner, person or project"),
    criteria: Path | None = typer.Option(None, help="JSON file with search restrictions [{field, operator, values}]"),
    limit: int = typer.Option(imports.PREVIEW_LIMIT, min=1, max=MAX_LIMIT, help="how many actors at most"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """What an import would do with each actor the search finds: create, link (to which record) or skip."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        rows = operations.preview_import(
            session,
            Engine(database, clients),
            common.connection_named(session, name).id,
            common.actor_type_of(actor_type),
            restrictions=restrictions_from(criteria),
            limit=limit,
            user=None,
        )
    if as_json:
        output.print_json(rows)
        return
    cells = ((row.erp_key, row.label, row.verb.value, row.entity_id, row.reason) for row in rows)
    output.print_table("preview", ("ERP key", "name", "action", "record", "reason"), cells)


def _show_jobs(jobs_found: list[JobPublic], as_json: bool) -> None:
    if as_json:
        output.print_json(jobs_found)
        return
    rows = (
        (
            j.id,
            j.actor_type,
            j.status,
            f"{j.processed}/{j.total if j.total is not None else '?'}",
            j.created,
            j.linked,
            j.skipped,
            j.failed,
            j.error,
        )
        for j in jobs_found
    )
    output.print_table(
        "imports", ("id", "type", "status", "done", "created", "linked", "skipped", "failed", "error"), rows
    )


@imports_app.command("list")
def imports_list(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """The connection's imports, newest first."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection_id = common.connection_named(session, name).id
        found = [
            job_public(job, session.get(SyncRun, job.run_id) if job.run_id else None)
            for job in jobs.list_jobs(session, connection_id, kind=jobs.JobKind.IMPORT)
        ]
    _show_jobs(found, as_json)


@imports_app.command("resume")
def imports_resume(
    name: str = CONNECTION, job_id: int = typer.Argument(help="the import's id"), as_json: bool = output.JSON_OPTION
) -> None:
    """Go on with a failed or cancelled import from where it stopped, here and now, with a progress bar."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        sync = Engine(database, clients)
        operations.resume_import(session, common.connection_named(session, name).id, job_id, user=None)
        done = run_job_here("importing", lambda show: imports.run_import(sync, job_id, progress=show))
        show_job(done, database, as_json)


@imports_app.command("undo")
def imports_undo(name: str = CONNECTION, job_id: int = typer.Argument(help="the import's id")) -> None:
    """Delete the CRM records an import created, and their links."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        deleted = operations.undo_import(
            session, database, common.connection_named(session, name).id, job_id, user=None
        )
    typer.echo(f"import {job_id} undone: {deleted} records deleted")


@imports_app.command("cancel")
def imports_cancel(name: str = CONNECTION, job_id: int = typer.Argument(help="the import's id")) -> None:
    """Cancel a queued import, or ask a running one to stop at its next page."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        job = operations.cancel_job(session, database, common.connection_named(session, name).id, job_id, user=None)
    typer.echo(f"import {job_id}: {job.status}")
