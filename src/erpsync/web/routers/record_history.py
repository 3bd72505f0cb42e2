"""A record's field history page (SPEC §4 *History*), reached from its ERP tab: every change through the connections
the user may see, with its source, side, old and new value; and *Revert* of one field from the ERP tab, which writes
the value the change replaced back (left alone, and said so, when the field was edited since).

Reverts call the connector: the request's transaction is ended first (``operations.revert_field``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.storage.tables import User
from erpsync.sync import field_history, operations
from erpsync.sync.connection_visibility import visible_connections
from erpsync.sync.undo import UndoResult
from erpsync.sync.work import Engine
from erpsync.web import crm_forms, pages, segments
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import page_router
from erpsync.web.security import WebLicensed

router = page_router()

CHANGES_SHOWN = 200


def _context(session: Session, request: Request, user: User, entity_id: int) -> dict[str, Any]:
    segment = segments.segment_of(request)
    entity_type = crm_forms.ENTITY_BY_SEGMENT[segment]
    entity = or_404(lambda: service.get_entity(session, entity_type, entity_id))
    names = {c.id: c.name for c in visible_connections(session, user)}
    changes = field_history.visible_history(session, user, entity_type.value, entity_id, limit=CHANGES_SHOWN)
    return {
        "segment": segment,
        "section": segment,
        "base": f"/{segment}",
        "entity": entity,
        "title_of": crm_forms.title_of,
        "erp_tab": True,
        "changes": changes,
        "writers": field_history.writer_names(session, changes),
        "connection_names": names,
        "result": None,
        "error": None,
    }


def history_page(request: Request, session: SessionDep, user: WebLicensed, entity_id: int) -> Response:
    return pages.render(request, "crm/history.html", _context(session, request, user, entity_id), user=user)


def revert(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    user: WebLicensed,
    entity_id: int,
    connection_id: int,
    change_id: int,
) -> Response:
    """Revert one field; the history page then says what was written back or why it was left alone."""
    entity_type = crm_forms.ENTITY_BY_SEGMENT[segments.segment_of(request)]
    _check_change(session, change_id, connection_id)
    result: UndoResult | None = None
    error: str | None = None
    try:
        result = operations.revert_field(
            session, Engine(database, clients), change_id, user=user, entity=(entity_type.value, entity_id)
        )
    except NotFoundError as missing:
        raise PageNotFoundError from missing
    except ErpsyncError as failed:  # the connection busy, or its connector not answering
        error = pages.error_text(request, failed)
    context = {**_context(session, request, user, entity_id), "result": result, "error": error}
    code = status.HTTP_200_OK if error is None else status.HTTP_409_CONFLICT
    return pages.render(request, "crm/history.html", context, user=user, status_code=code)


def _check_change(session: Session, change_id: int, connection_id: int) -> None:
    change = field_history.get_change(session, change_id)
    if change is None or change.connection_id != connection_id:
        raise PageNotFoundError


segments.route_families(
    router,
    [
        ("GET", "/{entity_id}/history", history_page),
        ("POST", "/{entity_id}/erp/{connection_id}/revert/{change_id}", revert),
    ],
)
