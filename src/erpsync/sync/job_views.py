"""A background job (import, resync) as the API answers it and the web pages show it: its counts and its progress
(percentage, ETA at the current run's pace).

Public names: ``JobPublic``, ``job_public``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from erpsync.storage.tables import SyncJob, SyncRun, utcnow
from erpsync.sync import runs


class JobPublic(BaseModel):
    id: int
    kind: str
    connection_id: int
    actor_type: str | None
    status: str
    run_id: int | None
    total: int | None
    processed: int
    created: int
    linked: int
    skipped: int
    failed: int
    percentage: float | None
    eta_seconds: float | None
    cancel_requested: bool
    error: str | None
    error_reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    undone_at: dt.datetime | None


def _eta(job: SyncJob, run: SyncRun | None) -> float | None:
    """Seconds left at the current run's pace; None before a page is done or when the total is unknown."""
    if run is None or job.total is None:
        return None
    return runs.eta_seconds(run, remaining=job.total - job.processed, now=utcnow())


def job_public(job: SyncJob, run: SyncRun | None) -> JobPublic:
    percentage = None if not job.total else round(100.0 * min(job.processed, job.total) / job.total, 1)
    if job.total == 0 and job.status == "done":
        percentage = 100.0
    return JobPublic(
        id=job.id,
        kind=job.kind,
        connection_id=job.connection_id,
        actor_type=job.actor_type,
        status=job.status,
        run_id=job.run_id,
        total=job.total,
        processed=job.processed,
        created=job.created,
        linked=job.linked,
        skipped=job.skipped,
        failed=job.failed,
        percentage=percentage,
        eta_seconds=_eta(job, run),
        cancel_requested=job.cancel_requested,
        error=job.error,
        error_reason=job.error_reason,
        created_at=job.created_at,
        finished_at=job.finished_at,
        undone_at=job.undone_at,
    )
