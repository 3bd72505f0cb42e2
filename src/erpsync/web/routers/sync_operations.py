"""Operations pages (administrators): on the health page, *Retry* of a whole cause and *Unlink* of a broken link; the
alert settings (Settings -> Sync -> Alerts) and each connection's alert recipients and deliveries; the purge of a
deleted connection behind a confirmation dialog. The rules are the service layer's (``sync.problems``,
``sync.alert_settings``, ``sync.alerts``, ``sync.setup``), as for the API and the command line."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from erpsync.errors import ErpsyncError, NotFoundError
from erpsync.http.deps import CipherDep, SessionDep, SettingsDep
from erpsync.storage.tables import User
from erpsync.sync import alert_settings, alerts, problems, setup
from erpsync.sync.alert_settings import AlertSettingsInput, Channel, RecipientInput, SmtpSecurity
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.webhook_urls import WebhookPolicy
from erpsync.web import pages
from erpsync.web.error_pages import or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

_CONNECTION = "/connections/{connection_id}"
_ERP_TAB = re.compile(r"/(companies|persons|projects)/[0-9]{1,18}/erp")
ALERTS = f"{SYNC_TAB}/alerts"


def _health(connection_id: int, **query: object) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"{SYNC_TAB}/connections/{connection_id}/health" + (f"?{params}" if params else "")


def _refused(request: Request, admin: User, error: ErpsyncError) -> Response:
    context = {"status": status.HTTP_409_CONFLICT, "message_key": None, "message": error.user_message}
    return pages.render(request, "error.html", context, user=admin, status_code=status.HTTP_409_CONFLICT)


# --- problems ---------------------------------------------------------------------------------------------------------


@router.post(_CONNECTION + "/problems/{cause}/retry")
def retry_problem_group(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, cause: str
) -> Response:
    """Un-park every failing record of the cause; the health page says how many the next run tries again."""
    or_404(lambda: get_connection(session, connection_id, user=admin))
    try:
        scheduled = problems.retry_group(session, connection_id, cause, user=admin)
    except NotFoundError:  # no record fails for it any longer
        scheduled = 0
    return pages.redirect(request, _health(connection_id, scheduled=scheduled))


@router.post(_CONNECTION + "/broken/{link_id}/unlink")
def unlink_broken(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, link_id: int, form: PostedForm
) -> Response:
    """Remove a broken link; ``then`` (connect or create) goes on to the record's ERP tab to link it again."""
    or_404(lambda: get_connection(session, connection_id, user=admin))
    try:
        or_404(lambda: problems.unlink_broken(session, connection_id, link_id, user=admin))
    except ErpsyncError as error:
        return _refused(request, admin, error)
    then = str(form.get("then") or "")
    if _ERP_TAB.fullmatch(then):  # only on to a record's ERP tab: never a redirect elsewhere
        return pages.redirect(request, then)
    return pages.redirect(request, _health(connection_id, unlinked=link_id))


# --- purge ------------------------------------------------------------------------------------------------------------


