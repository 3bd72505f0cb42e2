"""The review list of automatic creation: records matching found no single sure partner for (``sync.auto_reviews``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from erpsync.storage.tables.base import Base, utcnow


class AutoReview(Base):
    """One record automatic creation did not create nor link: several candidates, or only a similar one. ``side`` is
    where the record is (``erp``: ``record_key`` is its ERP key; ``crm``: its CRM entity id). One row per record:
    a decision (``linked``, ``created``, ``ignored``) stays, so an ignored record is not offered again."""

    __tablename__ = "auto_reviews"
    __table_args__ = (
        UniqueConstraint("connection_id", "actor_type", "side", "record_key", name="uq_auto_reviews_record"),
        Index("ix_auto_reviews_open", "connection_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"))
    actor_type: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    record_key: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(String(16))  # several, similar, taken
    candidates_json: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"key", "label", "criterion"}]
    status: Mapped[str] = mapped_column(String(16), default="open")
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
