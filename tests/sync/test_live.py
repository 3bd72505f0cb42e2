"""Live sync: a watch per connection syncs an ERP change at once, a CRM change is pushed to the ERP at once (a burst
of edits as one save), both through the cycle's own merge; the pages learn which connections are live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from erpsync import live as live_pushes
from erpsync.crm import notify
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, write_record
from erpsync.live import LiveOptions, LiveSync, _listen_until_stopped
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncRun
from erpsync.sync import live, runs
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.testing.db import clear_database
from support.sync_world import World

OPTIONS = LiveOptions(wait_seconds=2.0, poll_seconds=0.1)


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def running(world: World) -> Iterator[LiveSync]:
    """The live sync of one process; the cycle's interval is long, so only live sync moves anything."""
    with world.database.session() as session:
        save_engine_settings(session, EngineSettings(running=True, interval_seconds=3600))
    live_sync = LiveSync(world.engine, OPTIONS).start()
    yield live_sync
    live_sync.stop()


def _live_runs(database: Database) -> list[SyncRun]:
    with database.read_session() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.kind == runs.RunKind.LIVE.value)))


def _runs_under_way(database: Database) -> list[SyncRun]:
    with database.read_session() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.status == runs.RunStatus.RUNNING.value)))


def _is_live(world: World) -> bool:
    with world.database.read_session() as session:
        return world.connection_id in live.live_connection_ids(session)


def test_an_erp_change_reaches_the_crm_through_the_watch(world: World, running: LiveSync) -> None:
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example")
    assert _wait_for(lambda: _is_live(world))
    world.erp_update(erp_key, email="new@acme.example")
    assert _wait_for(lambda: world.crm_values(company_id)["EMAIL"] == "new@acme.example")
    assert running.watching() == {world.connection_id}
    assert any(run.counts_json.get("crm_writes") == 1 for run in _live_runs(world.database))


def test_a_crm_change_reaches_the_erp_at_once_and_a_burst_is_one_save(
    world: World, running: LiveSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A burst's window wide enough that five saves in a row stay one burst on a loaded machine too.
    monkeypatch.setattr(live_pushes, "QUIET_SECONDS", 1.0)
    monkeypatch.setattr(live_pushes, "MAX_DELAY_SECONDS", 5.0)
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example")
    assert _wait_for(lambda: _is_live(world))  # caught up: from here on only the live path syncs
    for n in range(5):
        world.crm_update(company_id, EMAIL=f"burst{n}@acme.example")
    assert _wait_for(lambda: world.erp_values(erp_key)["email"] == "burst4@acme.example")
    time.sleep(1.0)  # the echo (the ERP's watch naming the hub's own save) has come back and merged to nothing
    assert sum(run.counts_json.get("erp_writes", 0) for run in _live_runs(world.database)) == 1


def test_only_linked_records_are_synced_and_unlinked_ones_wait(world: World, running: LiveSync) -> None:
    unlinked = world.erp_customer(name="Nobody links me")
    assert _wait_for(lambda: _is_live(world))
    world.erp_update(unlinked, email="still@nowhere.example")
    time.sleep(1.0)
    assert _live_runs(world.database) == []


def test_automatic_sync_off_stops_the_live_sync_too(world: World, running: LiveSync) -> None:
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example")
    assert _wait_for(lambda: _is_live(world))
    with world.database.session() as session:
        save_engine_settings(session, EngineSettings(running=False, interval_seconds=3600))
    assert _wait_for(lambda: running.watching() == set())
    assert _wait_for(lambda: not _runs_under_way(world.database))  # one started before (a push, a catch-up) ends
    world.crm_update(company_id, EMAIL="paused@acme.example")
    time.sleep(1.0)
    assert world.erp_values(erp_key)["email"] == "old@acme.example"


def test_one_watcher_per_connection_across_processes(world: World, running: LiveSync) -> None:
    assert _wait_for(lambda: running.watching() == {world.connection_id})
    other = LiveSync(world.engine, OPTIONS).start()
    try:
        time.sleep(0.5)
        assert other.watching() == set()
    finally:
        other.stop()


def test_a_crm_write_notifies_listeners_when_it_commits_and_not_when_it_rolls_back(world: World) -> None:
    heard = threading.Event()
    unsubscribe = notify.subscribe(heard.set)
    try:
        company_id = world.crm_company(NAME="Heard")
        assert heard.is_set()
        heard.clear()
        with pytest.raises(RuntimeError):
            _write_then_fail(world.database, company_id)
        assert not heard.is_set()
    finally:
        unsubscribe()


def _write_then_fail(database: Database, company_id: int) -> None:
    with database.session() as session:
        write_record(session, EntityType.COMPANY, company_id, {"NAME": "Rolled back"}, changed_by="user:1")
        raise RuntimeError("roll back")


@pytest.mark.postgres
def test_postgres_delivers_crm_changes_to_other_processes(postgres_url: str) -> None:
    database = Database(postgres_url)
    clear_database(database)
    stop, heard = threading.Event(), threading.Event()
    listener = threading.Thread(target=_listen_until_stopped, args=(database, stop, heard), daemon=True)
    listener.start()
    try:
        time.sleep(0.5)  # LISTEN issued
        with database.session() as session:
            create_record(session, EntityType.COMPANY, {"NAME": "Notified"}, changed_by="user:1")
        assert heard.wait(5)
    finally:
        stop.set()
        listener.join(5)
        database.dispose()
