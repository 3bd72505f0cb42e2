"""The Sync tab's connector dialogs: add, edit (a blank secret keeps the stored one) and delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import Response

from erpsync.errors import ErpsyncError
from erpsync.http.deps import ClientsDep, SessionDep
from erpsync.storage.tables import SyncConnector, User
from erpsync.sync import connectors, setup
from erpsync.web import pages
from erpsync.web.error_pages import or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(f"{SYNC_TAB}/connectors")


def _dialog(
    request: Request, admin: User, connector: SyncConnector | None, values: dict[str, Any], error: str | None = None
) -> Response:
    context = {"connector": connector, "values": values, "error": error, "back_url": SYNC_TAB, "section": "settings"}
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "sync/connector_dialog.html", context, user=admin, status_code=code)


def _text(form: PostedForm, name: str) -> str:
    return str(form.get(name) or "").strip()


@router.get("/new")
def new_dialog(request: Request, admin: WebAdmin) -> Response:
    return _dialog(request, admin, None, {})


@router.post("/new")
def add_connector(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
) -> Response:
    name, url = _text(form, "name"), str(form.get("url") or "")
    secret = str(form.get("secret") or "")
    try:
        setup.add_connector(session, clients, name=name, url=url, secret=secret, by=admin.id)
    except ErpsyncError as exc:
        return _dialog(request, admin, None, {"name": name, "url": url}, exc.user_message)
    return pages.redirect(request, f"{SYNC_TAB}?saved=connector")


@router.get("/{connector_id}/edit")
def edit_dialog(request: Request, session: SessionDep, admin: WebAdmin, connector_id: int) -> Response:
    connector = or_404(lambda: connectors.get_connector(session, connector_id))
    return _dialog(request, admin, connector, {"name": connector.name, "url": connector.url})


@router.post("/{connector_id}/edit")
def update_connector(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connector_id: int,
) -> Response:
    connector = or_404(lambda: connectors.get_connector(session, connector_id))
    name, url, secret = _text(form, "name"), str(form.get("url") or ""), str(form.get("secret") or "")
    try:
        setup.update_connector(session, clients, connector.id, name=name, url=url, secret=secret or None, by=admin.id)
    except ErpsyncError as exc:
        return _dialog(request, admin, connector, {"name": name, "url": url}, exc.user_message)
    return pages.redirect(request, f"{SYNC_TAB}?saved=connector")


def _confirm(request: Request, admin: User, connector: SyncConnector, error: str | None = None) -> Response:
    context = {
        "title_key": "connector.delete_title",
        "message": connector.name,
        "action": f"{SYNC_TAB}/connectors/{connector.id}/delete",
        "back_url": SYNC_TAB,
        "error": error,
    }
    code = status.HTTP_409_CONFLICT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "confirm.html", context, user=admin, status_code=code)


@router.get("/{connector_id}/delete")
def confirm_delete(request: Request, session: SessionDep, admin: WebAdmin, connector_id: int) -> Response:
    connector = or_404(lambda: connectors.get_connector(session, connector_id))
    try:
        connectors.check_deletable(session, connector)  # say so before asking, not after the confirmation
    except ErpsyncError as exc:
        return _confirm(request, admin, connector, pages.error_text(request, exc))
    return _confirm(request, admin, connector)


@router.post("/{connector_id}/delete")
def delete_connector(request: Request, session: SessionDep, admin: WebAdmin, connector_id: int) -> Response:
    connector = or_404(lambda: connectors.get_connector(session, connector_id))
    try:
        setup.delete_connector(session, connector.id, by=admin.id)
    except ErpsyncError as exc:
        return _confirm(request, admin, connector, pages.error_text(request, exc))
    return pages.redirect(request, SYNC_TAB)
