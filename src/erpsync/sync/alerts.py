"""Alerts: one per new cause of failures, with a digest, and one recovery notice when the cause is gone; never one
per record.

After the connection's runs, background work (the embedded worker's cycle, each Dramatiq run of a connection, or
``erpsync alerts check``) calls ``notify``. Under the connection's ``alerts`` lease, so two workers never tell the
same thing twice, it compares the causes the connection's failing and broken links have now (grouped in SQL by
``ErpLink.error_cause``) with the causes it told about before (``AlertCause``): a cause seen for the first time is
opened, a told cause no longer seen is resolved. The new causes make one digest, the resolved ones one recovery
notice; they are marked told in the same transaction, before anything is sent, so a failing mail server can never
make the hub send twice. The digest then goes to each recipient of the connection (``AlertRecipient``) by mail or
signed webhook, outside any transaction and within the settings' timeout; each attempt, failed or not, is recorded
(``AlertDelivery``), and kept for ``KEEP`` (90 days) as resolved causes are. Nothing here raises into the sync:
failures are logged and recorded.

Public names: ``notify``, ``notify_all``, ``prune``, ``Notified``, ``DeliveryView``, ``recent_deliveries``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from erpsync.crypto import Cipher
from erpsync.errors import ErrorCode, normalise_message
from erpsync.storage.db import Database
from erpsync.storage.tables import AlertCause, AlertDelivery, AlertRecipient, ErpConnection, ErpLink, User, utcnow
from erpsync.sync import locks
from erpsync.sync.alert_channels import DeliveryError, Smtp, post_webhook, send_mail
from erpsync.sync.alert_settings import Channel, settings_row
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.links import LinkState
from erpsync.sync.webhook_urls import WebhookPolicy

logger = logging.getLogger(__name__)

ALERT = "alert"
RECOVERY = "recovery"
DIGEST_CAUSES = 50
"""Causes named in one notice at most (the messages are the connectors' words: bounded); the rest are counted."""
KEEP = dt.timedelta(days=90)
"""How long deliveries and resolved causes are kept."""
_STATES = (LinkState.FAILING.value, LinkState.BROKEN.value)


@dataclass(frozen=True)
class _Cause:
    id: int
    error_code: str
    message: str
    records: int
    opened_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "error_code": self.error_code,
            "message": self.message,
            "records": self.records,
            "since": self.opened_at.isoformat(),
        }


@dataclass(frozen=True)
class _Recipient:
    channel: str
    target: str
    on_alert: bool
    on_recovery: bool


@dataclass
class _Told:
    """What one connection's notice is about, read and marked in one transaction."""

    connection_id: int
    name: str
    new: list[_Cause] = field(default_factory=list)
    resolved: list[_Cause] = field(default_factory=list)
    recipients: list[_Recipient] = field(default_factory=list)
    smtp: Smtp | None = None
    webhook_secret: str | None = None
    webhooks: WebhookPolicy | None = None  # where webhooks may point: the process's settings when None


@dataclass(frozen=True)
class Notified:
    """What ``notify`` told for one connection: the causes (ids) and the deliveries made (ok or not)."""

    connection_id: int
    alerted: tuple[int, ...] = ()
    recovered: tuple[int, ...] = ()
    deliveries: int = 0
    failed: int = 0


# --- causes -----------------------------------------------------------------------------------------------------------


def _current_causes(session: Session, connection_id: int) -> dict[str, tuple[str, str, int]]:
    """The connection's causes now: key -> (error code, normalised message, records)."""
    query = (
        select(ErpLink.error_cause, func.min(ErpLink.error_reason), func.min(ErpLink.last_error), func.count())
        .where(ErpLink.connection_id == connection_id, ErpLink.state.in_(_STATES), ErpLink.error_cause.is_not(None))
        .group_by(ErpLink.error_cause)
    )
    return {
        str(cause): (code or ErrorCode.CONNECTOR.value, normalise_message(message or ""), int(records))
        for cause, code, message, records in session.execute(query)
    }


def _open_causes(session: Session, connection_id: int) -> dict[str, AlertCause]:
    query = select(AlertCause).where(AlertCause.connection_id == connection_id, AlertCause.resolved_at.is_(None))
    return {row.cause: row for row in session.scalars(query)}


