"""``/engine`` (automatic sync on/off, interval) and per connection: Sync now, health, failing records and retry."""

from __future__ import annotations

from fastapi import APIRouter

from erpsync.api.engine_schemas import (
    EngineBody,
    HealthPublic,
    LinkPublic,
    RunPublic,
    health_public,
    link_public,
    run_public,
)
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep
from erpsync.sync import engine_settings, links, operations, runs
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine

router = APIRouter(tags=["engine"])


@router.get("/engine")
def read_engine(session: SessionDep, _admin: AdminUser) -> EngineBody:
    settings = engine_settings.engine_settings(session)
    return EngineBody(running=settings.running, interval_seconds=settings.interval_seconds)


@router.put("/engine")
def save_engine(session: SessionDep, _admin: AdminUser, body: EngineBody) -> EngineBody:
    operations.save_engine_settings(session, engine_settings.EngineSettings(body.running, body.interval_seconds))
    return body


@router.post("/connections/{connection_id}/sync")
def sync_connection_now(
    connection_id: int, session: SessionDep, database: DatabaseDep, clients: ClientsDep, admin: AdminUser
) -> RunPublic:
    """Sync now: one run of this connection, answered when it ends (409 while another run of it is under way)."""
    summary = operations.sync_connection_now(session, Engine(database, clients), connection_id, user=admin)
    return run_public(runs.get_run(session, summary.run_id))


@router.get("/connections/{connection_id}/health")
def connection_health(connection_id: int, session: SessionDep, admin: AdminUser) -> HealthPublic:
    get_connection(session, connection_id, user=admin)
    return health_public(runs.connection_health(session, connection_id))


@router.get("/connections/{connection_id}/failing")
def failing_records(connection_id: int, session: SessionDep, admin: AdminUser) -> list[LinkPublic]:
    get_connection(session, connection_id, user=admin)
    return [link_public(link) for link in links.failing_links(session, connection_id)]


@router.post("/connections/{connection_id}/failing/{link_id}/retry")
def retry_failing_record(
    connection_id: int, link_id: int, session: SessionDep, database: DatabaseDep, clients: ClientsDep, admin: AdminUser
) -> RecordResult:
    """Un-park a failing record and sync it at once; answers what the sync did."""
    sync = Engine(database, clients)
    return operations.retry_failing_record(session, sync, connection_id, link_id, user=admin)
