"""The conflict inbox: conflicts on fields whose policy is *ask*, waiting for a person to choose a side."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from erpsync.storage.tables.base import Base, utcnow


class SyncConflict(Base):
    """Both sides of one link changed one field to different values and no rule decides: both values wait here. At
    most one open conflict per link and field (``resolved_at`` null); a later sync updates its values."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        Index("ix_sync_conflicts_link_field", "link_id", "field"),
        Index("ix_sync_conflicts_open", "resolved_at", "connection_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("erp_links.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(255))  # the ERP field key (the merge's key)
    agreed_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    crm_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    erp_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    crm_changed_by: Mapped[str] = mapped_column(String(64), default="")  # user:<id>, sync:<id>, import, ...
    crm_changed_at: Mapped[dt.datetime | None]
    erp_changed_at: Mapped[str | None] = mapped_column(String(64))  # the actor's last_modified, as the ERP gave it
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))  # user:<id>, or "sync" when both sides agreed again
    resolution: Mapped[str | None] = mapped_column(String(8))  # crm, erp, or same
