"""Operations (administrators): a connection's problems grouped by cause with retry of a group and unlinking of broken
links, the alert settings and each connection's alert recipients and deliveries, the audit log, and the purge of a
deleted connection."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from erpsync import audit
from erpsync.http.deps import AdminUser, CipherDep, SessionDep, SettingsDep
from erpsync.sync import alert_settings, alerts, problems, setup
from erpsync.sync.webhook_urls import WebhookPolicy

router = APIRouter(tags=["operations"])


class RetriedGroup(BaseModel):
    records: int


class Purged(BaseModel):
    links: int


@router.get("/connections/{connection_id}/problems")
def connection_problems(connection_id: int, session: SessionDep, admin: AdminUser) -> problems.Problems:
    """Failing records grouped by cause (error code and normalised message), the largest first, and broken links."""
    return problems.connection_problems(session, connection_id, user=admin)


@router.post("/connections/{connection_id}/problems/{cause}/retry")
def retry_problem_group(connection_id: int, cause: str, session: SessionDep, admin: AdminUser) -> RetriedGroup:
    """Un-park every failing record of the cause: the next run of the connection (or Sync now) tries each again."""
    return RetriedGroup(records=problems.retry_group(session, connection_id, cause, user=admin))


@router.post("/connections/{connection_id}/broken/{link_id}/unlink", status_code=status.HTTP_204_NO_CONTENT)
def unlink_broken(connection_id: int, link_id: int, session: SessionDep, admin: AdminUser) -> None:
    """Remove a broken link; then connect the record to another actor or create it again (the ERP tab's endpoints)."""
    problems.unlink_broken(session, connection_id, link_id, user=admin)


@router.post("/connections/{connection_id}/purge")
def purge_connection(connection_id: int, session: SessionDep, admin: AdminUser) -> Purged:
    """Delete a deleted connection for good, with its links (409 unless it is deleted); audited."""
    return Purged(links=setup.purge_connection(session, connection_id, user=admin))


# --- alerts -----------------------------------------------------------------------------------------------------------


@router.get("/alert-settings")
def read_alert_settings(session: SessionDep, _admin: AdminUser) -> alert_settings.AlertSettingsView:
    """The SMTP server and webhook signing; the password and the secret only as whether they are set."""
    return alert_settings.read_settings(session)


@router.put("/alert-settings")
def save_alert_settings(
    body: alert_settings.AlertSettingsInput, session: SessionDep, cipher: CipherDep, admin: AdminUser
) -> alert_settings.AlertSettingsView:
    """Save them; ``smtp_password`` and ``webhook_secret`` left out keep the stored ones, empty removes them."""
    return alert_settings.save_settings(session, cipher, body, user=admin)


@router.get("/connections/{connection_id}/alert-recipients")
def list_alert_recipients(
    connection_id: int, session: SessionDep, admin: AdminUser
) -> list[alert_settings.RecipientView]:
    return alert_settings.list_recipients(session, connection_id, user=admin)


@router.post("/connections/{connection_id}/alert-recipients", status_code=status.HTTP_201_CREATED)
def add_alert_recipient(
    connection_id: int,
    body: alert_settings.RecipientInput,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
) -> alert_settings.RecipientView:
    """A mail address or webhook URL told about the connection's new causes, recoveries or both; in production a
    webhook must be https to a host outside the hub's own network (``ERPSYNC_WEBHOOK_ALLOWED_HOSTS`` excepted)."""
    webhooks = WebhookPolicy.from_settings(settings)
    return alert_settings.add_recipient(session, connection_id, body, user=admin, webhooks=webhooks)


@router.delete("/connections/{connection_id}/alert-recipients/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_alert_recipient(connection_id: int, recipient_id: int, session: SessionDep, admin: AdminUser) -> None:
    alert_settings.remove_recipient(session, connection_id, recipient_id, user=admin)


@router.get("/connections/{connection_id}/alert-deliveries")
def alert_deliveries(connection_id: int, session: SessionDep, admin: AdminUser) -> list[alerts.DeliveryView]:
    """The latest alerts and recovery notices sent for the connection, each with whether it arrived."""
    return alerts.recent_deliveries(session, connection_id, user=admin)


# --- audit log --------------------------------------------------------------------------------------------------------


@router.get("/audit")
def audit_log(  # noqa: PLR0913 - the log's filters, each a query parameter
    session: SessionDep,
    _admin: AdminUser,
    who: Annotated[str | None, Query(max_length=64, description="a login, or 'system'")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=audit.MAX_PER_PAGE)] = audit.PER_PAGE,
) -> audit.AuditPage:
    """The audit log, newest first, filtered by who, what and when (``until`` exclusive); secrets redacted."""
    audit_filter = audit.AuditFilter(
        who=who,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        page=page,
        per_page=per_page,
    )
    return audit.search(session, audit_filter)
