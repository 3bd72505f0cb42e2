"""Sync history: runs (what ran, how it ended, counts, progress) and per-record events; per-connection health.

Each function that takes a ``database`` opens its own short transaction; those that take a ``session`` join the
caller's, so that an event or a page's counts (``add_event``, ``count_page``) are stored with the writes they describe.

Progress is counted per page, in the page's own transaction, so a run's counts grow while it runs and never say more
(or less) than it stored. A cancel request is a flag on the run that the run itself reads at its page boundaries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from erpsync import metrics
from erpsync.errors import ConflictError, ErrorCode, NotFoundError
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpLink, SyncEvent, SyncLock, SyncRun, utcnow
from erpsync.sync import field_history, locks
from erpsync.sync.links import LinkCounts, link_counts
from erpsync.sync.merge import Decision


class RunKind(StrEnum):
    CYCLE = "cycle"  # the scheduler's or the CLI's pass over every active connection
    CONNECTION = "connection"  # Sync now for one connection
    RECORD = "record"  # Sync now (or retry) for one record
    IMPORT = "import"  # one attempt of an import from the ERP (erpsync.sync.imports)
    RESYNC = "resync"  # one attempt of a resync from the CRM (erpsync.sync.resync)
    UNDO = "undo"  # a run undone, field by field (erpsync.sync.undo)
    REVERT = "revert"  # one field set back to its previous value (erpsync.sync.undo)
    LIVE = "live"  # the records a watch or a CRM change named, synced at once (erpsync.sync.live)


class RunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # some records failed; the rest synced
    FAILED = "failed"  # the run stopped: see its error and reason
    CANCELLED = "cancelled"  # stopped on request at a page boundary; what it did so far is kept


@dataclass
class RunCounts:
    records: int = 0
    crm_writes: int = 0
    erp_writes: int = 0
    conflicts: int = 0
    errors: int = 0
    broken: int = 0
    auto_linked: int = 0
    """Records automatic creation linked to a match, on either side."""
    auto_created: int = 0
    """Records automatic creation created (in the CRM or in the ERP) and linked."""
    to_review: int = 0
    """Records automatic creation put on the review list."""

    def add(self, other: RunCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class RecordError:
    """One error on one record, with its typed reason (SPEC §5.2); ``field`` when it concerns one field."""

    reason: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class EventRecord:
    link: ErpLink
    decisions: Sequence[Decision] = ()
    errors: Sequence[RecordError] = field(default_factory=tuple)
    crm_changed_by: str | None = None  # the CRM record's last writer: the author of the CRM values sent to the ERP


LEASED_KINDS = (RunKind.CYCLE, RunKind.CONNECTION, RunKind.IMPORT, RunKind.RESYNC)
"""Runs that hold their connection's lease from their start to their end. The others (a record, live, undo, revert
run) hold a lease of their own, ``run_lease``, taken with the run and renewed while it runs (``alive``)."""
RUN_LEASE_TTL = locks.DEFAULT_TTL
INTERRUPTED = "interrupted: the process running it stopped (crash or lost database connection) before it ended"


def open_run(
    session: Session,
    *,
    kind: RunKind,
    connection_id: int | None,
    total: int | None = None,
    started_by: int | None = None,
) -> SyncRun:
    """Open a run in the caller's transaction; ``total``: the records it will handle, when known in advance;
    ``started_by``: the user who asked for it, when one did."""
    run = SyncRun(
        connection_id=connection_id,
        kind=kind.value,
        status=RunStatus.RUNNING.value,
        counts_json={},
        progress_total=total,
        started_by=started_by,
    )
    session.add(run)
    session.flush()
    if kind not in LEASED_KINDS:  # taken in the run's own transaction: no moment when it runs without it
        lease = run_lease(run.id)
        session.add(SyncLock(name=lease.name, holder=lease.holder, expires_at=utcnow() + lease.ttl))
    return run


def run_lease(run_id: int) -> locks.Lease:
    """The lease a run not of ``LEASED_KINDS`` holds while it runs: expired, the process running it is gone."""
    name = f"run:{run_id}"
    return locks.Lease(name, name, RUN_LEASE_TTL)


@contextmanager
def alive(database: Database, run_id: int) -> Iterator[None]:
    """Renew the run's lease while the block runs; released after it (closing the run releases it too). A run the
    block left open (an unexpected error) is closed as interrupted by the next ``close_abandoned``."""
    lease = run_lease(run_id)
    try:
        with locks.kept(database, lease):
            yield
    finally:
        locks.release(database, lease)


def start_run(database: Database, *, kind: RunKind, connection_id: int | None, total: int | None = None) -> int:
    """Open a run in a transaction of its own."""
    with database.session() as session:
        return open_run(session, kind=kind, connection_id=connection_id, total=total).id


def start_leased_run(database: Database, *, kind: RunKind, connection_id: int) -> int:
    """Open a run of a connection whose lease the caller has just taken, closing the interrupted ones first."""
    with database.session() as session:
        close_interrupted(session, connection_id)
        return open_run(session, kind=kind, connection_id=connection_id).id


def close_interrupted(session: Session, connection_id: int) -> list[int]:
    """Close as failed the runs of the connection that still say running; call it holding the connection's lease.

    A run of ``LEASED_KINDS`` holds that lease from its start to its end, so while the caller holds it no such run
    can be alive: one still marked running was left by a process that died (or lost its database) mid-way, and its
    lease has expired or was released. The other runs hold a lease of their own: ``close_abandoned`` closes them."""
    stale = session.scalars(
        select(SyncRun).where(
            SyncRun.connection_id == connection_id,
            SyncRun.status == RunStatus.RUNNING.value,
            SyncRun.kind.in_([kind.value for kind in LEASED_KINDS]),
        )
    ).all()
    return _interrupted(stale)


def close_abandoned(database: Database) -> list[int]:
    """Close as failed ("interrupted") every running run whose lease has expired or is gone: the process running it
    died (kill -9, a crash, a lost database). A run of ``LEASED_KINDS`` is judged by its connection's lease, any
    other by its own (``run_lease``); the lease is taken before the run opens and released after it closes, so a live
    run always has one. The background scheduler calls it on every tick."""
    with database.read_session() as session:  # most ticks find nothing: no write transaction for them
        found = _abandoned(session)
    if not found:
        return []
    with database.session() as session:  # read again in the writing transaction: one may have ended meanwhile
        return _interrupted(_abandoned(session, [run.id for run in found]))


def _abandoned(session: Session, among: Sequence[int] | None = None) -> list[SyncRun]:
    query = select(SyncRun).where(SyncRun.status == RunStatus.RUNNING.value)
    running = session.scalars(query if among is None else query.where(SyncRun.id.in_(among))).all()
    names = {run.id: _lease_name(run) for run in running}
    live = select(SyncLock.name).where(SyncLock.name.in_(set(names.values())), SyncLock.expires_at >= utcnow())
    held = set(session.scalars(live)) if names else set()
    return [run for run in running if names[run.id] not in held]


def _lease_name(run: SyncRun) -> str:
    if run.kind in {kind.value for kind in LEASED_KINDS} and run.connection_id is not None:
        return locks.connection_lock(run.connection_id)
    return run_lease(run.id).name


def _interrupted(stale: Sequence[SyncRun]) -> list[int]:
    for run in stale:
        run.status, run.finished_at = RunStatus.FAILED.value, utcnow()
        run.error, run.error_reason = INTERRUPTED, ErrorCode.TRANSIENT.value
    return [run.id for run in stale]


def set_progress(database: Database, run_id: int, *, done: int, total: int | None = None) -> None:
    with database.session() as session:
        run = session.get(SyncRun, run_id)
        if run is not None:
            run.progress_done = done
            run.progress_total = total


def count_page(session: Session, run_id: int, counts: RunCounts) -> None:
    """Add one page's counts to its run, in the transaction that stores the page."""
    run = session.get(SyncRun, run_id) if counts.records else None
    if run is None:
        return
    so_far = RunCounts(**run.counts_json)
    so_far.add(counts)
    run.counts_json = asdict(so_far)
    run.progress_done += counts.records


