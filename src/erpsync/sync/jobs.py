"""Background jobs (imports from the ERP, resyncs from the CRM): queued, run under the connection's lease page by page
with progress and cancel, and resumed after a crash.

A job is a row of ``sync_jobs``: the table is the queue's source of truth; Dramatiq or the embedded thread only
delivers "run job N", and ``runnable_jobs`` finds the jobs a lost message or a dead worker left behind. Running a job
takes the connection's lease without waiting: while a sync cycle (or another job) holds it, the job stays queued and
is picked up again on the next dispatch, so an import queues behind a running cycle. Each attempt is a run in the
history; a run that a crash left open on the connection is closed as failed when the next one starts
(``runs.close_interrupted``). A pager handles one page at a time and stores it together with the job's cursor and
counts (``advance``), so everything a page did is kept or none of it. The lease is renewed in the background while the
job lives (``locks.kept``); between pages the job checks it still holds it, and honours a cancel request. Every step
that touches the database is tried again while the database is busy (``busy.retrying``): foreground load slows a job
down, it does not fail it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from erpsync.errors import ConflictError, ErpsyncError, NotFoundError
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncJob, SyncLock, SyncRun, utcnow
from erpsync.sync import busy, heap, locks, runs
from erpsync.sync.work import Engine

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=60)
"""How long a job's hold on its connection outlives a dead worker; renewed after every page."""
REDELIVER_AFTER = timedelta(seconds=30)
"""A queued job whose message has not started it within this long is delivered again (the message may be lost)."""


class JobKind(StrEnum):
    IMPORT = "import"
    RESYNC = "resync"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # stopped with its reason; a re-run resumes at the stored cursor
    CANCELLED = "cancelled"
    UNDONE = "undone"  # an import whose created records were deleted again


ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
RUN_KIND = {JobKind.IMPORT: runs.RunKind.IMPORT, JobKind.RESYNC: runs.RunKind.RESYNC}


class Pager(Protocol):
    def next_page(self, job: SyncJob, run_id: int) -> bool:
        """Handle the page at ``job.cursor`` and store it with ``advance``; True when no page is left."""

    def settle(self) -> None:
        """Commit what the pager wrote and left to commit (a page and the job's progress after it): before the job's
        end is stored."""

    def close(self) -> None:
        """Let go of what the pager holds (a process, a file, a page not committed): the job ended or stopped."""


PagerFactory = Callable[[Engine, SyncJob], Pager]
Progress = Callable[[SyncJob], None]


@dataclass(frozen=True)
class PageCounts:
    processed: int = 0
    created: int = 0
    linked: int = 0
    skipped: int = 0
    failed: int = 0


def live_connection(session: Session, connection_id: int) -> ErpConnection:
    connection = session.get(ErpConnection, connection_id)
    if connection is None or connection.deleted_at is not None:
        raise NotFoundError(f"no ERP connection with id {connection_id}")
    return connection


# --- the queue ------------------------------------------------------------------------------------------------------


def add_job(session: Session, job: SyncJob) -> SyncJob:
    """Queue ``job``; refused while another import or resync of the connection is queued or running."""
    busy = session.scalar(
        select(SyncJob.id).where(SyncJob.connection_id == job.connection_id, SyncJob.status.in_(ACTIVE))
    )
    if busy is not None:
        raise ConflictError(f"job {busy} of this connection is queued or running: wait for it or cancel it")
    job.status = JobStatus.QUEUED.value
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int, *, kind: JobKind | None = None) -> SyncJob:
    job = session.get(SyncJob, job_id)
    if job is None or (kind is not None and job.kind != kind.value):
        raise NotFoundError(f"no {kind or 'job'} with id {job_id}")
    return job


def list_jobs(session: Session, connection_id: int, *, kind: JobKind, limit: int = 100) -> list[SyncJob]:
    """The connection's jobs of ``kind``, newest first."""
    query = select(SyncJob).where(SyncJob.connection_id == connection_id, SyncJob.kind == kind.value)
    return list(session.scalars(query.order_by(SyncJob.id.desc()).limit(limit)))


def read_job(database: Database, job_id: int) -> SyncJob:
    with database.read_session() as session:
        return get_job(session, job_id)


def requeue(session: Session, job: SyncJob) -> None:
    """Re-run a failed or cancelled job from where it stopped."""
    if job.status not in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
        raise ConflictError(f"{job.kind} {job.id} is {job.status}: only a failed or cancelled one is re-run")
    job.status, job.cancel_requested, job.error, job.error_reason = JobStatus.QUEUED.value, False, None, None
    job.enqueued_at = None


def mark_enqueued(database: Database, job_id: int) -> None:
    with database.session() as session:
        get_job(session, job_id).enqueued_at = utcnow()


