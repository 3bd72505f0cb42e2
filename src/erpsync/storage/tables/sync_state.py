"""What syncing keeps: links, watermarks, leases, runs and their events, creates in the ERP, the engine's settings,
and the background jobs (imports, resyncs) with their per-actor items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from erpsync.storage.tables.base import Base, utcnow


class ErpLink(Base):
    """The binding of one CRM entity to one ERP actor within one connection, with the last agreed values."""

    __tablename__ = "erp_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "entity_type", "entity_id", name="uq_erp_links_entity"),
        UniqueConstraint("connection_id", "actor_type", "erp_key", name="uq_erp_links_actor"),
        Index("ix_erp_links_entity", "entity_type", "entity_id"),
        Index("ix_erp_links_retry", "connection_id", "state", "next_attempt_at"),  # the retry pass, at any size
        Index("ix_erp_links_cause", "connection_id", "state", "error_cause"),  # problems grouped by cause
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    actor_type: Mapped[str] = mapped_column(String(32))
    erp_key: Mapped[str] = mapped_column(String(255))
    agreed_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok, failing, broken, filtered
    last_sync_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    error_cause: Mapped[str | None] = mapped_column(String(32))  # errors.cause_key(error_reason, last_error)
    failing_since: Mapped[dt.datetime | None]  # the first failure since the link was last in sync
    last_error_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]  # None while failing: parked
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncWatermark(Base):
    """How far one connection has read each side's changes for one actor type."""

    __tablename__ = "sync_watermarks"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    erp_since: Mapped[str | None] = mapped_column(String(64))
    erp_cursor: Mapped[str | None] = mapped_column(String(1000))  # set while a pull is half done
    crm_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncLock(Base):
    """A lease: held by ``holder`` until ``expires_at``; an expired lease may be taken over."""

    __tablename__ = "sync_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("erp_connections.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cycle, connection, record, import, resync, undo, revert
    # running, ok, partial, failed, cancelled; indexed: the scheduler looks up the running ones every tick
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    counts_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)  # honoured at the next page boundary
    undone_by: Mapped[int | None] = mapped_column(Integer)  # the run that undid this one
    started_by: Mapped[int | None] = mapped_column(Integer)  # the user who asked for it (an undo, a revert)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]


class SyncEvent(Base):
    """What happened to one record in one run: fields old -> new, who won and why, errors with a typed reason."""

    __tablename__ = "sync_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the history outlives the link
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None]
    actor_type: Mapped[str | None] = mapped_column(String(32))
    erp_key: Mapped[str | None] = mapped_column(String(255))
    changes_json: Mapped[list[Any]] = mapped_column(default=list)
    errors_json: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncCreate(Base):
    """An actor the hub asked a connector to create, recorded before the call so a retry reuses its key."""

    __tablename__ = "sync_creates"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    actor_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done
    erp_key: Mapped[str | None] = mapped_column(String(255))
    link_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]


class EngineState(Base):
    """The one row of engine settings: automatic sync on or off, its interval, the field history's retention."""

    __tablename__ = "engine_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    running: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    history_days: Mapped[int] = mapped_column(Integer, default=365)  # the field history's retention
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- jobs ----------------------------------------------------------------------------------------------------------


class SyncJob(Base):
    """A background import from the ERP or resync from the CRM: what to do and how far it got. The cursor and counts
    are written in the same transaction as the page they cover, so a crashed job resumes where it stopped."""

    __tablename__ = "sync_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # import, resync
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    actor_type: Mapped[str | None] = mapped_column(String(32))  # import: the type imported; resync: None for all
    keys_json: Mapped[list[Any] | None] = mapped_column(JSON)  # import: ERP keys; resync: CRM ids; None: every one
    criteria_json: Mapped[list[Any]] = mapped_column(default=list)  # import: the search that found the keys
    no_blank_overwrite: Mapped[bool] = mapped_column(Boolean, default=False)  # resync
    resync_from: Mapped[str] = mapped_column(String(8), default="crm")  # resync: the side whose values are pushed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    cursor: Mapped[str | None] = mapped_column(String(1000))
    total: Mapped[int | None]
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    undone_at: Mapped[dt.datetime | None]


class ImportItem(Base):
    """What an import did with one ERP actor: created or linked a CRM entity, or skipped it (with why)."""

    __tablename__ = "import_items"
    __table_args__ = (UniqueConstraint("job_id", "erp_key", name="uq_import_items_job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    erp_key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))  # created, linked, skipped
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)  # in English, for the API and the command line
    # the reason as {"code": ..., "values": {...}} (sync.imports.reasons), worded by the pages; None: an older row
    reason_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
