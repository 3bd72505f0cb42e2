"""The Sync tab's connection dialog (SPEC §4 steps 1-7) and the connection actions: test, save, delete, restore.

OK in the dialog is enabled by the page only after a passed test of the current values; the server does not trust
that and tests again on save (``erpsync.sync.connections.create_connection`` / ``update_connection``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.errors import ErpsyncError
from erpsync.http.deps import ClientsDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import connection_visibility, connections, connectors, setup
from erpsync.sync.connectors import ConnectorClients
from erpsync.web import pages
from erpsync.web.connection_form import (
    CONFIG_PREFIX,
    WIDGETS,
    config_from_form,
    form_text,
    ordered_fields,
    visibility_from_form,
)
from erpsync.web.error_pages import or_404
from erpsync.web.i18n import Translator
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(f"{SYNC_TAB}/connections")


@dataclass
class _Dialog:
    """What the connection dialog shows: the entered values, and what went wrong with them."""

    connection: ErpConnection | None = None
    connector_id: int | None = None
    name: str = ""
    description: str = ""
    visibility: connection_visibility.Visibility = field(default_factory=connection_visibility.Visibility)
    values: dict[str, str] = field(default_factory=dict)
    field_errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def _config_context(clients: ConnectorClients, session: Session, dialog: _Dialog) -> dict[str, Any]:
    """The connector's config form, or why it cannot be had (the connector is down, refuses our secret...)."""
    context: dict[str, Any] = {
        "config_fields": [],
        "config_lists": {},
        "config_error": None,
        "widgets": WIDGETS,
        "prefix": CONFIG_PREFIX,
        "dialog": dialog,
        "form_text": form_text,
        "secrets_set": set(connections.stored_secrets(clients.cipher, dialog.connection))
        if dialog.connection
        else set(),
    }
    if dialog.connector_id is None:
        return context
    try:
        form = setup.connector_config_form(session, clients, dialog.connector_id)
    except ErpsyncError as exc:
        context["config_error"] = exc.user_message  # the connector's own words, or that it is not answering
        return context
    context["config_fields"] = ordered_fields(form.fields)
    context["config_lists"] = form.lists
    return context


