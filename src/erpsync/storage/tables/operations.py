"""What operating the hub keeps: the alert channels' settings, who gets which alerts per connection, the causes
alerted on (so each new cause is told once and its end once) and every attempt to deliver an alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from erpsync.storage.tables.base import Base, utcnow


class AlertSettings(Base):
    """The one row of the alert channels: the SMTP server that sends the mails and the secret that signs webhooks.
    Passwords and secrets are stored encrypted (``crypto.py``) and never returned."""

    __tablename__ = "alert_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=25)
    smtp_security: Mapped[str] = mapped_column(String(16), default="none")  # none, starttls, tls
    smtp_user: Mapped[str] = mapped_column(String(255), default="")
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str] = mapped_column(String(255), default="")
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=10)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertRecipient(Base):
    """Who is told about one connection's problems: a mail address or a webhook URL, for new causes, recoveries or
    both."""

    __tablename__ = "alert_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    target: Mapped[str] = mapped_column(String(1000))  # the address or the URL
    on_alert: Mapped[bool] = mapped_column(Boolean, default=True)
    on_recovery: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AlertCause(Base):
    """One cause of failures (error code and normalised message) of one connection, from the first time the alerts
    saw it until it was gone: told once when new (``alerted_at``), once when gone (``recovery_sent_at``)."""

    __tablename__ = "alert_causes"
    __table_args__ = (
        Index(
            "uq_alert_causes_open",
            "connection_id",
            "cause",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    cause: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    records: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    alerted_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    recovery_sent_at: Mapped[dt.datetime | None]


class AlertDelivery(Base):
    """One attempt to tell a recipient: what (alert or recovery), through which channel, and whether it arrived."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # alert, recovery
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1000))
    causes_json: Mapped[list[Any]] = mapped_column(default=list)  # the AlertCause ids told
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