def _refresh(session: Session, connection_id: int, now: dt.datetime) -> None:
    """Open the causes seen for the first time, count the open ones again, resolve the ones no longer seen."""
    current = _current_causes(session, connection_id)
    known = _open_causes(session, connection_id)
    for cause, (code, message, records) in current.items():
        row = known.get(cause)
        if row is None:
            session.add(
                AlertCause(
                    connection_id=connection_id,
                    cause=cause,
                    error_code=code,
                    message=message,
                    records=records,
                    opened_at=now,
                )
            )
        else:
            row.records = records
    for cause, row in known.items():
        if cause not in current:
            row.resolved_at = now
    session.flush()


def _told(rows: Iterable[AlertCause]) -> list[_Cause]:
    return [_Cause(row.id, row.error_code, row.message, row.records, row.opened_at) for row in rows]


def _claim(session: Session, connection_id: int, now: dt.datetime) -> tuple[list[_Cause], list[_Cause]]:
    """The new causes and the resolved ones not told yet, marked told (a cause gone before it was told is not)."""
    mine = select(AlertCause).where(AlertCause.connection_id == connection_id)
    new = list(session.scalars(mine.where(AlertCause.alerted_at.is_(None), AlertCause.resolved_at.is_(None))))
    resolved = list(
        session.scalars(
            mine.where(
                AlertCause.alerted_at.is_not(None),
                AlertCause.resolved_at.is_not(None),
                AlertCause.recovery_sent_at.is_(None),
            )
        )
    )
    for row in new:
        row.alerted_at = now
    for row in resolved:
        row.recovery_sent_at = now
    return _told(new), _told(resolved)


def _channels(session: Session, cipher: Cipher, told: _Told) -> None:
    query = select(AlertRecipient).where(AlertRecipient.connection_id == told.connection_id)
    told.recipients = [
        _Recipient(row.channel, row.target, row.on_alert, row.on_recovery)
        for row in session.scalars(query.order_by(AlertRecipient.id))
    ]
    row = settings_row(session)
    password = cipher.decrypt(row.smtp_password_encrypted) if row.smtp_password_encrypted else None
    told.smtp = Smtp(
        row.smtp_host, row.smtp_port, row.smtp_security, row.smtp_user, password, row.from_address, row.timeout_seconds
    )
    told.webhook_secret = cipher.decrypt(row.webhook_secret_encrypted) if row.webhook_secret_encrypted else None


def _take(database: Database, cipher: Cipher, connection_id: int) -> _Told:
    now = utcnow()
    with database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        told = _Told(connection_id, connection.name if connection is not None else str(connection_id))
        _refresh(session, connection_id, now)
        told.new, told.resolved = _claim(session, connection_id, now)
        if told.new or told.resolved:
            _channels(session, cipher, told)
    return told


# --- the notices ------------------------------------------------------------------------------------------------------


def _lines(causes: Sequence[_Cause]) -> str:
    lines = [
        f"- {c.records} record(s), {c.error_code}: {c.message} (since {c.opened_at:%Y-%m-%d %H:%M} UTC)"
        for c in causes[:DIGEST_CAUSES]
    ]
    if len(causes) > DIGEST_CAUSES:
        lines.append(f"- and {len(causes) - DIGEST_CAUSES} more cause(s): see the connection's health page")
    return "\n".join(lines)


def _mail(told: _Told, kind: str, causes: Sequence[_Cause]) -> tuple[str, str]:
    if kind == ALERT:
        subject = f"[erpsync] {told.name}: {len(causes)} new problem(s)"
        intro = f"The connection {told.name} has records failing for {len(causes)} new cause(s):"
        outro = "See Settings -> Sync -> the connection's health to fix each cause and retry its records."
    else:
        subject = f"[erpsync] {told.name}: {len(causes)} problem(s) resolved"
        intro = f"These causes of failures in the connection {told.name} are gone:"
        outro = "No record fails for them any longer."
    return subject, f"{intro}\n\n{_lines(causes)}\n\n{outro}\n"


def _payload(told: _Told, kind: str, causes: Sequence[_Cause]) -> dict[str, Any]:
    return {
        "event": kind,
        "connection": {"id": told.connection_id, "name": told.name},
        "causes": [cause.as_json() for cause in causes[:DIGEST_CAUSES]],
        "more_causes": max(0, len(causes) - DIGEST_CAUSES),
        "sent_at": utcnow().isoformat(),
    }


