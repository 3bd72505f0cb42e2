"""The embedded scheduler runs cycles on the stored interval while automatic sync is on, and none while it is off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from erpsync.storage.db import Database
from erpsync.storage.tables import EngineState
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.worker import EmbeddedWorker
from support.sync_world import World

POLL = 0.02
INTERVAL = 1
SCHEDULER_THREAD = "erpsync-scheduler"
READS_SETTINGS = f"FROM {EngineState.__tablename__}"


class SchedulerReads:
    """When the scheduler thread read the engine settings: it does on each poll, before deciding whether to run."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._times: list[float] = []

    def on_query(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name == SCHEDULER_THREAD and READS_SETTINGS in statement:
            with self._changed:
                self._times.append(time.monotonic())
                self._changed.notify_all()

    def wait_for_polls_after(self, moment: float, count: int, timeout: float = 10.0) -> bool:
        """Whether ``count`` polls read the settings after ``moment`` within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: sum(t > moment for t in self._times) >= count, timeout)


@pytest.fixture
def scheduler_reads(world: World) -> Iterator[SchedulerReads]:
    reads = SchedulerReads()
    engine = world.database.engine
    event.listen(engine, "before_cursor_execute", reads.on_query)
    yield reads
    event.remove(engine, "before_cursor_execute", reads.on_query)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL)
    return False


def _save_settings(database: Database, *, running: bool) -> None:
    with database.session() as session:
        save_engine_settings(session, EngineSettings(running=running, interval_seconds=INTERVAL))


def test_the_worker_syncs_on_its_interval_and_rests_when_off(world: World, scheduler_reads: SchedulerReads) -> None:
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    _save_settings(world.database, running=False)
    started = time.monotonic()
    worker = EmbeddedWorker(world.engine, poll_seconds=POLL).start()
    try:
        world.erp_update(erp_key, email="worker@acme.example")
        # three polls once a cycle is due: the ones before the last have looked at the settings and rested
        assert scheduler_reads.wait_for_polls_after(started + INTERVAL, count=3)
        assert worker.cycles == 0
        _save_settings(world.database, running=True)
        assert _wait_for(lambda: world.crm_values(company_id)["EMAIL"] == "worker@acme.example")
    finally:
        worker.stop()
    assert worker.cycles >= 1
