"""Where sync work runs: in-process threads (embedded default) or Dramatiq workers on Redis (scale-out).

The work is the same three functions either way: ``sync_connection_task`` (one run of a connection, then its
alerts: ``sync.alerts``), ``run_job_task`` (an import or resync job, resumed at its cursor). Their safety does not
depend on the runner: a connection's lease in the database lets one run of it at a time across every process, and
jobs are checkpointed per page.

- Embedded (no ``ERPSYNC_REDIS_URL``): ``EmbeddedWorker`` has a scheduler thread that runs a cycle over every active
  connection each interval while automatic sync is on (``/engine``), then sends the alerts of every connection
  (``sync.alerts.notify_all``), and a job thread that runs queued jobs; with ``ERPSYNC_LIVE_SYNC`` (the default) also
  the live sync (``erpsync.live``: watches, CRM changes pushed at once).
- Either way the scheduler closes, on every tick, the runs a dead process left *running* (``runs.close_abandoned``:
  their lease expired) and purges the field history past its retention once a day (``field_history.DailyPurge``).
- Scale-out: ``erpsync worker`` runs ``serve_workers``: Dramatiq worker threads consuming the actors, and a
  ``Scheduler`` thread that enqueues each due connection (interval from the engine settings) and each job nothing is
  running (never delivered, message lost with a Redis restart, or worker killed: its lease expired). Only the holder
  of the ``scheduler`` lease enqueues, so N workers do not multiply the work. API processes only enqueue. Each worker
  runs the live sync too; its leases keep one watcher per connection and one CRM pusher across the workers.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from erpsync import metrics
from erpsync.errors import ErpsyncError
from erpsync.live import LiveSync
from erpsync.logs import bound
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncJob, SyncRun, utcnow
from erpsync.sync import alerts, field_history, imports, jobs, locks, resync, runs
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.engine import RunSummary, active_connection_ids, run_cycle, sync_connection
from erpsync.sync.engine_settings import engine_settings
from erpsync.sync.work import Engine

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the schedulers look at the engine settings and the jobs, so changes apply quickly."""
QUEUE = "erpsync"
DEFAULT_NAMESPACE = "erpsync"
SCHEDULER_LOCK = "scheduler"
NO_TIME_LIMIT_MS = 7 * 24 * 3600 * 1000  # an import of a large ERP may take hours; Dramatiq's default is 10 minutes


# --- the work -------------------------------------------------------------------------------------------------------


def run_cycle_now(database: Database, clients: ConnectorClients) -> list[RunSummary]:
    """One cycle over every active connection."""
    return run_cycle(Engine(database, clients))


def sync_connection_task(engine: Engine, connection_id: int) -> RunSummary | None:
    """One run of a connection; None when a run of it is under way elsewhere or it is no longer active."""
    with bound(connection_id=connection_id):
        try:
            summary = sync_connection(engine, connection_id, kind=runs.RunKind.CYCLE)
        except locks.LockedError:
            logger.info("connection %s is being synced by another run", connection_id)
            return None
        except ErpsyncError as error:
            logger.info("connection %s not synced: %s", connection_id, error.user_message)
            return None
        with bound(run_id=summary.run_id):
            logger.info("run %s of connection %s: %s", summary.run_id, connection_id, summary.status)
        notify_quietly(engine, connection_id)
        return summary


def notify_quietly(engine: Engine, connection_id: int) -> None:
    """Tell the connection's alert recipients what is new since its last run; a failure never fails the run."""
    try:
        alerts.notify(engine.database, engine.clients.cipher, connection_id)
    except Exception:
        logger.exception("alerts of connection %s failed", connection_id)


JOB_RUNNERS = {jobs.JobKind.IMPORT: imports.run_import, jobs.JobKind.RESYNC: resync.run_resync}


def run_job_task(engine: Engine, job_id: int, *, lease_ttl: timedelta = jobs.DEFAULT_LEASE) -> SyncJob | None:
    """Run or resume a job; None while its connection is busy (it stays queued and is delivered again)."""
    job = jobs.read_job(engine.database, job_id)
    with bound(job_id=job_id, connection_id=job.connection_id):
        return JOB_RUNNERS[jobs.JobKind(job.kind)](engine, job_id, lease_ttl=lease_ttl)


def housekeeping(purge: field_history.DailyPurge, database: Database) -> None:
    """Each scheduler tick: the runs a dead process left *running* closed as interrupted (``runs.close_abandoned``),
    and the field history's daily purge; a failure is logged and tried again the next tick (the purge: day)."""
    try:
        closed = runs.close_abandoned(database)
    except Exception:  # the scheduler outlives it
        logger.exception("closing abandoned runs failed")
    else:
        if closed:
            logger.warning("runs %s: their process stopped before they ended; closed as interrupted", closed)
    try:
        purged = purge.tick(database)
    except Exception:  # the scheduler outlives the purge
        logger.exception("purging the field history failed")
        return
    if purged is not None and purged.rows:
        logger.info("purged %s field changes older than %s", purged.rows, purged.before.isoformat())