def _deliver(told: _Told, recipient: _Recipient, kind: str, causes: Sequence[_Cause]) -> str | None:
    """Send one notice; None when it arrived, else what went wrong."""
    assert told.smtp is not None
    try:
        if recipient.channel == Channel.EMAIL.value:
            send_mail(told.smtp, [recipient.target], *_mail(told, kind, causes))
        else:
            payload = _payload(told, kind, causes)
            timeout = told.smtp.timeout
            post_webhook(recipient.target, told.webhook_secret, payload, timeout=timeout, policy=told.webhooks)
    except DeliveryError as error:
        logger.warning("alert to %s %s failed: %s", recipient.channel, recipient.target, error)
        return str(error)
    return None


def _send(told: _Told) -> list[AlertDelivery]:
    deliveries = []
    for kind, causes in ((ALERT, told.new), (RECOVERY, told.resolved)):
        if not causes:
            continue
        for recipient in told.recipients:
            if not (recipient.on_alert if kind == ALERT else recipient.on_recovery):
                continue
            error = _deliver(told, recipient, kind, causes)
            deliveries.append(
                AlertDelivery(
                    connection_id=told.connection_id,
                    kind=kind,
                    channel=recipient.channel,
                    target=recipient.target,
                    causes_json=[cause.id for cause in causes],
                    ok=error is None,
                    error=error,
                )
            )
    return deliveries


def notify(
    database: Database, cipher: Cipher, connection_id: int, *, webhooks: WebhookPolicy | None = None
) -> Notified:
    """Tell the connection's recipients about its new causes and the resolved ones, once each; ``webhooks``: where a
    webhook may point (``sync.webhook_urls``; the process's settings when None)."""
    try:
        with locks.held(database, f"alerts:{connection_id}"):
            told = _take(database, cipher, connection_id)
            told.webhooks = webhooks
            deliveries = _send(told)
            if deliveries:
                with database.session() as session:
                    session.add_all(deliveries)
    except locks.LockedError:
        return Notified(connection_id)  # another worker is telling it now
    return Notified(
        connection_id,
        alerted=tuple(cause.id for cause in told.new),
        recovered=tuple(cause.id for cause in told.resolved),
        deliveries=len(deliveries),
        failed=sum(1 for delivery in deliveries if not delivery.ok),
    )


def prune(database: Database, *, now: dt.datetime | None = None, keep: dt.timedelta = KEEP) -> int:
    """Forget deliveries and resolved causes older than ``keep``; how many rows went."""
    before = (now or utcnow()) - keep
    with database.session() as session:
        gone = session.execute(delete(AlertDelivery).where(AlertDelivery.at < before))
        ended = session.execute(
            delete(AlertCause).where(AlertCause.resolved_at.is_not(None), AlertCause.resolved_at < before)
        )
        return int(cast(CursorResult[Any], gone).rowcount) + int(cast(CursorResult[Any], ended).rowcount)


def notify_all(database: Database, cipher: Cipher) -> list[Notified]:
    """``notify`` for every connection not deleted, after forgetting what is older than ``KEEP``; a failure of one
    is logged and the others still run."""
    with database.read_session() as session:
        ids = list(session.scalars(select(ErpConnection.id).where(ErpConnection.deleted_at.is_(None))))
    try:
        prune(database)
    except Exception:  # alerts never stop the sync; the log holds the details
        logger.exception("alerts could not forget old deliveries")
    notified = []
    for connection_id in ids:
        try:
            notified.append(notify(database, cipher, connection_id))
        except Exception:  # alerts never stop the sync; the log holds the details
            logger.exception("alerts of connection %s failed", connection_id)
    return notified


# --- what was sent ----------------------------------------------------------------------------------------------------


class DeliveryView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    channel: str
    target: str
    causes: list[int]
    ok: bool
    error: str | None
    at: dt.datetime


def recent_deliveries(
    session: Session, connection_id: int, *, user: User | None, limit: int = 50
) -> list[DeliveryView]:
    get_connection(session, connection_id, user=user)
    query = select(AlertDelivery).where(AlertDelivery.connection_id == connection_id)
    rows = session.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit))
    return [
        DeliveryView(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            target=row.target,
            causes=list(row.causes_json),
            ok=row.ok,
            error=row.error,
            at=row.at,
        )
        for row in rows
    ]