def runnable_jobs(database: Database, *, redeliver_after: timedelta = REDELIVER_AFTER) -> list[SyncJob]:
    """Queued or running jobs that nothing is running: never delivered, delivered long ago, or whose worker died
    (its lease on the connection expired)."""
    now = utcnow()
    held = select(SyncLock.name).where(SyncLock.expires_at >= now)
    with database.read_session() as session:
        candidates = session.scalars(
            select(SyncJob)
            .where(
                SyncJob.status.in_(ACTIVE),
                or_(SyncJob.enqueued_at.is_(None), SyncJob.enqueued_at < now - redeliver_after),
            )
            .order_by(SyncJob.id)
        ).all()
        busy = set(session.scalars(held))
    return [job for job in candidates if locks.connection_lock(job.connection_id) not in busy]


def job_of_run(session: Session, run_id: int) -> SyncJob | None:
    """The import or resync whose current attempt is ``run_id``; None for a sync run (or an earlier attempt)."""
    return session.scalar(select(SyncJob).where(SyncJob.run_id == run_id))


def request_cancel(database: Database, run_id: int) -> SyncRun:
    """Ask any running run to stop at its next page boundary: an import or resync through its job, a sync run
    directly (``NotFoundError``: no such run; ``ConflictError``: it has ended)."""
    with database.session() as session:
        job = job_of_run(session, run_id)
        if job is not None and job.status not in ACTIVE:
            raise ConflictError(f"run {run_id} has ended ({job.status})")
        run = runs.request_cancel(session, run_id)
        if job is not None:
            job.cancel_requested = True
        return run


def cancel_job(database: Database, job_id: int) -> SyncJob:
    """Cancel a queued job before it starts, or ask a running one to stop at its next page boundary."""
    with database.session() as session:
        job = get_job(session, job_id)
        if job.status == JobStatus.QUEUED.value and job.run_id is None:
            job.status, job.finished_at = JobStatus.CANCELLED.value, utcnow()
        elif job.status in ACTIVE:
            job.cancel_requested = True
            _flag_run(session, job.run_id)
        else:
            raise ConflictError(f"{job.kind} {job_id} has ended ({job.status})")
        return job


def _flag_run(session: Session, run_id: int | None) -> None:
    """Show the request on the running attempt too, as on every run whose cancel was requested."""
    run = session.get(SyncRun, run_id) if run_id is not None else None
    if run is not None and run.status == runs.RunStatus.RUNNING.value:
        run.cancel_requested = True


# --- a page's bookkeeping -------------------------------------------------------------------------------------------


def advance(
    session: Session, job_id: int, run_id: int, *, cursor: str | None, counts: PageCounts, last: bool = False
) -> None:
    """Store the cursor after a page and its counts, in the transaction that stores the page itself: one ``UPDATE``,
    the counts added by the database (a job is not read back for each page). After the ``last`` page the job's total
    is what it processed, so its progress ends at 100 % even when the total was not known (or not exact) in
    advance."""
    processed = SyncJob.processed + counts.processed
    values: dict[Any, Any] = {
        SyncJob.cursor: cursor,
        SyncJob.processed: processed,
        SyncJob.created: SyncJob.created + counts.created,
        SyncJob.linked: SyncJob.linked + counts.linked,
        SyncJob.skipped: SyncJob.skipped + counts.skipped,
        SyncJob.failed: SyncJob.failed + counts.failed,
    }
    if last:
        values[SyncJob.total] = processed
    stored = session.execute(update(SyncJob).where(SyncJob.id == job_id).values(values))
    if not cast(CursorResult[Any], stored).rowcount:
        raise NotFoundError(f"no job with id {job_id}")
    runs.count_page(session, run_id, _run_counts(counts))
    if last:
        run = session.get(SyncRun, run_id)
        if run is not None:
            run.progress_total = run.progress_done


def expect(session: Session, job_id: int, run_id: int, total: int) -> None:
    """The total the connector counted for a job that had none yet (a read of every actor), and its run's."""
    job = get_job(session, job_id)
    if job.total is not None:
        return
    job.total = total
    run = session.get(SyncRun, run_id)
    if run is not None:
        run.progress_total = max(total - job.processed, 0)


def _run_counts(counts: PageCounts) -> runs.RunCounts:
    """A job's counts in the terms of the sync history: records handled, written to the CRM, failed."""
    return runs.RunCounts(records=counts.processed, crm_writes=counts.created + counts.linked, errors=counts.failed)


# --- running a job --------------------------------------------------------------------------------------------------


def run_job(
    engine: Engine,
    job_id: int,
    make_pager: PagerFactory,
    *,
    lease_ttl: timedelta = DEFAULT_LEASE,
    progress: Progress | None = None,
) -> SyncJob | None:
    """Run (or resume) a job to its end; None when its connection is busy (the job stays queued)."""
    job = read_job(engine.database, job_id)
    if job.status not in ACTIVE:
        return job
    lease = locks.Lease(locks.connection_lock(job.connection_id), locks.new_holder(), lease_ttl)
    if not busy.retrying(lambda: locks.try_acquire(engine.database, lease), what=f"job {job_id}"):
        return None
    try:
        with locks.kept(engine.database, lease):
            run_id = busy.retrying(lambda: _claim(engine.database, job_id), what=f"job {job_id}")
            return _drive(engine, job_id, run_id, lease, make_pager, progress)
    finally:
        busy.retrying(lambda: locks.release(engine.database, lease), what=f"job {job_id}")


