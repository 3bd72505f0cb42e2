"""The conflict inbox page (``/conflicts``): the open conflicts of fields whose policy is *ask*, for the user who
changed the CRM value (administrators see every one), settled one or many at once in favour of a side."""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.storage.tables import User
from erpsync.sync import conflicts, operations
from erpsync.sync.conflicts import ConflictView
from erpsync.sync.merge import Side
from erpsync.sync.work import Engine
from erpsync.web import crm_forms, pages
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.security import WebLicensed

router = page_router()


def _title(session: Session, view: ConflictView) -> str:
    try:
        return crm_forms.title_of(service.get_entity(session, EntityType(view.entity_type), view.entity_id))
    except NotFoundError:  # the CRM record is gone: the ERP's own number names it
        return view.erp_key


def _context(session: Session, user: User) -> dict[str, Any]:
    waiting = conflicts.inbox(session, user)
    return {
        "conflicts": [(view, _title(session, view)) for view in waiting],
        "segments": crm_forms.SEGMENT_BY_ENTITY,
        "section": "conflicts",
    }


@router.get("/conflicts")
def conflict_inbox(request: Request, session: SessionDep, user: WebLicensed) -> Response:
    return pages.render(request, "conflicts.html", _context(session, user), user=user)


@router.post("/conflicts/resolve")
def resolve_conflicts(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    user: WebLicensed,
    form: PostedForm,
) -> Response:
    """Settle the ticked conflicts in favour of the side of the button pressed; the page shows what is left."""
    ids = [int(str(value)) for value in form.getlist("conflict") if str(value).isdigit()]
    side = form.get("side")
    error, resolved, status_code = None, 0, status.HTTP_200_OK
    if side not in (Side.CRM.value, Side.ERP.value) or not ids:
        error, status_code = "conflicts.choose", status.HTTP_422_UNPROCESSABLE_CONTENT
    else:
        try:
            resolved = len(
                operations.resolve_conflicts(session, Engine(database, clients), ids, Side(str(side)), user=user)
            )
        except ErpsyncError as failed:
            error, status_code = failed.user_message, status.HTTP_409_CONFLICT
    context = {**_context(session, user), "resolved": resolved, "error": error}
    return pages.render(request, "conflicts.html", context, user=user, status_code=status_code)
