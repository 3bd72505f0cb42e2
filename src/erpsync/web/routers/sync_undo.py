"""*Undo* of a run from its page (administrators): a confirmation, then the undo (itself a run) whose page lists what
was written back, field by field, and what was left alone because someone edited it since; and how many days the
field history is kept (a form on the Sync tab).

The undo calls connectors: the request's transaction is ended first (``operations.undo_run``).
"""

from __future__ import annotations

from fastapi import Request, status
from fastapi.responses import Response

from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.sync import operations, runs
from erpsync.sync.work import Engine
from erpsync.web import pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

UNDO = "/runs/{run_id}/undo"


def _dialog(request: Request, admin: WebAdmin, run_id: int, *, error: str | None = None) -> Response:
    context = {
        "title_key": "undo.title",
        "question_key": "undo.question",
        "button_key": "undo.button",
        "message": str(run_id),
        "action": f"{SYNC_TAB}/runs/{run_id}/undo",
        "back_url": f"{SYNC_TAB}/runs/{run_id}",
        "error": error,
    }
    code = status.HTTP_409_CONFLICT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "confirm.html", context, user=admin, status_code=code)


@router.get(UNDO)
def confirm_undo(request: Request, session: SessionDep, admin: WebAdmin, run_id: int) -> Response:
    or_404(lambda: runs.get_run(session, run_id))
    return _dialog(request, admin, run_id)


@router.post(UNDO)
def undo_run(
    request: Request, session: SessionDep, database: DatabaseDep, clients: ClientsDep, admin: WebAdmin, run_id: int
) -> Response:
    """Undo the run; its undo's page shows what was written back and what was left alone."""
    try:
        result = operations.undo_run(session, Engine(database, clients), run_id, user=admin)
    except NotFoundError as missing:
        raise PageNotFoundError from missing
    except ErpsyncError as refused:  # still running, undone already, or the connection busy
        return _dialog(request, admin, run_id, error=pages.error_text(request, refused))
    return pages.redirect(request, f"{SYNC_TAB}/runs/{result.run_id}")


@router.post("/history")
def save_history_days(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm) -> Response:
    """The field history's retention in days; older changes are purged in the background."""
    text = str(form.get("days") or "").strip()
    try:
        if not text.isdigit() or len(text) > 5:
            raise ValidationError("enter the days as a whole number")
        operations.save_history_days(session, int(text))
    except ValidationError:
        return pages.redirect(request, f"{SYNC_TAB}?history_error=1")
    return pages.redirect(request, f"{SYNC_TAB}?history_saved=1")
