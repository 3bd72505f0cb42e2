"""The engine's scheduler. Embedded mode: a background thread in the API process runs a cycle every interval while
automatic sync is on (``/engine``). ``run_cycle_now`` is the cycle itself, importable by a Dramatiq actor later.
"""

from __future__ import annotations

import logging
import threading
import time

from erpsync.storage.db import Database
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.engine import Engine, RunSummary, engine_settings, run_cycle

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the scheduler looks at the engine settings, so a change of on/off or interval applies quickly."""


def run_cycle_now(database: Database, clients: ConnectorClients) -> list[RunSummary]:
    """One cycle over every active connection."""
    return run_cycle(Engine(database, clients))


class EmbeddedWorker:
    """Runs a cycle when one is due: ``interval_seconds`` after the previous one started (or after start-up)."""

    def __init__(self, engine: Engine, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._engine = engine
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="erpsync-scheduler", daemon=True)
        self.cycles = 0

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        last_start = time.monotonic()
        while not self._stop.wait(self._poll_seconds):
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
        self.cycles += 1
