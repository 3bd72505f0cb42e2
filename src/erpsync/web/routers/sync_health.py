"""Sync now per connection, and sync health (SPEC §5.2, administrators): per connection the in-sync, failing and
broken-link counts, the failing records grouped by cause (``sync.problems``: where to fix each, *Retry* of a cause in
``sync_operations``) and the broken links with their fix actions, its runs, each run's events with field diffs, and
the failing records with *Retry*.

Runs and retries take the engine's locks and call the connector: the request's transaction is ended first, so no
SQLite write lock is held while the connector answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.storage.tables import ErpConnection, ErpLink, User
from erpsync.sync import auto_reviews, links, live, operations, problems, runs
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine
from erpsync.web import crm_forms, pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

RUNS_SHOWN = 20
EVENTS_SHOWN = 500
FAILING_SHOWN = 50


def _connection(session: Session, admin: User, connection_id: int) -> ErpConnection:
    return or_404(lambda: get_connection(session, connection_id, user=admin))


def _entity_title(session: Session, link: ErpLink | problems.ExampleRecord | problems.BrokenLink) -> str:
    try:
        return crm_forms.title_of(service.get_entity(session, EntityType(link.entity_type), link.entity_id))
    except NotFoundError:  # the CRM record is gone: the ERP's own number names it, not a database id
        return link.erp_key


def _health_context(session: Session, connection: ErpConnection) -> dict[str, Any]:
    failing = links.failing_links(session, connection.id, limit=FAILING_SHOWN)  # the groups above count them all
    found = problems.connection_problems(session, connection.id, user=None)
    records: list[problems.ExampleRecord | problems.BrokenLink] = [*found.broken]
    records += [example for group in found.groups for example in group.examples]
    titles = {record.link_id: _entity_title(session, record) for record in records}
    return {
        "connection": connection,
        "live": connection.id in live.live_connection_ids(session),
        "health": runs.connection_health(session, connection.id),
        "auto_reviews": auto_reviews.open_count(session, connection.id),
        "runs": runs.list_runs(session, connection_id=connection.id, limit=RUNS_SHOWN),
        "failing": [(link, _entity_title(session, link)) for link in failing],
        "problems": found,
        "failing_shown": FAILING_SHOWN,
        "titles": titles,
        "segments": crm_forms.SEGMENT_BY_ENTITY,
        "section": "settings",
        "back_url": SYNC_TAB,
    }


@router.get("/connections/{connection_id}/health")
def connection_health(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    connection = _connection(session, admin, connection_id)
    return pages.render(request, "sync/health.html", _health_context(session, connection), user=admin)


@router.post("/connections/{connection_id}/failing/{link_id}/retry")
def retry_failing_record(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
    link_id: int,
) -> Response:
    """Un-park a failing record and sync it at once; the health page shows what that did."""
    connection = _connection(session, admin, connection_id)
    result: RecordResult | None = None
    error: str | None = None
    try:
        result = operations.retry_failing_record(session, Engine(database, clients), connection_id, link_id, user=admin)
    except NotFoundError as missing:
        raise PageNotFoundError from missing
    except ErpsyncError as failed:
        error = failed.user_message
    context = {**_health_context(session, connection), "retried": result, "retry_error": error}
    return pages.render(request, "sync/health.html", context, user=admin)


@router.get("/runs/{run_id}")
def run_events(request: Request, session: SessionDep, admin: WebAdmin, run_id: int) -> Response:
    run = or_404(lambda: runs.get_run(session, run_id))
    connection = _connection(session, admin, run.connection_id) if run.connection_id is not None else None
    context = {
        "run": run,
        "connection": connection,
        "events": runs.run_events(session, run_id, limit=EVENTS_SHOWN),
        "segments": crm_forms.SEGMENT_BY_ENTITY,
        "section": "settings",
    }
    return pages.render(request, "sync/run.html", context, user=admin)


@router.post("/connections/{connection_id}/sync")
def sync_connection_now(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
) -> Response:
    """Sync now: one run of the connection, answered when it ends, in a dialog."""
    connection = _connection(session, admin, connection_id)
    context: dict[str, Any] = {"name": connection.name, "back_url": SYNC_TAB, "run": None, "error": None}
    try:
        summary = operations.sync_connection_now(session, Engine(database, clients), connection_id, user=admin)
    except ErpsyncError as error:  # not active, or a run of it under way
        context["error"] = error.user_message
        return pages.render_dialog(
            request, "sync/run_result.html", context, user=admin, status_code=status.HTTP_409_CONFLICT
        )
    context["run"] = runs.get_run(session, summary.run_id)
    return pages.render_dialog(request, "sync/run_result.html", context, user=admin)
