"""``/runs``: the sync history (administrators): runs, newest first, and each run's per-record events."""

from __future__ import annotations

from fastapi import APIRouter, Query

from erpsync.api.deps import AdminUser, SessionDep
from erpsync.api.engine_schemas import EventPublic, RunPublic, event_public, run_public
from erpsync.sync import runs

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
