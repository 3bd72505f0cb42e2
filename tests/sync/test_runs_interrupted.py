"""Runs a crash left "running": closed as failed ("interrupted") by the next run that takes the connection's lease,
for sync runs and import/resync jobs alike, and by the scheduler's tick for every kind once its lease expired (a
record, live, undo or revert run holds a lease of its own); a live run keeps its lease however long a step takes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from erpsync.connectors.sample.erp import NewRecord
from erpsync.storage.tables import Company, SyncJob, SyncLock, SyncRun, utcnow
from erpsync.sync import field_history, imports, locks, runs
from erpsync.sync.engine import sync_connection, sync_link
from erpsync.sync.imports import paging
from erpsync.testing.sample import COMPANY
from erpsync.worker import housekeeping
from support.sync_world import CUSTOMER, World


def crashed_run(world: World, kind: runs.RunKind) -> int:
    """What a run killed mid-way leaves: its row "running" and its connection's lease, expired, with a dead holder."""
    run_id = runs.start_run(world.database, kind=kind, connection_id=world.connection_id)
    with world.database.session() as session:
        name = locks.connection_lock(world.connection_id)
        session.add(SyncLock(name=name, holder="dead-host:1:0", expires_at=utcnow() - timedelta(seconds=1)))
    return run_id


def run_row(world: World, run_id: int) -> SyncRun:
    with world.database.read_session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return run


def test_the_next_sync_run_closes_a_crashed_run_as_interrupted(world: World) -> None:
    stale = crashed_run(world, runs.RunKind.CYCLE)
    summary = sync_connection(world.engine, world.connection_id)
    closed = run_row(world, stale)
    assert (closed.status, closed.error, closed.error_reason) == ("failed", runs.INTERRUPTED, "transient")
    assert closed.finished_at is not None
    assert run_row(world, summary.run_id).status == "ok"


def test_an_import_closes_a_sync_run_a_crash_left_open(world: World) -> None:
    stale = crashed_run(world, runs.RunKind.CONNECTION)
    job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert job is not None
    assert job.status == "done"
    assert (run_row(world, stale).status, run_row(world, stale).error) == ("failed", runs.INTERRUPTED)


def test_a_record_run_is_left_alone_it_holds_only_its_links_lease(world: World) -> None:
    record = runs.start_run(world.database, kind=runs.RunKind.RECORD, connection_id=world.connection_id)
    sync_connection(world.engine, world.connection_id)
    assert run_row(world, record).status == "running"


def test_a_live_holder_keeps_its_lease_past_the_ttl(world: World) -> None:
    name = locks.connection_lock(world.connection_id)
    with locks.held(world.database, name, ttl=timedelta(seconds=0.6)):
        time.sleep(1.5)  # a step longer than the TTL: the lease is renewed meanwhile
        assert not locks.try_acquire(world.database, locks.Lease(name, locks.new_holder(), timedelta(seconds=1)))
    assert locks.try_acquire(world.database, locks.Lease(name, locks.new_holder(), timedelta(seconds=1)))


def expire(world: World, name: str) -> None:
    with world.database.session() as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(SyncLock).where(SyncLock.name == name).values(expires_at=past))


@pytest.mark.parametrize("kind", [runs.RunKind.RECORD, runs.RunKind.LIVE, runs.RunKind.UNDO, runs.RunKind.REVERT])
def test_a_run_whose_own_lease_expired_is_closed_by_the_scheduler_tick(world: World, kind: runs.RunKind) -> None:
    stale = runs.start_run(world.database, kind=kind, connection_id=world.connection_id)
    working = runs.start_run(world.database, kind=kind, connection_id=world.connection_id)
    expire(world, runs.run_lease(stale).name)  # its process died: nobody renewed it
    housekeeping(field_history.DailyPurge(), world.database)
    closed = run_row(world, stale)
    assert (closed.status, closed.error, closed.error_reason) == ("failed", runs.INTERRUPTED, "transient")
    assert run_row(world, working).status == "running"  # its lease is fresh: it may be working


def test_a_leased_run_whose_connection_lease_expired_is_closed_without_waiting_for_the_next_run(world: World) -> None:
    stale = crashed_run(world, runs.RunKind.IMPORT)
    assert runs.close_abandoned(world.database) == [stale]
    assert run_row(world, stale).error == runs.INTERRUPTED


def test_an_ended_run_leaves_no_lease_and_a_kept_one_outlives_its_ttl(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(world.get_link(link_id).erp_key, email="b@acme.example")
    result = sync_link(world.engine, link_id)
    assert result.changed["crm"] == ["EMAIL"]
    with world.database.read_session() as session:
        assert session.scalars(select(SyncLock.name).where(SyncLock.name.like("run:%"))).all() == []
    monkeypatch.setattr(runs, "RUN_LEASE_TTL", timedelta(seconds=0.6))
    run_id = runs.start_run(world.database, kind=runs.RunKind.LIVE, connection_id=world.connection_id)
    with runs.alive(world.database, run_id):
        time.sleep(1.2)  # longer than the TTL: renewed meanwhile
        assert runs.close_abandoned(world.database) == []
    assert runs.close_abandoned(world.database) == [run_id]  # left open by its block: closed at once


def test_a_job_whose_lease_was_taken_over_stops_before_its_next_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job renews its lease after a page only once a sixth of the TTL has passed, but a lease can be taken over
    only after a whole TTL without renewal: the take-over is noticed before the job stores another page."""
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    records = [NewRecord(values={"name": f"Customer {n:04d}"}) for n in range(600)]
    world.sample.erp.insert_many(COMPANY, CUSTOMER, records)
    pages: list[int] = []

    def take_over_after_the_first_page(job: SyncJob) -> None:
        pages.append(job.processed)
        if len(pages) == 1:
            time.sleep(0.3)  # past a sixth of the TTL, as a take-over is past a whole one
            with world.database.session() as session:
                session.execute(update(SyncLock).values(holder="other-host:1:0"))

    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)
    done = imports.run_import(
        world.engine, job.id, lease_ttl=timedelta(seconds=1.2), progress=take_over_after_the_first_page
    )
    assert done is not None
    assert done.status == "failed"
    assert len(pages) == 1
    # None stored after the take-over; the first page, on its way when the job noticed, is whole (its thread
    # committed it: a write under way is not taken back).
    assert 0 < done.processed < 600
    with world.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == done.processed
