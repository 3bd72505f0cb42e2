"""The field history: every synced field's change on one side of one record, with who wrote it and the values before
and after. Indexed by record and time (a record's history, its fields' last writers) and by time alone (the
retention purge), so both stay index lookups at millions of rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from erpsync.storage.tables.base import Base, utcnow


class FieldChange(Base):
    """One field changed on one side (``crm`` or ``erp``) of one linked record: ``old`` -> ``new`` (canonical values,
    keyed by the ERP field key), written by ``source`` (sync, import, resync, revert, undo) within run ``run_id``.
    No foreign keys: the history outlives links, runs and connections until the retention purge."""

    __tablename__ = "field_changes"
    __table_args__ = (
        Index("ix_field_changes_record", "entity_type", "entity_id", "at"),
        Index("ix_field_changes_at", "at"),
        Index("ix_field_changes_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    connection_id: Mapped[int | None] = mapped_column(Integer)
    link_id: Mapped[int | None] = mapped_column(Integer)
    actor_type: Mapped[str | None] = mapped_column(String(32))
    erp_key: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(8))  # crm, erp
    field: Mapped[str] = mapped_column(String(255))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # sync, import, resync, revert, undo, user_edit
    user_id: Mapped[int | None] = mapped_column(Integer)  # who asked (a resync, revert or undo), when someone did
    written_by: Mapped[str | None] = mapped_column(String(64))  # the value's author: user:<id>, sync:<connection id>
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