def _render(request: Request, session: Session, clients: ConnectorClients, admin: User, dialog: _Dialog) -> Response:
    context = {
        **_config_context(clients, session, dialog),
        "connectors": connectors.list_connectors(session),
        "users": accounts.list_users(session),
        "groups": accounts.list_groups(session),
        "back_url": SYNC_TAB,
        "section": "settings",
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if dialog.error or dialog.field_errors else status.HTTP_200_OK
    return pages.render_dialog(request, "sync/connection_dialog.html", context, user=admin, status_code=code)


def _posted(form: PostedForm, connection: ErpConnection | None = None) -> _Dialog:
    connector_id = connection.connector_id if connection else _int(form.get("connector_id"))
    return _Dialog(
        connection=connection,
        connector_id=connector_id,
        name=str(form.get("name") or "").strip(),
        description=str(form.get("description") or "").strip(),
        visibility=visibility_from_form(form),
        values={key[len(CONFIG_PREFIX) :]: str(value) for key, value in form.items() if key.startswith(CONFIG_PREFIX)},
    )


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _checked_config(
    request: Request, session: Session, clients: ConnectorClients, dialog: _Dialog, form: PostedForm
) -> dict[str, m.Value] | None:
    """The typed config; None (with the problems set on ``dialog``) when a value is not even of the right kind."""
    if dialog.connector_id is None:
        dialog.error = Translator(pages.language_of(request))("connection.no_connector")
        return None
    try:
        fields = setup.connector_config_fields(session, clients, dialog.connector_id)
    except ErpsyncError as exc:
        dialog.error = pages.error_text(request, exc)
        return None
    config, dialog.field_errors = config_from_form(fields, form)
    return None if dialog.field_errors else config


# --- the dialog -------------------------------------------------------------------------------------------------------


@router.get("/new")
def new_dialog(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connector_id: Annotated[int | None, Query()] = None,
) -> Response:
    available = connectors.list_connectors(session)
    chosen = connector_id or (available[0].id if available else None)
    return _render(request, session, clients, admin, _Dialog(connector_id=chosen))


@router.get("/config-fields")
def config_form(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, connector_id: int
) -> Response:
    """The config fields of another connector, swapped into the dialog when the connector dropdown changes."""
    context = _config_context(clients, session, _Dialog(connector_id=connector_id))
    return pages.render(request, "sync/config_fields.html", context, user=admin)


@router.post("/test")
def check_before_save(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, form: PostedForm
) -> Response:
    """Test connection: the connector's own message, passed or not (a failed test is an answer, not an error)."""
    t = Translator(pages.language_of(request))
    existing_id = _int(form.get("connection_id"))
    existing = (
        or_404(lambda: connection_visibility.get_connection(session, existing_id, user=admin)) if existing_id else None
    )
    dialog = _posted(form, existing)
    config = _checked_config(request, session, clients, dialog, form)
    passed, message = False, t("connection.fix_values")
    if config is not None and dialog.connector_id is not None:
        try:
            answer = setup.check_config(
                session, clients, connector_id=dialog.connector_id, config=config, connection_id=existing_id, user=admin
            )
        except ErpsyncError as exc:
            message = pages.error_text(request, exc)
        else:
            passed, message = True, answer.user_message or t("connection.test_passed")
    context = {"passed": passed, "message": message}
    return pages.render(request, "sync/test_result.html", context, user=admin)


@router.post("/new")
def create_connection(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, form: PostedForm
) -> Response:
    dialog = _posted(form)
    config = _checked_config(request, session, clients, dialog, form)
    if config is None or dialog.connector_id is None:
        return _render(request, session, clients, admin, dialog)
    draft = connections.ConnectionDraft(
        name=dialog.name,
        connector_id=dialog.connector_id,
        config=config,
        visibility=dialog.visibility,
        description=dialog.description,
    )
    try:
        setup.create_connection(session, clients, draft, by=admin.id)
    except ErpsyncError as exc:
        dialog.error = pages.error_text(request, exc)
        return _render(request, session, clients, admin, dialog)
    return pages.redirect(request, f"{SYNC_TAB}?saved=connection")


def _get(session: Session, admin: User, connection_id: int) -> ErpConnection:
    return or_404(lambda: connection_visibility.get_connection(session, connection_id, user=admin))


@router.get("/{connection_id}/edit")
def edit_dialog(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, connection_id: int
) -> Response:
    connection = _get(session, admin, connection_id)
    dialog = _Dialog(
        connection=connection,
        connector_id=connection.connector_id,
        name=connection.name,
        description=connection.description,
        visibility=connection_visibility.visibility_of(session, connection),
        values={key: form_text(value) for key, value in connection.config_json.items()},
    )
    return _render(request, session, clients, admin, dialog)


@router.post("/{connection_id}/edit")
def update_connection(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, form: PostedForm, connection_id: int
) -> Response:
    connection = _get(session, admin, connection_id)
    dialog = _posted(form, connection)
    config = _checked_config(request, session, clients, dialog, form)
    if config is None:
        return _render(request, session, clients, admin, dialog)
    try:
        setup.update_connection(
            session,
            clients,
            connection.id,
            name=dialog.name,
            config=config,
            visibility=dialog.visibility,
            description=dialog.description,
            user=admin,
        )
    except ErpsyncError as exc:
        dialog.error = pages.error_text(request, exc)
        return _render(request, session, clients, admin, dialog)
    return pages.redirect(request, f"{SYNC_TAB}?saved=connection")


# --- delete and restore -----------------------------------------------------------------------------------------------


@router.get("/{connection_id}/delete")
def confirm_delete(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    connection = _get(session, admin, connection_id)
    context = {
        "title_key": "connection.delete_title",
        "question_key": "connection.delete_question",
        "message": connection.name,
        "action": f"{SYNC_TAB}/connections/{connection.id}/delete",
        "back_url": SYNC_TAB,
        "error": None,
    }
    return pages.render_dialog(request, "confirm.html", context, user=admin)


@router.post("/{connection_id}/delete")
def delete_connection(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, connection_id: int
) -> Response:
    _get(session, admin, connection_id)
    setup.delete_connection(session, clients, connection_id, user=admin)
    return pages.redirect(request, SYNC_TAB)


@router.post("/{connection_id}/restore")
def restore_connection(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, connection_id: int
) -> Response:
    _get(session, admin, connection_id)
    try:
        setup.restore_connection(session, clients, connection_id, user=admin)
    except ErpsyncError as exc:
        context = {"status": status.HTTP_409_CONFLICT, "message_key": None, "message": exc.user_message}
        return pages.render(request, "error.html", context, user=admin, status_code=status.HTTP_409_CONFLICT)
    return pages.redirect(request, f"{SYNC_TAB}?deleted=true")