# --- embedded -------------------------------------------------------------------------------------------------------


class EmbeddedWorker:
    """Runs a cycle when one is due (``interval_seconds`` after the previous one started, or after start-up), and the
    queued import and resync jobs, in two daemon threads of this process."""

    def __init__(self, engine: Engine, *, poll_seconds: float = POLL_SECONDS, live_sync: bool = False) -> None:
        self._engine = engine
        self._live = LiveSync(engine) if live_sync else None
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._cycles, name="erpsync-scheduler", daemon=True),
            threading.Thread(target=self._jobs, name="erpsync-jobs", daemon=True),
        ]
        self.cycles = 0
        self._purge = field_history.DailyPurge()

    def start(self) -> EmbeddedWorker:
        for thread in self._threads:
            thread.start()
        if self._live is not None:
            self._live.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.stop()
        for thread in self._threads:
            thread.join(timeout)

    def _cycles(self) -> None:
        last_start = time.monotonic()
        while not self._stop.wait(self._poll_seconds):
            housekeeping(self._purge, self._engine.database)
            with self._engine.database.read_session() as session:
                settings = engine_settings(session)
            if not settings.running or time.monotonic() - last_start < settings.interval_seconds:
                continue
            last_start = time.monotonic()
            self._cycle()

    def _cycle(self) -> None:
        try:
            run_cycle(self._engine)
        except Exception:  # the scheduler outlives any one cycle; the run history holds the details
            logger.exception("sync cycle failed")
        alerts.notify_all(self._engine.database, self._engine.clients.cipher)
        self.cycles += 1

    def _jobs(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                for job in jobs.runnable_jobs(self._engine.database):
                    jobs.mark_enqueued(self._engine.database, job.id)
                    run_job_task(self._engine, job.id)
            except Exception:  # a job's own failure is stored on it; this keeps the thread alive for the next
                logger.exception("running sync jobs failed")


class IdleWorker:
    """The API's background worker in scale-out mode: none (workers do the work; the API stays stateless)."""

    def start(self) -> IdleWorker:
        return self

    def stop(self, timeout: float = 0.0) -> None:
        return None


def background_worker(settings: Settings, engine: Engine) -> EmbeddedWorker | IdleWorker:
    """What the API process runs in the background: the embedded worker, or nothing when Redis workers exist."""
    return IdleWorker() if settings.redis_url else EmbeddedWorker(engine, live_sync=settings.live_sync)


# --- Dramatiq -------------------------------------------------------------------------------------------------------


class Dispatcher(Protocol):
    def sync_connection(self, connection_id: int) -> None: ...

    def run_job(self, job_id: int) -> None: ...


def build_broker(redis_url: str, *, namespace: str = DEFAULT_NAMESPACE) -> RedisBroker:
    """A Redis broker; ``namespace`` prefixes its keys, so several hubs (or tests) can share one Redis."""
    return RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]


def broker_problem(settings: Settings) -> str | None:
    """For the readiness probe: None when no broker is configured (embedded) or Redis answers a ping; otherwise what is
    wrong, in words that name no address or password."""
    if not settings.redis_url:
        return None
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"broker not reachable ({type(error).__name__})"
    finally:
        client.close()
    return None


@dataclass
class DramatiqDispatcher:
    """Sends work to the Dramatiq workers; the same actor names in every process, bound to this broker."""

    broker: RedisBroker
    engine: Callable[[], Engine] | None = None  # set in worker processes: where the actors find their engine
    lease_ttl: timedelta = jobs.DEFAULT_LEASE

    def __post_init__(self) -> None:
        self._sync = self._declare(self._sync_connection, "erpsync_sync_connection")
        self._job = self._declare(self._run_job, "erpsync_run_job")

    def _declare(self, fn: Callable[[int], None], name: str) -> Any:
        # Retries are the scheduler's job (it re-sends what nothing runs); a second, blind retry would only race it.
        decorate = dramatiq.actor(
            actor_name=name, broker=self.broker, queue_name=QUEUE, max_retries=0, time_limit=NO_TIME_LIMIT_MS
        )
        return decorate(fn)

    def sync_connection(self, connection_id: int) -> None:
        self._sync.send(connection_id)

    def run_job(self, job_id: int) -> None:
        self._job.send(job_id)

    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("this process only sends work: it has no engine to run it")
        return self.engine()

    def _sync_connection(self, connection_id: int) -> None:
        sync_connection_task(self._engine(), connection_id)

    def _run_job(self, job_id: int) -> None:
        run_job_task(self._engine(), job_id, lease_ttl=self.lease_ttl)


