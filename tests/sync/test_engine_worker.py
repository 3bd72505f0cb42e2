"""The embedded scheduler runs cycles on the stored interval while automatic sync is on, and none while it is off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.storage.db import Database
from erpsync.sync.engine import EngineSettings, save_engine_settings
from erpsync.testing.db import database, postgres_url, sqlite_template  # noqa: F401
from erpsync.worker import EmbeddedWorker

from .test_engine import World, build_world

POLL = 0.02


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    yield from build_world(database, tmp_path)


def _wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(POLL)
    return False


def test_the_worker_syncs_on_its_interval_and_rests_when_off(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    with world.database.session() as session:
        save_engine_settings(session, EngineSettings(running=False, interval_seconds=1))
    worker = EmbeddedWorker(world.engine, poll_seconds=POLL).start()
    try:
        world.erp_update(erp_key, email="worker@acme.example")
        time.sleep(1.5)
        assert worker.cycles == 0
        with world.database.session() as session:
            save_engine_settings(session, EngineSettings(running=True, interval_seconds=1))
        assert _wait_for(lambda: world.crm_values(company_id)["EMAIL"] == "worker@acme.example")
    finally:
        worker.stop()
    assert worker.cycles >= 1
