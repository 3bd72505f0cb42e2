"""``/runs``: the sync history (administrators): runs, newest first, each run's per-record events, and the progress
and cancel of any run (sync, Sync now, import, resync)."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from erpsync.api.engine_schemas import (
    EventPublic,
    RunProgressPublic,
    RunPublic,
    event_public,
    run_progress_public,
    run_public,
)
from erpsync.http.deps import AdminUser, DatabaseDep, SessionDep
from erpsync.storage.tables import utcnow
from erpsync.sync import jobs, operations, runs

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("")
def list_runs(
    session: SessionDep,
    _admin: AdminUser,
    connection_id: int | None = Query(default=None, description="only the runs of this connection"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> list[RunPublic]:
    return [run_public(run) for run in runs.list_runs(session, connection_id=connection_id, limit=limit, offset=offset)]


@router.get("/{run_id}")
def read_run(run_id: int, session: SessionDep, _admin: AdminUser) -> RunPublic:
    return run_public(runs.get_run(session, run_id))


@router.get("/{run_id}/events")
def run_events(
    run_id: int,
    session: SessionDep,
    _admin: AdminUser,
    limit: int = Query(default=500, ge=1, le=5000),
    offset: int = Query(default=0, ge=0),
) -> list[EventPublic]:
    return [event_public(event) for event in runs.run_events(session, run_id, limit=limit, offset=offset)]


@router.get("/{run_id}/progress")
def run_progress(run_id: int, session: SessionDep, _admin: AdminUser) -> RunProgressPublic:
    """The run with its status, counts so far, percentage and ETA (None while its total is unknown)."""
    return _progress(session, run_id)


@router.post("/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_run(run_id: int, session: SessionDep, database: DatabaseDep, _admin: AdminUser) -> RunProgressPublic:
    """Stop a running run at its next page boundary: what it stored so far stays, and the next run resumes there.
    409 when it has ended."""
    operations.cancel_run(session, database, run_id)
    return _progress(session, run_id)


def _progress(session: Session, run_id: int) -> RunProgressPublic:
    run = runs.get_run(session, run_id)
    return run_progress_public(run, jobs.job_of_run(session, run_id), now=utcnow())
