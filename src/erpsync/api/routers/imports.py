"""Import from the ERP (``/connections/{id}/imports``) and resync from the CRM (``/connections/{id}/resync-from-crm``).
Administrators only. The progress and cancel of their runs are those of every run (``/runs/{id}/progress``,
``/runs/{id}/cancel`` in ``routers.runs``).

Starting a job answers 202 at once: embedded, the API's job thread runs it; with ``ERPSYNC_REDIS_URL``, it is sent to
the Dramatiq workers. A job waits behind a running sync of its connection (the connection's lease), never beside it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session

from erpsync.api.import_schemas import (
    ImportBody,
    ImportResultPublic,
    PreviewBody,
    PreviewRowPublic,
    ResyncBody,
    UndoPublic,
    preview_public,
    reason_wording,
    result_public,
)
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep, send_job
from erpsync.storage.tables import SyncJob, SyncRun
from erpsync.sync import imports, jobs, operations
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.job_views import JobPublic, job_public
from erpsync.sync.work import Engine

router = APIRouter(tags=["imports"])


def _public(session: Session, job: SyncJob) -> JobPublic:
    return job_public(job, session.get(SyncRun, job.run_id) if job.run_id else None)


@router.post("/connections/{connection_id}/imports/preview")
def preview_import(
    connection_id: int,
    body: PreviewBody,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
) -> list[PreviewRowPublic]:
    """Per actor the search finds (or the first ``limit`` of the type): create, link (to which entity) or skip; the
    reason in English, as a code and in the asking user's language (``Accept-Language``)."""
    restrictions = None if body.restrictions is None else [r.input() for r in body.restrictions]
    rows = operations.preview_import(
        session,
        Engine(database, clients),
        connection_id,
        body.actor_type,
        restrictions=restrictions,
        limit=body.limit,
        user=admin,
    )
    word = reason_wording(request.app.state)
    return [preview_public(row, word) for row in rows]


@router.post("/connections/{connection_id}/imports", status_code=status.HTTP_202_ACCEPTED)
def start_import(
    connection_id: int,
    body: ImportBody,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
) -> JobPublic:
    restrictions = None if body.restrictions is None else [r.input() for r in body.restrictions]
    job = operations.start_import(
        session,
        Engine(database, clients),
        connection_id,
        body.actor_type,
        restrictions=restrictions,
        erp_keys=body.erp_keys,
        user=admin,
    )
    send_job(request.app.state, job.id)
    return job_public(job, None)


@router.get("/connections/{connection_id}/imports")
def list_imports(connection_id: int, session: SessionDep, admin: AdminUser) -> list[JobPublic]:
    get_connection(session, connection_id, user=admin)
    return [_public(session, job) for job in jobs.list_jobs(session, connection_id, kind=jobs.JobKind.IMPORT)]


@router.get("/connections/{connection_id}/imports/{job_id}")
def read_import(
    connection_id: int, job_id: int, request: Request, session: SessionDep, admin: AdminUser
) -> ImportResultPublic:
    """The import's progress and result: created, updated (linked) and skipped records, each reason in English, as
    a code and in the asking user's language (``Accept-Language``)."""
    job = operations.job_of(session, connection_id, job_id, user=admin, kind=jobs.JobKind.IMPORT)
    result = imports.import_result(session, job.id)
    run = session.get(SyncRun, job.run_id) if job.run_id else None
    return result_public(result, run, reason_wording(request.app.state))


@router.post("/connections/{connection_id}/imports/{job_id}/resume", status_code=status.HTTP_202_ACCEPTED)
def resume_import(
    connection_id: int, job_id: int, request: Request, session: SessionDep, admin: AdminUser
) -> JobPublic:
    """Re-run a failed or cancelled import from where it stopped."""
    job = operations.resume_import(session, connection_id, job_id, user=admin)
    send_job(request.app.state, job.id)
    return _public(session, job)


@router.post("/connections/{connection_id}/imports/{job_id}/undo")
def undo_import(
    connection_id: int, job_id: int, session: SessionDep, database: DatabaseDep, admin: AdminUser
) -> UndoPublic:
    """Delete the CRM records the import created, and their links (nothing is deleted in the ERP)."""
    return UndoPublic(deleted=operations.undo_import(session, database, connection_id, job_id, user=admin))


@router.post("/connections/{connection_id}/resync-from-crm", status_code=status.HTTP_202_ACCEPTED)
def start_resync(
    connection_id: int,
    body: ResyncBody,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
) -> JobPublic:
    job = operations.start_resync(
        session, Engine(database, clients), connection_id, no_blank_overwrite=body.no_blank_overwrite, user=admin
    )
    send_job(request.app.state, job.id)
    return job_public(job, None)


@router.get("/connections/{connection_id}/resync-from-crm/{job_id}")
def read_resync(connection_id: int, job_id: int, session: SessionDep, admin: AdminUser) -> JobPublic:
    return _public(session, operations.job_of(session, connection_id, job_id, user=admin, kind=jobs.JobKind.RESYNC))
