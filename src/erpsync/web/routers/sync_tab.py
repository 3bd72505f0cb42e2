"""Settings and maintenance -> Quote/Sync -> Sync tab: the connectors and ERP connections lists and the engine's
automatic sync on/off and interval (administrators). The screens under it have routers of their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync.errors import ValidationError
from erpsync.http.deps import SessionDep
from erpsync.storage.tables import User
from erpsync.sync import connection_visibility, connectors, field_history, operations
from erpsync.sync.engine_settings import EngineSettings, engine_settings
from erpsync.web import pages
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.security import WebAdmin

SYNC_TAB = "/settings/sync"
SECONDS_PER_MINUTE = 60

router = page_router(SYNC_TAB)


def _render(
    request: Request,
    session: Session,
    admin: User,
    *,
    deleted: bool = False,
    settings: EngineSettings | None = None,
    engine_error: str | None = None,
) -> Response:
    context = {
        "connectors": connectors.list_connectors(session),
        "connections": connection_visibility.visible_connections(session, admin, deleted=deleted),
        "deleted": deleted,
        "engine": settings or engine_settings(session),
        "history_days": field_history.history_days(session),
        "engine_error": engine_error,
        "section": "settings",
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if engine_error else status.HTTP_200_OK
    return pages.render(request, "sync/tab.html", context, user=admin, status_code=code)


@router.get("")
def sync_tab(
    request: Request, session: SessionDep, admin: WebAdmin, deleted: Annotated[bool, Query()] = False
) -> Response:
    return _render(request, session, admin, deleted=deleted)


def _minutes(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@router.post("/engine")
def save_engine(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm) -> Response:
    """Automatic sync on/off and its interval, in whole minutes."""
    minutes = _minutes(str(form.get("interval_minutes") or ""))
    wanted = EngineSettings(running="running" in form, interval_seconds=(minutes or 0) * SECONDS_PER_MINUTE)
    try:
        if minutes is None:
            raise ValidationError("enter the interval as a whole number of minutes")
        operations.save_engine_settings(session, wanted)
    except ValidationError as error:
        return _render(request, session, admin, settings=wanted, engine_error=error.user_message)
    return pages.redirect(request, f"{SYNC_TAB}?engine_saved=1")