def job_sender(settings: Settings, database: Database) -> Callable[[int], None]:
    """How the API and the web UI hand a job just queued (or requeued) to whoever runs jobs. With
    ``ERPSYNC_REDIS_URL``: the Dramatiq workers, through a dispatcher made on first use; embedded: nobody, the job
    thread finds queued jobs on its own."""
    redis_url = settings.redis_url
    if not redis_url:
        return lambda _job_id: None
    made = threading.Lock()
    dispatchers: list[DramatiqDispatcher] = []

    def send(job_id: int) -> None:
        with made:
            if not dispatchers:
                dispatchers.append(DramatiqDispatcher(build_broker(redis_url)))
        dispatch_job(database, dispatchers[0], job_id)

    return send


def dispatch_job(database: Database, dispatcher: Dispatcher, job_id: int) -> None:
    """Send a job to the workers now; if that fails (Redis down) the scheduler sends it later."""
    try:
        dispatcher.run_job(job_id)
    except redis.RedisError as error:
        logger.warning("job %s not sent, the scheduler will: %s", job_id, error)
        return
    jobs.mark_enqueued(database, job_id)


class Scheduler:
    """Enqueues due connections and undelivered jobs; one process at a time does it (the ``scheduler`` lease)."""

    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher,
        *,
        poll_seconds: float = POLL_SECONDS,
        redeliver_after: timedelta = jobs.REDELIVER_AFTER,
    ) -> None:
        self._database = database
        self._dispatcher = dispatcher
        self._poll_seconds = poll_seconds
        self._redeliver_after = redeliver_after
        self._lease = locks.Lease(SCHEDULER_LOCK, locks.new_holder(), timedelta(seconds=max(3 * poll_seconds, 5)))
        self._sent: dict[int, datetime] = {}
        self._purge = field_history.DailyPurge()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="erpsync-enqueuer", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        locks.release(self._database, self._lease)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.tick()
            except redis.RedisError as error:  # Redis restarting: try again on the next tick
                logger.warning("scheduler could not reach Redis: %s", error)
            except Exception:
                logger.exception("scheduler tick failed")

    def tick(self) -> None:
        if not locks.try_acquire(self._database, self._lease):
            return  # another process schedules
        housekeeping(self._purge, self._database)
        for connection_id in self._due_connections():
            self._dispatcher.sync_connection(connection_id)
            self._sent[connection_id] = utcnow()
        for job in jobs.runnable_jobs(self._database, redeliver_after=self._redeliver_after):
            self._dispatcher.run_job(job.id)
            jobs.mark_enqueued(self._database, job.id)

    def _due_connections(self) -> list[int]:
        """Active connections whose last run (or our last send) started an interval ago or more, in priority order."""
        with self._database.read_session() as session:
            settings = engine_settings(session)
            if not settings.running:
                return []
            last_runs: dict[int | None, datetime] = dict(
                session.execute(
                    select(SyncRun.connection_id, func.max(SyncRun.started_at))
                    .where(SyncRun.kind.in_([runs.RunKind.CYCLE.value, runs.RunKind.CONNECTION.value]))
                    .group_by(SyncRun.connection_id)
                ).all()
            )
        now, interval = utcnow(), timedelta(seconds=settings.interval_seconds)
        due = []
        for connection_id in active_connection_ids(self._database):
            moments = [moment for moment in (last_runs.get(connection_id), self._sent.get(connection_id)) if moment]
            if not moments or now - max(moments) >= interval:
                due.append(connection_id)
        return due


@dataclass(frozen=True)
class WorkerOptions:
    threads: int = 2
    namespace: str = DEFAULT_NAMESPACE
    lease_ttl: timedelta = jobs.DEFAULT_LEASE
    poll_seconds: float = POLL_SECONDS
    redeliver_after: timedelta = jobs.REDELIVER_AFTER


def serve_workers(settings: Settings, engine: Engine, options: WorkerOptions) -> None:
    """Run Dramatiq worker threads and the scheduler until SIGTERM or SIGINT."""
    if not settings.redis_url:
        raise ErpsyncError("set ERPSYNC_REDIS_URL to the Redis the workers share (without it the hub runs embedded)")
    broker = build_broker(settings.redis_url, namespace=options.namespace)
    dispatcher = DramatiqDispatcher(broker, engine=lambda: engine, lease_ttl=options.lease_ttl)
    worker = dramatiq.Worker(broker, worker_threads=options.threads, worker_timeout=int(options.poll_seconds * 1000))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    scheduler = Scheduler(
        engine.database, dispatcher, poll_seconds=options.poll_seconds, redeliver_after=options.redeliver_after
    ).start()
    live_sync = LiveSync(engine).start() if settings.live_sync else None
    logger.info("erpsync worker: %s threads on %s", options.threads, options.namespace)
    try:
        stop.wait()
    finally:
        if live_sync is not None:
            live_sync.stop()
        scheduler.stop()
        worker.stop()
        broker.close()
        metrics.process_ended()