def request_cancel(session: Session, run_id: int) -> SyncRun:
    """Ask a running run to stop at its next page boundary (in the caller's transaction); an ended one: 409."""
    run = get_run(session, run_id)
    if run.status != RunStatus.RUNNING.value:
        raise ConflictError(f"run {run_id} has ended ({run.status}): there is nothing to cancel")
    run.cancel_requested = True
    return run


def cancel_requested(database: Database, run_id: int) -> bool:
    with database.read_session() as session:
        return bool(session.scalar(select(SyncRun.cancel_requested).where(SyncRun.id == run_id)))


def finish_run(
    database: Database,
    run_id: int,
    counts: RunCounts,
    *,
    error: str | None = None,
    reason: str | None = None,
    stopped: bool = False,
    cancelled: bool = False,
) -> SyncRun:
    """Close the run: cancelled on request, failed when it ``stopped``, partial when records or pages failed, else
    ok."""
    with database.session() as session:
        return close_run(session, run_id, counts, error=error, reason=reason, stopped=stopped, cancelled=cancelled)


def close_run(
    session: Session,
    run_id: int,
    counts: RunCounts,
    *,
    error: str | None = None,
    reason: str | None = None,
    stopped: bool = False,
    cancelled: bool = False,
) -> SyncRun:
    """``finish_run`` in the caller's transaction: a one-page run ends with the page it stores."""
    run = get_run(session, run_id)
    run.counts_json = asdict(counts)
    run.error, run.error_reason = error, reason
    run.status = RunStatus.CANCELLED.value if cancelled else _status(counts, error, stopped).value
    run.finished_at = utcnow()
    session.execute(delete(SyncLock).where(SyncLock.name == run_lease(run_id).name))
    kind, status, reason, final = run.kind, run.status, run.error_reason, replace(counts)
    _when_committed(session, lambda: _count_finished(kind, status, reason, final))
    return run