def _claim(database: Database, job_id: int) -> int:
    """Close the runs a crash left open on the connection (a failed attempt of this job among them), and open this
    attempt's run."""
    with database.session() as session:
        job = get_job(session, job_id)
        runs.close_interrupted(session, job.connection_id)
        run = runs.open_run(
            session,
            kind=RUN_KIND[JobKind(job.kind)],
            connection_id=job.connection_id,
            total=None if job.total is None else max(job.total - job.processed, 0),
            started_by=job.created_by,
        )
        job.run_id, job.status = run.id, JobStatus.RUNNING.value
        return run.id


def _drive(
    engine: Engine, job_id: int, run_id: int, lease: locks.Lease, make_pager: PagerFactory, progress: Progress | None
) -> SyncJob:
    database = engine.database
    start = _read(database, job_id)
    try:
        pager = busy.retrying(lambda: make_pager(engine, start), what=f"job {job_id}")
        try:
            with heap.long_lived_frozen():
                return _pages(engine, job_id, run_id, lease, pager, progress, start)
        finally:
            pager.close()
    except ErpsyncError as error:
        logger.warning("%s job %s failed: %s", start.kind, job_id, error.user_message)
        return _finish(database, job_id, run_id, start, JobStatus.FAILED, error)


def _pages(
    engine: Engine,
    job_id: int,
    run_id: int,
    lease: locks.Lease,
    pager: Pager,
    progress: Progress | None,
    start: SyncJob,
) -> SyncJob:
    database = engine.database
    _set_run_total(database, run_id, _read(database, job_id))
    renewed = time.monotonic()
    while True:
        job = _read(database, job_id)
        if job.cancel_requested:
            pager.settle()
            return _finish(database, job_id, run_id, start, JobStatus.CANCELLED)
        if pager.next_page(job, run_id):
            return _finish(database, job_id, run_id, start, JobStatus.DONE)
        if progress is not None:
            progress(_read(database, job_id))
        renewed = _keep_lease(database, lease, renewed, job_id)


RENEW_AFTER = 1 / 6
"""Of the lease's TTL: how long after its last renewal a job renews its lease again after a page."""


def _keep_lease(database: Database, lease: locks.Lease, renewed: float, job_id: int) -> float:
    """Renew the job's lease after a page once ``RENEW_AFTER`` of its TTL has passed since the job last did (the
    beat of ``locks.kept`` renews it meanwhile), not after every page (a write transaction each). A lease can only be
    taken over once its TTL has passed without a renewal, so a take-over is still noticed before the next page;
    returns when the lease was last renewed (``time.monotonic``)."""
    now = time.monotonic()
    if now - renewed < lease.ttl.total_seconds() * RENEW_AFTER:
        return renewed
    if not busy.retrying(lambda: locks.renew(database, lease), what=f"job {job_id}"):
        raise locks.LockedError("the job's lease on its connection expired and was taken over")
    return now


def _read(database: Database, job_id: int) -> SyncJob:
    return busy.retrying(lambda: read_job(database, job_id), what=f"job {job_id}")


def _set_run_total(database: Database, run_id: int, job: SyncJob) -> None:
    if job.total is not None:
        total = max(job.total - job.processed, 0)
        busy.retrying(lambda: runs.set_progress(database, run_id, done=0, total=total), what=f"job {job.id}")


def _finish(
    database: Database,
    job_id: int,
    run_id: int,
    start: SyncJob,
    status: JobStatus,
    error: ErpsyncError | None = None,
) -> SyncJob:
    return busy.retrying(lambda: _store_end(database, job_id, run_id, start, status, error), what=f"job {job_id}")


def _store_end(
    database: Database,
    job_id: int,
    run_id: int,
    start: SyncJob,
    status: JobStatus,
    error: ErpsyncError | None,
) -> SyncJob:
    with database.session() as session:
        job = get_job(session, job_id)
        job.status, job.finished_at = status.value, utcnow()
        job.error = error.user_message if error else None
        job.error_reason = error.code.value if error else None
        job.cancel_requested = False
        counts = _run_counts(
            PageCounts(
                processed=job.processed - start.processed,
                created=job.created - start.created,
                linked=job.linked - start.linked,
                failed=job.failed - start.failed,
            )
        )
    runs.finish_run(
        database,
        run_id,
        counts,
        error=error.user_message if error else None,
        reason=error.code.value if error else None,
        stopped=status is JobStatus.FAILED,
        cancelled=status is JobStatus.CANCELLED,
    )
    return read_job(database, job_id)