@router.get(_CONNECTION + "/purge")
def confirm_purge(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    connection = or_404(lambda: get_connection(session, connection_id, user=admin))
    context = {
        "title_key": "purge.title",
        "question_key": "purge.question",
        "button_key": "purge.button",
        "message": connection.name,
        "action": f"{SYNC_TAB}/connections/{connection.id}/purge",
        "back_url": f"{SYNC_TAB}?deleted=true",
        "error": None if connection.deleted_at is not None else pages.text(request, "purge.not_deleted"),
    }
    return pages.render_dialog(request, "confirm.html", context, user=admin)


@router.post(_CONNECTION + "/purge")
def purge_connection(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    or_404(lambda: get_connection(session, connection_id, user=admin))
    try:
        setup.purge_connection(session, connection_id, user=admin)
    except ErpsyncError as error:
        return _refused(request, admin, error)
    return pages.redirect(request, f"{SYNC_TAB}?deleted=true&purged=1")


# --- alert settings ---------------------------------------------------------------------------------------------------


def _settings_page(
    request: Request, admin: User, view: alert_settings.AlertSettingsView, error: str | None = None
) -> Response:
    context = {
        "settings": view,
        "securities": list(SmtpSecurity),
        "error": error,
        "section": "settings",
        "back_url": SYNC_TAB,
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render(request, "sync/alert_settings.html", context, user=admin, status_code=code)


@router.get("/alerts")
def alert_settings_page(request: Request, session: SessionDep, admin: WebAdmin) -> Response:
    return _settings_page(request, admin, alert_settings.read_settings(session))


def _secret(form: PostedForm, name: str) -> str | None:
    """A secret field: left empty keeps the stored one; ticking ``<name>_clear`` removes it."""
    if f"{name}_clear" in form:
        return ""
    return str(form.get(name) or "") or None


def _settings_input(form: PostedForm) -> AlertSettingsInput:
    return AlertSettingsInput(
        smtp_host=str(form.get("smtp_host") or ""),
        smtp_port=str(form.get("smtp_port") or "25"),
        smtp_security=str(form.get("smtp_security") or "none"),
        smtp_user=str(form.get("smtp_user") or ""),
        smtp_password=_secret(form, "smtp_password"),
        from_address=str(form.get("from_address") or ""),
        webhook_secret=_secret(form, "webhook_secret"),
        timeout_seconds=str(form.get("timeout_seconds") or "10"),
    )


@router.post("/alerts")
def save_alert_settings(
    request: Request, session: SessionDep, cipher: CipherDep, admin: WebAdmin, form: PostedForm
) -> Response:
    try:
        alert_settings.save_settings(session, cipher, _settings_input(form), user=admin)
    except PydanticValidationError as error:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return _settings_page(request, admin, alert_settings.read_settings(session), reasons)
    except ErpsyncError as error:
        return _settings_page(request, admin, alert_settings.read_settings(session), error.user_message)
    return pages.redirect(request, f"{ALERTS}?saved=1")


# --- a connection's recipients ----------------------------------------------------------------------------------------


def _recipients_page(
    request: Request, session: SessionDep, admin: User, connection_id: int, error: str | None = None
) -> Response:
    connection = or_404(lambda: get_connection(session, connection_id, user=admin))
    context: dict[str, Any] = {
        "connection": connection,
        "recipients": alert_settings.list_recipients(session, connection_id, user=admin),
        "deliveries": alerts.recent_deliveries(session, connection_id, user=admin),
        "channels": list(Channel),
        "error": error,
        "section": "settings",
        "back_url": _health(connection_id),
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render(request, "sync/alert_recipients.html", context, user=admin, status_code=code)


@router.get(_CONNECTION + "/alerts")
def alert_recipients(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    return _recipients_page(request, session, admin, connection_id)


@router.post(_CONNECTION + "/alerts")
def add_alert_recipient(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: WebAdmin,
    connection_id: int,
    form: PostedForm,
) -> Response:
    or_404(lambda: get_connection(session, connection_id, user=admin))
    try:
        recipient = RecipientInput(
            channel=str(form.get("channel") or "email"),
            target=str(form.get("target") or ""),
            on_alert="on_alert" in form,
            on_recovery="on_recovery" in form,
        )
        webhooks = WebhookPolicy.from_settings(settings)
        alert_settings.add_recipient(session, connection_id, recipient, user=admin, webhooks=webhooks)
    except PydanticValidationError as error:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return _recipients_page(request, session, admin, connection_id, reasons)
    except ErpsyncError as error:
        return _recipients_page(request, session, admin, connection_id, pages.error_text(request, error))
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection_id}/alerts")


@router.post(_CONNECTION + "/alerts/{recipient_id}/delete")
def remove_alert_recipient(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, recipient_id: int
) -> Response:
    or_404(lambda: alert_settings.remove_recipient(session, connection_id, recipient_id, user=admin))
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection_id}/alerts")