def _count_finished(kind: str, status: str, error_reason: str | None, counts: RunCounts) -> None:
    metrics.RUNS.labels(kind, status).inc()
    metrics.RECORDS.labels("to_crm").inc(counts.crm_writes)
    metrics.RECORDS.labels("to_erp").inc(counts.erp_writes)
    metrics.CONFLICTS.inc(counts.conflicts)
    if error_reason:
        metrics.ERRORS.labels("run", error_reason).inc()


# --- metrics, counted once what they count is committed ----------------------------------------------------------

_PENDING_COUNTS = "erpsync_pending_counts"


def _when_committed(session: Session, count: Callable[[], None]) -> None:
    """Count when the session's transaction commits: a transaction rolled back (and tried again, as busy writes are)
    counts nothing, so nothing is counted twice."""
    session.info.setdefault(_PENDING_COUNTS, []).append(count)


@orm_events.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for count in session.info.pop(_PENDING_COUNTS, ()):
        count()


@orm_events.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING_COUNTS, None)


def _status(counts: RunCounts, error: str | None, stopped: bool) -> RunStatus:
    if stopped:
        return RunStatus.FAILED
    return RunStatus.PARTIAL if counts.errors or error else RunStatus.OK


def decision_json(decision: Decision) -> dict[str, Any]:
    """A decision as the history stores it: its values, winner and reason (the kind is for code, not stored)."""
    data = asdict(decision)
    del data["kind"]
    for key in ("winner", "written_to"):
        data[key] = None if data[key] is None else str(data[key])
    return data


def _count_record_errors(reasons: Sequence[str]) -> None:
    for reason in reasons:
        metrics.ERRORS.labels("record", reason).inc()


def add_event(session: Session, run_id: int, event: EventRecord) -> None:
    link = event.link
    reasons = [error.reason for error in event.errors]
    if reasons:
        _when_committed(session, lambda: _count_record_errors(reasons))
    session.add(
        SyncEvent(
            run_id=run_id,
            link_id=link.id,
            entity_type=link.entity_type,
            entity_id=link.entity_id,
            actor_type=link.actor_type,
            erp_key=link.erp_key,
            changes_json=[decision_json(d) for d in event.decisions],
            errors_json=[asdict(e) for e in event.errors],
        )
    )
    field_history.add_decisions(session, run_id, link, event.decisions, crm_changed_by=event.crm_changed_by)


# --- progress -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunProgress:
    """How far a run is: records ``done`` of ``total``; ``total`` None while unknown (an ERP pass cannot know how many
    changes it will be given), and then no percentage nor ETA either."""

    done: int
    total: int | None
    percentage: float | None
    eta_seconds: float | None


def progress_of(run: SyncRun, *, now: dt.datetime) -> RunProgress:
    total = run.progress_total
    remaining = None if total is None else total - run.progress_done
    return RunProgress(run.progress_done, total, _percentage(run), eta_seconds(run, remaining=remaining, now=now))


def _percentage(run: SyncRun) -> float | None:
    if run.status in (RunStatus.OK.value, RunStatus.PARTIAL.value):
        return 100.0
    if not run.progress_total:
        return None
    return round(100.0 * min(run.progress_done, run.progress_total) / run.progress_total, 1)


def eta_seconds(run: SyncRun, *, remaining: int | None, now: dt.datetime) -> float | None:
    """Seconds left at the run's pace so far; None once it ended, before its first page, or when what is left is
    unknown."""
    if run.finished_at is not None or remaining is None or not run.progress_done:
        return None
    elapsed = (now - run.started_at).total_seconds()
    return round(max(remaining, 0) * elapsed / run.progress_done, 1)


# --- reading the history --------------------------------------------------------------------------------------------


def get_run(session: Session, run_id: int) -> SyncRun:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}")
    return run


def list_runs(session: Session, *, connection_id: int | None = None, limit: int = 50, offset: int = 0) -> list[SyncRun]:
    """Newest first, optionally of one connection."""
    query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit).offset(offset)
    if connection_id is not None:
        query = query.where(SyncRun.connection_id == connection_id)
    return list(session.scalars(query))


def run_events(session: Session, run_id: int, *, limit: int = 500, offset: int = 0) -> list[SyncEvent]:
    get_run(session, run_id)
    query = select(SyncEvent).where(SyncEvent.run_id == run_id).order_by(SyncEvent.id).limit(limit).offset(offset)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Health:
    links: LinkCounts
    last_run: SyncRun | None


def connection_health(session: Session, connection_id: int) -> Health:
    last = list_runs(session, connection_id=connection_id, limit=1)
    return Health(links=link_counts(session, connection_id), last_run=last[0] if last else None)
