"""What an administrator starts by hand, for the API and the web UI alike: *Sync now* of a connection, *Retry* of a
failing record, an import (preview, start, resume, undo), a resync, cancelling a run or a job, and the engine's
settings.

Each use case takes the caller's session for its checks (the connection visible to the administrator and not
deleted, the job belonging to it: ``NotFoundError`` otherwise) and ends that session's transaction before the engine,
the importer or the job queue opens transactions of their own and calls connectors: the caller's session never holds
a lock (on SQLite the write lock) or a pooled connection meanwhile. Objects the caller loaded stay readable.
``user`` is the administrator acting, None on the command line (which sees every connection).

Public names: ``sync_connection_now``, ``retry_failing_record``, ``preview_import``, ``start_import``,
``resume_import``, ``undo_import``, ``start_resync``, ``dry_run_resync``, ``cancel_run``, ``cancel_job``,
``save_engine_settings``, ``undo_run``, ``revert_field``, ``save_history_days``, ``resolve_conflicts``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from erpsync.errors import NotFoundError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncJob, SyncRun, User
from erpsync.storage.unit_of_work import end_transaction, unit_of_work
from erpsync.sync import conflicts, engine, engine_settings, field_history, imports, jobs, resync, runs, undo
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.engine import RunSummary
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.merge import Side
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine


def live_connection(session: Session, connection_id: int, *, user: User | None) -> ErpConnection:
    """The connection, visible to ``user`` and not deleted: no job or connector call is made for any other."""
    get_connection(session, connection_id, user=user)
    return jobs.live_connection(session, connection_id)


def job_of(
    session: Session, connection_id: int, job_id: int, *, user: User | None, kind: jobs.JobKind | None = None
) -> SyncJob:
    """A job of the connection (of ``kind``, when given), the connection visible to ``user``."""
    get_connection(session, connection_id, user=user)
    job = jobs.get_job(session, job_id, kind=kind)
    if job.connection_id != connection_id:
        raise NotFoundError(f"no {kind or 'job'} with id {job_id} in connection {connection_id}")
    return job


# --- sync now and retry -----------------------------------------------------------------------------------------------


def sync_connection_now(session: Session, sync: Engine, connection_id: int, *, user: User | None) -> RunSummary:
    """One run of the connection, answered when it ends (``ConflictError`` while another run of it is under way)."""
    get_connection(session, connection_id, user=user)
    end_transaction(session)
    return engine.sync_connection(sync, connection_id)


def retry_failing_record(
    session: Session, sync: Engine, connection_id: int, link_id: int, *, user: User | None
) -> RecordResult:
    """Un-park a failing record and sync it at once."""
    get_connection(session, connection_id, user=user)
    end_transaction(session)
    return engine.retry_link(sync, connection_id, link_id)


def resolve_conflicts(
    session: Session, sync: Engine, conflict_ids: Sequence[int], side: Side, *, user: User | None
) -> list[RecordResult]:
    """Settle conflicts of ``user``'s inbox in favour of ``side`` (``conflicts.settle``), then sync their links at
    once, so the chosen values reach both sides; each link's result."""
    with unit_of_work(session):
        link_ids = conflicts.settle(session, conflict_ids, side, user=user)
    end_transaction(session)
    return [engine.sync_link(sync, link_id) for link_id in link_ids]


# --- import and resync ------------------------------------------------------------------------------------------------


def preview_import(
    session: Session,
    sync: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    limit: int = imports.PREVIEW_LIMIT,
    user: User | None,
) -> list[imports.PreviewRow]:
    """What an import would do with each actor the search finds (``imports.preview``)."""
    live_connection(session, connection_id, user=user)
    end_transaction(session)
    return imports.preview(sync, connection_id, actor_type, restrictions=restrictions, limit=limit)


def start_import(
    session: Session,
    sync: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    erp_keys: Sequence[str] | None = None,
    user: User | None,
) -> SyncJob:
    """Queue an import (``imports.start_import``); the caller hands the job to the workers."""
    live_connection(session, connection_id, user=user)
    user_id = None if user is None else user.id
    end_transaction(session)
    return imports.start_import(
        sync, connection_id, actor_type, restrictions=restrictions, erp_keys=erp_keys, user_id=user_id
    )


