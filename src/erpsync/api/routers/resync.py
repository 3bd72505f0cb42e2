"""``/connections/{id}/resync``: a resync in any scope (from the CRM or the connection's ERP; the whole connection,
one actor type or chosen records), and its dry run first. Administrators only. The job is read, cancelled and its run
undone like any other (``/connections/{id}/resync-from-crm/{job_id}``, ``/runs/{id}/cancel``, ``/runs/{id}/undo``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from erpsync.api.resync_schemas import DryRunPublic, ResyncScopeBody, dry_run_public
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep, send_job
from erpsync.sync import operations
from erpsync.sync.job_views import JobPublic, job_public
from erpsync.sync.work import Engine

router = APIRouter(tags=["imports"])


@router.post("/connections/{connection_id}/resync", status_code=status.HTTP_202_ACCEPTED)
def start_resync(
    connection_id: int,
    body: ResyncScopeBody,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
) -> JobPublic:
    """Queue the resync (202); 422 for records chosen without their actor type."""
    job = operations.start_resync(
        session,
        Engine(database, clients),
        connection_id,
        no_blank_overwrite=body.no_blank_overwrite,
        user=admin,
        scope=body.scope(),
    )
    send_job(request.app.state, job.id)
    return job_public(job, None)


@router.post("/connections/{connection_id}/resync/dry-run")
def dry_run_resync(
    connection_id: int,
    body: ResyncScopeBody,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
) -> DryRunPublic:
    """What the same resync would change, record by record and field by field (old -> new), writing nothing."""
    result = operations.dry_run_resync(
        session,
        Engine(database, clients),
        connection_id,
        no_blank_overwrite=body.no_blank_overwrite,
        user=admin,
        scope=body.scope(),
    )
    return dry_run_public(result)
