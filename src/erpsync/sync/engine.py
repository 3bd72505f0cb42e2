"""The sync engine (SPEC §7): cycles over active connections, a run of one connection, and the per-record sync behind
*Sync now*.

A connection's run holds its lease (``locks.connection_lock``) and makes, for each actor type whose master switch is
on, the three passes of ``sync.cycle_passes`` (ERP changes, CRM changes, retries). Each batch is merged per link
(``sync.record``) and stored in ONE short transaction with the watermark that covers it (``sync.batch``); connector
calls happen outside any transaction. The work context of each actor type is a ``sync.work.Pass``.

One record's failure (typed reason) never stops the batch; an auth or configuration error stops the run with its
reason. Each stored batch adds its counts to the run in its own transaction (``runs.count_page``), so progress grows
page by page; the total stays unknown (the ERP pass cannot know it in advance) except for a one-record run. A cancel
request (``runs.request_cancel``) is read at every page boundary: the run stops there, with the page before it stored
and the watermark after it, releases the connection's lease and ends ``cancelled``; the next run resumes from the
watermark.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, utcnow
from erpsync.sync import busy, links, locks, runs
from erpsync.sync.batch import Batch, CancelWatch, RunStoppedError, again_when_free, stop_if_fatal, sync_links
from erpsync.sync.cycle_passes import PASSES, Step
from erpsync.sync.record import RecordResult, counts_of
from erpsync.sync.work import Engine, active_connection, pass_of, passes

logger = logging.getLogger(__name__)

LINK_LOCK_WAIT_SECONDS = 5.0
RECORD_BUSY = "another sync of this record is under way: try again when it is done"

Progress = Callable[[int], None]
"""Told the number of records a run has handled so far."""


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    connection_id: int | None
    status: str
    counts: runs.RunCounts
    error: str | None = None


def sync_connection(
    engine: Engine,
    connection_id: int,
    *,
    kind: runs.RunKind = runs.RunKind.CONNECTION,
    progress: Progress | None = None,
) -> RunSummary:
    """One run of one active connection; ``locks.LockedError`` when a run of it is under way already. A run that the
    database's being busy stopped (foreground load holding SQLite's write lock, a PostgreSQL serialization failure) is
    run again with backoff: the interrupted attempt is closed as failed in the history, and every page it stored stays
    stored. The attempts share one lease holder, so a lease an attempt could not release is taken over by the next."""
    holder = locks.new_holder()
    return busy.retrying(
        lambda: _sync_connection_once(engine, connection_id, kind=kind, progress=progress, holder=holder),
        what=f"sync of connection {connection_id}",
    )


def _sync_connection_once(
    engine: Engine, connection_id: int, *, kind: runs.RunKind, progress: Progress | None, holder: str
) -> RunSummary:
    with engine.database.read_session() as session:
        active_connection(session, connection_id)
    with locks.held(engine.database, locks.connection_lock(connection_id), holder=holder) as lease:
        run_id = runs.start_leased_run(engine.database, kind=kind, connection_id=connection_id)
        return _run(engine, connection_id, run_id, lease, progress)


def _run(engine: Engine, connection_id: int, run_id: int, lease: locks.Lease, progress: Progress | None) -> RunSummary:
    counts, problems, stopped = runs.RunCounts(), list[ErpsyncError](), None
    cancel = CancelWatch(engine.database, run_id)
    try:
        with engine.database.read_session() as session:
            run_passes = passes(engine, session, active_connection(session, connection_id))
        for p, step in itertools.product(run_passes, PASSES):
            if cancel.requested():
                break
            problem = _step(Batch(engine, p, run_id, lease.holder, cancel), step, counts)
            if problem is not None:
                problems.append(problem)
            if progress is not None:
                progress(counts.records)
            if not locks.renew(engine.database, lease):
                raise RunStoppedError(locks.LockedError("the run's lease expired and was taken over"))
    except RunStoppedError as stop:
        stopped = stop.error
    except ErpsyncError as error:  # the configuration could not be read
        stopped = error
    last = stopped or (problems[-1] if problems else None)
    run = runs.finish_run(
        engine.database,
        run_id,
        counts,
        error=last.user_message if last else None,
        reason=last.code.value if last else None,
        stopped=stopped is not None,
        cancelled=cancel.seen and stopped is None,
    )
    return RunSummary(run.id, connection_id, run.status, counts, run.error)


def _step(batch: Batch, step: Step, counts: runs.RunCounts) -> ErpsyncError | None:
    """Run one pass; a failure that is not a record's (a page that did not arrive) ends the pass, not the run. The
    records another sync held meanwhile are synced again once it is done (``again_when_free``): the watermark has
    moved past their change."""
    try:
        counts.add(counts_of(again_when_free(batch, step(batch))))
    except ErpsyncError as error:
        stop_if_fatal(error)
        logger.warning("connection %s, %s: %s", batch.p.connection_id, batch.p.actor_type, error.user_message)
        return error
    finally:
        counts.add(batch.tally)  # what automatic creation did, also when the pass failed after
    return None


def active_connection_ids(database: Database) -> list[int]:
    """Active connections in sync-priority order."""
    with database.read_session() as session:
        query = select(ErpConnection.id).where(ErpConnection.active.is_(True), ErpConnection.deleted_at.is_(None))
        return list(session.scalars(query.order_by(ErpConnection.priority, ErpConnection.id)))


def run_cycle(engine: Engine, *, progress: Callable[[int, RunSummary | None], None] | None = None) -> list[RunSummary]:
    """One cycle: every active connection in priority order; one already running elsewhere is left to that run."""
    summaries = []
    for connection_id in active_connection_ids(engine.database):
        try:
            summary: RunSummary | None = sync_connection(engine, connection_id, kind=runs.RunKind.CYCLE)
        except locks.LockedError:
            logger.info("connection %s is being synced by another run; skipped this cycle", connection_id)
            summary = None
        if summary is not None:
            summaries.append(summary)
        if progress is not None:
            progress(connection_id, summary)
    return summaries


# --- one record -----------------------------------------------------------------------------------------------------


def sync_link(engine: Engine, link_id: int) -> RecordResult:
    """*Sync now* for one record: holds the link's lease, reads both sides fresh, merges and writes;
    ``locks.LockedError`` (``RECORD_BUSY``) while another sync of the record is under way."""
    holder = locks.new_holder()
    try:
        with locks.held(engine.database, locks.link_lock(link_id), wait=LINK_LOCK_WAIT_SECONDS, holder=holder):
            result = _sync_held_link(engine, link_id, holder)
    except locks.LockedError:
        raise locks.LockedError(RECORD_BUSY) from None
    if result.busy:
        raise locks.LockedError(RECORD_BUSY)
    return result


def _sync_held_link(engine: Engine, link_id: int, holder: str) -> RecordResult:
    with engine.database.read_session() as session:
        link = links.get_link(session, link_id)
        connection = active_connection(session, link.connection_id)
        actor_type = m.ActorType(link.actor_type)
        p = pass_of(engine, session, connection, actor_type)
        if p is None:
            raise ValidationError(f"sync of ERP {actor_type} is switched off for connection {connection.name!r}")
    run_id = runs.start_run(engine.database, kind=runs.RunKind.RECORD, connection_id=link.connection_id, total=1)
    with runs.alive(engine.database, run_id):  # its lease until it is closed (with its one page, or here)
        try:
            batch = Batch(engine, p, run_id, holder, held=frozenset({locks.link_lock(link_id)}), one_page=True)
            results = sync_links(batch, [link])
        except RunStoppedError as stop:
            runs.finish_run(
                engine.database,
                run_id,
                runs.RunCounts(),
                error=stop.error.user_message,
                reason=stop.error.code.value,
                stopped=True,
            )
            raise stop.error from None
    return results[0] if results else RecordResult(link_id=link_id, state=links.LinkState.OK.value)


def retry_link(engine: Engine, connection_id: int, link_id: int) -> RecordResult:
    """Un-park a failing record and sync it at once."""
    with engine.database.session() as session:
        link = links.get_link(session, link_id)
        if link.connection_id != connection_id:
            raise NotFoundError(f"no link with id {link_id} in connection {connection_id}")
        links.schedule_retry(link, now=utcnow())
    return sync_link(engine, link_id)