def resume_import(session: Session, connection_id: int, job_id: int, *, user: User | None) -> SyncJob:
    """Queue a failed or cancelled import again, to go on from where it stopped."""
    with unit_of_work(session):
        live_connection(session, connection_id, user=user)
        job = job_of(session, connection_id, job_id, user=user, kind=jobs.JobKind.IMPORT)
        jobs.requeue(session, job)
    return job


def undo_import(session: Session, database: Database, connection_id: int, job_id: int, *, user: User | None) -> int:
    """Delete the CRM records the import created, and their links; how many records were deleted."""
    job_of(session, connection_id, job_id, user=user, kind=jobs.JobKind.IMPORT)
    end_transaction(session)
    return imports.undo_import(database, job_id)


def start_resync(
    session: Session,
    sync: Engine,
    connection_id: int,
    *,
    no_blank_overwrite: bool | None,
    user: User | None,
    scope: resync.ResyncScope | None = None,
) -> SyncJob:
    """Queue a resync (``resync.start_resync``: from the CRM for the whole connection unless ``scope`` says
    otherwise); the caller hands the job to the workers."""
    live_connection(session, connection_id, user=user)
    user_id = None if user is None else user.id
    end_transaction(session)
    return resync.start_resync(sync, connection_id, no_blank_overwrite=no_blank_overwrite, user_id=user_id, scope=scope)


def dry_run_resync(
    session: Session,
    sync: Engine,
    connection_id: int,
    *,
    no_blank_overwrite: bool | None,
    user: User | None,
    scope: resync.ResyncScope | None = None,
) -> resync.DryRun:
    """What the same resync would change, record by record and field by field, writing nothing."""
    live_connection(session, connection_id, user=user)
    end_transaction(session)
    return resync.dry_run(sync, connection_id, scope=scope, no_blank_overwrite=no_blank_overwrite)


# --- cancelling -------------------------------------------------------------------------------------------------------


def cancel_run(session: Session, database: Database, run_id: int) -> SyncRun:
    """Ask a running run to stop at its next page boundary (``jobs.request_cancel``)."""
    end_transaction(session)
    return jobs.request_cancel(database, run_id)


def cancel_job(session: Session, database: Database, connection_id: int, job_id: int, *, user: User | None) -> SyncJob:
    """Cancel a queued job, or ask a running one to stop at its next page (``jobs.cancel_job``)."""
    job_of(session, connection_id, job_id, user=user)
    end_transaction(session)
    return jobs.cancel_job(database, job_id)


# --- engine settings --------------------------------------------------------------------------------------------------


def save_engine_settings(session: Session, settings: engine_settings.EngineSettings) -> engine_settings.EngineSettings:
    """Automatic sync on/off and its interval (``ValidationError`` for an interval out of bounds)."""
    with unit_of_work(session):
        return engine_settings.save_engine_settings(session, settings)


# --- history: undo a run, revert a field -----------------------------------------------------------------------------


def undo_run(session: Session, sync: Engine, run_id: int, *, user: User | None) -> undo.UndoResult:
    """Undo a run field by field (``undo.undo_run``); 404 for an unknown run, 409 while it runs or once undone."""
    runs.get_run(session, run_id)
    user_id = None if user is None else user.id
    end_transaction(session)
    return undo.undo_run(sync, run_id, user_id=user_id)


def revert_field(
    session: Session,
    sync: Engine,
    change_id: int,
    *,
    user: User | None,
    entity: tuple[str, int] | None = None,
) -> undo.UndoResult:
    """Write back the value a field change replaced (``undo.revert_field``): the change's connection visible to
    ``user``, and the change of ``entity`` (type, id) when given (the ERP tab's record), else ``NotFoundError``."""
    change = field_history.get_change(session, change_id)
    if change is None or change.connection_id is None or (entity and entity != (change.entity_type, change.entity_id)):
        raise NotFoundError(f"no field change with id {change_id}")
    get_connection(session, change.connection_id, user=user)
    user_id = None if user is None else user.id
    end_transaction(session)
    return undo.revert_field(sync, change_id, user_id=user_id)


def save_history_days(session: Session, days: int) -> int:
    """How many days the field history is kept (``ValidationError`` out of bounds)."""
    with unit_of_work(session):
        return field_history.set_history_days(session, days)
