"""The alert channels and who gets which alerts, as administrators set them (API, web UI and command line alike).

The SMTP password and the webhook signing secret are stored encrypted (``crypto.py``) and never returned: a view says
only whether each is set. Saving without them keeps the stored ones; an empty value removes them. Recipients belong
to one connection: a mail address or a webhook URL, told about new causes, recoveries or both. Each change is one
unit of work with its audit entry.

Public names: ``SmtpSecurity``, ``Channel``, ``AlertSettingsInput``, ``AlertSettingsView``, ``RecipientInput``,
``RecipientView``, ``read_settings``, ``save_settings``, ``list_recipients``, ``add_recipient``, ``remove_recipient``,
``settings_row``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import audit, text
from erpsync.crypto import Cipher
from erpsync.errors import NotFoundError, ValidationError
from erpsync.storage.tables import AlertRecipient, AlertSettings, User
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.webhook_urls import WebhookPolicy

SETTINGS_ID = 1
_ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertSettingsInput(_Model):
    """The settings to save; ``smtp_password`` and ``webhook_secret``: None keeps the stored one, "" removes it."""

    smtp_host: str = Field(default="", max_length=255)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    smtp_user: str = Field(default="", max_length=255)
    smtp_password: str | None = Field(default=None, max_length=1000)
    from_address: str = Field(default="", max_length=255)
    webhook_secret: str | None = Field(default=None, max_length=1000)
    timeout_seconds: int = Field(default=10, ge=1, le=60)


class AlertSettingsView(_Model):
    smtp_host: str
    smtp_port: int
    smtp_security: SmtpSecurity
    smtp_user: str
    smtp_password_set: bool
    from_address: str
    webhook_secret_set: bool
    timeout_seconds: int


class RecipientInput(_Model):
    channel: Channel
    target: str = Field(min_length=1, max_length=1000)
    on_alert: bool = True
    on_recovery: bool = True


class RecipientView(_Model):
    id: int
    channel: Channel
    target: str
    on_alert: bool
    on_recovery: bool


def settings_row(session: Session) -> AlertSettings:
    """The one row of settings (the defaults until someone saves them)."""
    return session.get(AlertSettings, SETTINGS_ID) or AlertSettings(
        id=SETTINGS_ID,
        smtp_host="",
        smtp_port=25,
        smtp_security="none",
        smtp_user="",
        from_address="",
        timeout_seconds=10,
    )


def _view(row: AlertSettings) -> AlertSettingsView:
    return AlertSettingsView(
        smtp_host=row.smtp_host,
        smtp_port=row.smtp_port,
        smtp_security=SmtpSecurity(row.smtp_security),
        smtp_user=row.smtp_user,
        smtp_password_set=bool(row.smtp_password_encrypted),
        from_address=row.from_address,
        webhook_secret_set=bool(row.webhook_secret_encrypted),
        timeout_seconds=row.timeout_seconds,
    )


def read_settings(session: Session) -> AlertSettingsView:
    return _view(settings_row(session))


def check_address(address: str) -> str:
    address = text.refuse_control(address, "the mail address").strip()
    if not _ADDRESS.fullmatch(address):
        raise ValidationError(f"{address!r} is not a mail address such as ops@example.com")
    return address


def check_webhook_url(url: str) -> str:
    url = text.refuse_control(url, "the webhook URL").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port is a number in range
    except ValueError:
        raise ValidationError("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ValidationError("the webhook URL must be an http(s) URL with a host and no user name or password")
    return url


def _secret(cipher: Cipher, new: str | None, stored: str | None) -> str | None:
    if new is None:
        return stored
    return cipher.encrypt(new) if new else None


def save_settings(
    session: Session, cipher: Cipher, changes: AlertSettingsInput, *, user: User | None
) -> AlertSettingsView:
    """Save the channels' settings, audited (secrets only as "changed")."""
    host = text.refuse_control(changes.smtp_host, "the SMTP host").strip()
    sender = check_address(changes.from_address) if changes.from_address.strip() else ""
    smtp_user = text.refuse_control(changes.smtp_user, "the SMTP user").strip()
    with unit_of_work(session):
        row = settings_row(session)
        row.smtp_host, row.smtp_port, row.smtp_user = host, changes.smtp_port, smtp_user
        row.smtp_security, row.from_address = changes.smtp_security.value, sender
        row.timeout_seconds = changes.timeout_seconds
        row.smtp_password_encrypted = _secret(cipher, changes.smtp_password, row.smtp_password_encrypted)
        row.webhook_secret_encrypted = _secret(cipher, changes.webhook_secret, row.webhook_secret_encrypted)
        session.add(row)
        view = _view(row)
        detail = view.model_dump(mode="json") | {
            "smtp_password_changed": changes.smtp_password is not None,
            "webhook_secret_changed": changes.webhook_secret is not None,
        }
        audit.record(
            session,
            user_id=None if user is None else user.id,
            action="update",
            target_type="alert_settings",
            target_id=SETTINGS_ID,
            detail=detail,
        )
    return view


def _recipient_view(row: AlertRecipient) -> RecipientView:
    return RecipientView(
        id=row.id, channel=Channel(row.channel), target=row.target, on_alert=row.on_alert, on_recovery=row.on_recovery
    )


def list_recipients(session: Session, connection_id: int, *, user: User | None) -> list[RecipientView]:
    get_connection(session, connection_id, user=user)
    query = select(AlertRecipient).where(AlertRecipient.connection_id == connection_id).order_by(AlertRecipient.id)
    return [_recipient_view(row) for row in session.scalars(query)]


def add_recipient(
    session: Session,
    connection_id: int,
    recipient: RecipientInput,
    *,
    user: User | None,
    webhooks: WebhookPolicy | None = None,
) -> RecipientView:
    """Tell ``recipient`` about the connection's new causes, recoveries or both (``ValidationError`` for neither, or
    for a webhook URL ``webhooks`` refuses: the process's settings when None, ``sync.webhook_urls``)."""
    if recipient.channel is Channel.EMAIL:
        target = check_address(recipient.target)
    else:
        target = check_webhook_url(recipient.target)
        (webhooks or WebhookPolicy.current()).check(target)
    if not (recipient.on_alert or recipient.on_recovery):
        raise ValidationError("a recipient gets alerts, recovery notices or both")
    with unit_of_work(session):
        get_connection(session, connection_id, user=user)
        row = AlertRecipient(
            connection_id=connection_id,
            channel=recipient.channel.value,
            target=target,
            on_alert=recipient.on_alert,
            on_recovery=recipient.on_recovery,
        )
        session.add(row)
        session.flush()
        view = _recipient_view(row)
        audit.record(
            session,
            user_id=None if user is None else user.id,
            action="create",
            target_type="alert_recipient",
            target_id=row.id,
            detail={"connection_id": connection_id, **view.model_dump(mode="json")},
        )
    return view


def remove_recipient(session: Session, connection_id: int, recipient_id: int, *, user: User | None) -> None:
    with unit_of_work(session):
        get_connection(session, connection_id, user=user)
        row = session.get(AlertRecipient, recipient_id)
        if row is None or row.connection_id != connection_id:
            raise NotFoundError(f"no alert recipient with id {recipient_id} in connection {connection_id}")
        session.delete(row)
        audit.record(
            session,
            user_id=None if user is None else user.id,
            action="delete",
            target_type="alert_recipient",
            target_id=recipient_id,
            detail={"connection_id": connection_id, "channel": row.channel, "target": row.target},
        )
