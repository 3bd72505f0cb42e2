"""The live supervisor: one watch open per active connection whose connector declares ``watch``, and the CRM's
changes pushed to the ERPs within about a second, in threads of the process that does sync work (the embedded
worker, or an ``erpsync worker``); the service side is ``sync.live``.

- The supervisor looks every ``poll_seconds`` for active connections nobody watches, and starts a watcher thread
  for each one whose ``watch_lock`` lease it takes (so one watcher per connection across the cluster), up to
  ``max_watches``. A watcher's first answered watch fixes its position, and a run of the connection (``catch_up``)
  syncs what changed before it. It asks ``watch`` again as soon as one answers, syncs the named records, and after a
  failure (dropped, garbage, hung past its bound, circuit open) waits with exponential backoff and jitter; the
  position (``since``) advances only once the named records are synced. Each watcher is its own thread, so a
  connector that hangs holds only its own.
- The CRM pusher wakes when a CRM write commits (in this process: ``crm.notify``; in others: PostgreSQL
  ``LISTEN``), waits until the burst is over (``QUIET_SECONDS`` without a new write, at most ``MAX_DELAY_SECONDS``),
  and syncs the linked records changed since it last looked; the holder of the ``crm-push`` lease does it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from erpsync.crm import notify
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol.pacing import Backoff
from erpsync.protocol.watch import GRACE_SECONDS, MAX_WAIT_SECONDS
from erpsync.storage.db import Database
from erpsync.sync import live, locks
from erpsync.sync.engine import active_connection_ids
from erpsync.sync.work import Engine

logger = logging.getLogger(__name__)

QUIET_SECONDS = 0.2
MAX_DELAY_SECONDS = 0.8
LEASE_TTL = timedelta(seconds=60)
WATCH_BACKOFF = Backoff(base=1.0, cap=60.0, budget=float("inf"))


@dataclass(frozen=True)
class LiveOptions:
    max_watches: int = 32
    wait_seconds: float = MAX_WAIT_SECONDS
    poll_seconds: float = 2.0
    backoff: Backoff = WATCH_BACKOFF
    unsupported_recheck_seconds: float = 60.0


class LiveSync:
    """Starts and stops the watchers and the CRM pusher of one process."""

    def __init__(self, engine: Engine, options: LiveOptions | None = None) -> None:
        self.engine = engine
        self.options = options or LiveOptions()
        self.holder = locks.new_holder()
        self.stopping = threading.Event()
        self._watchers: dict[int, threading.Thread] = {}
        self._skip_until: dict[int, float] = {}
        self._crm_changed = threading.Event()
        self._unsubscribe = notify.subscribe(self._crm_changed.set)
        self._threads = [
            threading.Thread(target=self._supervise, name="erpsync-live", daemon=True),
            threading.Thread(target=self._push_crm, name="erpsync-crm-push", daemon=True),
        ]
        if engine.database.dialect == "postgresql":
            self._threads.append(threading.Thread(target=self._listen, name="erpsync-crm-listen", daemon=True))

    def start(self) -> LiveSync:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._unsubscribe()
        self._crm_changed.set()
        deadline = time.monotonic() + timeout  # a watcher in a long poll ends when it returns; daemons do not wait
        for thread in [*self._threads, *self._watchers.values()]:
            thread.join(max(0.0, deadline - time.monotonic()))

    def watching(self) -> set[int]:
        """The connections this process watches now."""
        return {cid for cid, thread in self._watchers.items() if thread.is_alive()}

    # --- watches ----------------------------------------------------------------------------------------------------

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            try:
                self._start_watchers()
            except Exception:  # the database unreachable for a moment: look again next time
                logger.exception("live sync: could not look for connections to watch")
            self.stopping.wait(self.options.poll_seconds)

    def _start_watchers(self) -> None:
        now = time.monotonic()
        if not live.automatic_sync_on(self.engine.database):
            return
        for connection_id in active_connection_ids(self.engine.database):
            if len(self.watching()) >= self.options.max_watches:
                return
            if connection_id in self.watching() or self._skip_until.get(connection_id, 0) > now:
                continue
            lease = locks.Lease(live.watch_lock(connection_id), self.holder, LEASE_TTL)
            if not locks.try_acquire(self.engine.database, lease):
                continue  # another process watches it
            thread = threading.Thread(
                target=self._watch_connection, args=(lease, connection_id), name=f"erpsync-watch-{connection_id}"
            )
            thread.daemon = True
            self._watchers[connection_id] = thread
            thread.start()

    def _watch_connection(self, lease: locks.Lease, connection_id: int) -> None:
        database = self.engine.database
        try:
            with locks.kept(database, lease):
                _Watcher(self, connection_id).run(lease)
        except Exception:
            logger.exception("live sync: the watcher of connection %s failed", connection_id)
        finally:
            live.unmark_live(database, connection_id, self.holder)
            locks.release(database, lease)

    def skip(self, connection_id: int) -> None:
        """Look at the connection again later (its connector does not watch, or it is not active)."""
        self._skip_until[connection_id] = time.monotonic() + self.options.unsupported_recheck_seconds

    # --- CRM changes ------------------------------------------------------------------------------------------------

    def _push_crm(self) -> None:
        database = self.engine.database
        position = live.crm_position(database)
        lease = locks.Lease(live.LIVE_CRM_LOCK, self.holder, LEASE_TTL)
        while not self.stopping.is_set():
            if not self._next_burst():
                continue
            try:
                if live.automatic_sync_on(database) and locks.try_acquire(database, lease):
                    position = live.push_crm_changes(self.engine, position)
                else:
                    position = live.crm_position(database)  # another process pushes
            except Exception:
                logger.exception("live sync: pushing CRM changes failed; the cycle will sync them")

    def _next_burst(self) -> bool:
        """Wait for a CRM change, then for the end of its burst; False when there was none (or on stop)."""
        if not self._crm_changed.wait(self.options.poll_seconds) or self.stopping.is_set():
            return False
        deadline = time.monotonic() + MAX_DELAY_SECONDS
        self._crm_changed.clear()
        while time.monotonic() < deadline and not self.stopping.wait(QUIET_SECONDS):
            if not self._crm_changed.is_set():
                break
            self._crm_changed.clear()
        return not self.stopping.is_set()

    def _listen(self) -> None:
        """PostgreSQL: the CRM writes of other processes (API, other workers) arrive as notifications."""
        while not self.stopping.is_set():
            try:
                _listen_until_stopped(self.engine.database, self.stopping, self._crm_changed)
            except psycopg.Error as error:
                logger.warning("live sync: listening for CRM changes failed (%s); trying again", error)
                self.stopping.wait(self.options.poll_seconds)


def _listen_until_stopped(database: Database, stop: threading.Event, changed: threading.Event) -> None:
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"LISTEN {notify.CHANNEL}")
        while not stop.is_set():
            for _ in connection.notifies(timeout=1.0, stop_after=1):
                changed.set()


class _Watcher:
    """The loop of one connection's watches."""

    def __init__(self, live_sync: LiveSync, connection_id: int) -> None:
        self._live = live_sync
        self._connection_id = connection_id
        self._since: str | None = None
        self._failures = 0

    def run(self, lease: locks.Lease) -> None:
        engine, stop = self._live.engine, self._live.stopping
        while not stop.is_set() and locks.renew(engine.database, lease) and live.automatic_sync_on(engine.database):
            try:
                target = live.watch_target(engine, self._connection_id)
            except (NotFoundError, ValidationError):
                target = None  # deleted or deactivated
            except ErpsyncError as error:  # the connector's info did not answer
                self._failed(error)
                continue
            if target is None:
                self._live.skip(self._connection_id)
                return
            self._once(target)

    def _once(self, target: live.WatchTarget) -> None:
        engine, options = self._live.engine, self._live.options
        try:
            first = self._since is None  # a position at once, so the connection is live from the start
            answer = live.watch(target, since=self._since, wait_seconds=0 if first else options.wait_seconds)
            if answer.changed:
                live.sync_hints(engine, self._connection_id, answer.changed)
            if first:  # what changed before the first position comes through a run
                live.catch_up(engine, self._connection_id)
        except ErpsyncError as error:
            self._failed(error)
            return
        self._failures = 0
        self._since = answer.next_since or self._since
        marked_for = options.wait_seconds + GRACE_SECONDS + options.poll_seconds
        live.mark_live(engine.database, self._connection_id, self._live.holder, seconds=marked_for)

    def _failed(self, error: ErpsyncError) -> None:
        delay = self._live.options.backoff.delay(self._failures)
        self._failures += 1
        logger.warning(
            "live sync: watch of connection %s failed (%s); again in %.1f s", self._connection_id, error, delay
        )
        live.unmark_live(self._live.engine.database, self._connection_id, self._live.holder)
        self._live.stopping.wait(delay)
