"""Crashes: a process killed with ``kill -9`` at random points of a sync cycle, of a create and of automatic creation
(SQLite and PostgreSQL), and the database connection dropped mid-run (PostgreSQL: the backends terminated from another
connection). The next run converges."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, ErpLink, SyncRun
from erpsync.sync import auto_config, creates, runs
from erpsync.sync.engine import sync_link
from erpsync.sync.mapping import AutoCreate, AutoDirection
from erpsync.testing.fault_proxy import Fault
from support.fault_world import (
    CUSTOMER,
    FaultWorld,
    Pair,
    Tally,
    assert_converged,
    change_both_sides,
    create_newco,
    fault_world,
)

CHILD = Path(__file__).with_name("fault_child.py")
SLOW_ANSWER = 0.15  # below the client's timeout: stretches a run so a kill lands inside it
KILLS = 3


def _spawn(world: FaultWorld, *args: str) -> subprocess.Popen[str]:
    url = world.database.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, str(CHILD), url, world.cipher_key, *args], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def _kill_at_random(child: subprocess.Popen[str], rng: random.Random, *, within: float) -> bool:
    """``kill -9`` after a random delay; True when the child was still working then."""
    time.sleep(rng.uniform(0, within))
    alive = child.poll() is None
    child.kill()
    child.wait(timeout=10)
    assert child.stdout is not None
    child.stdout.close()
    return alive


def _slow_connector(world: FaultWorld) -> None:
    for operation in ("changes", "get_actors", "save_actors", "create_actor"):
        world.proxy.inject(Fault.DELAY, operation=operation, times=100, delay=SLOW_ANSWER)


def test_a_cycle_killed_at_random_points_converges_on_the_next_run(world: FaultWorld, tally: Tally) -> None:
    rng = random.Random(9)  # reproducible kill points
    pairs: list[Pair] = world.linked_pairs(4)
    before = world.counts()
    expected = change_both_sides(world, pairs)
    kills = 0
    for _ in range(KILLS):
        _slow_connector(world)
        kills += _kill_at_random(_spawn(world, "cycle"), rng, within=1.0)
        world.proxy.clear()
        world.expire_leases()  # the killed holder never releases its lease: it expires
    world.settle()
    assert_converged(world, pairs, expected)
    assert world.counts() == before
    assert kills > 0, "no kill landed while a cycle was under way"
    tally(kills)


def test_a_create_killed_at_random_points_leaves_one_linked_actor(world: FaultWorld, tally: Tally) -> None:
    rng = random.Random(7)
    kills = 0
    for n in range(KILLS):
        company_id = world.crm_company(NAME="Newco")
        actors_before = world.erp_count()
        _slow_connector(world)
        kills += _kill_at_random(_spawn(world, "create", str(company_id), str(world.connection_id)), rng, within=0.4)
        world.proxy.clear()
        creates.resume_pending(world.database, world.clients, connection_id=world.connection_id)
        with world.database.read_session() as session:
            linked = session.scalars(select(ErpLink.erp_key).where(ErpLink.entity_id == company_id)).all()
        if not linked:  # killed before the intent was stored: the user presses *Create* again
            linked = [create_newco(world, company_id).erp_key]
        assert world.erp_count() == actors_before + 1, f"kill {n}: an orphan or a second actor"
        assert len(linked) == 1
    assert kills > 0, "no kill landed while a create was under way"
    tally(kills)


def test_auto_creation_killed_at_random_points_makes_no_duplicates(world: FaultWorld, tally: Tally) -> None:
    _auto_creation_killed_at_random_points(world, tally)


def _auto_creation_killed_at_random_points(world: FaultWorld, tally: Tally) -> None:
    """Automatic creation both ways, its cycles killed at random points, then settled: no duplicate on either side,
    every new record linked once."""
    rng = random.Random(11)
    with world.database.session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        auto = AutoCreate(direction=AutoDirection.BOTH, match=("email",))
        auto_config.store_auto_create(session, connection, CUSTOMER, auto)
    kills = 0
    for n in range(KILLS):
        world.erp_customer(name=f"Erp new {n}", email=f"erp{n}@new.example")
        world.crm_company(NAME=f"Crm new {n}", EMAIL=f"crm{n}@new.example")
        _slow_connector(world)
        kills += _kill_at_random(_spawn(world, "cycle"), rng, within=1.5)
        world.proxy.clear()
        world.expire_leases()
    world.settle()
    with world.database.read_session() as session:
        linked = session.execute(select(ErpLink.entity_id, ErpLink.erp_key)).all()
    assert world.counts() == (2 * KILLS, 2 * KILLS, 2 * KILLS), "a duplicate on a side, or a record left unlinked"
    assert len({entity_id for entity_id, _ in linked}) == len({erp_key for _, erp_key in linked}) == 2 * KILLS
    names = {world.erp_values(erp_key)["name"] for _, erp_key in linked}
    assert names == {f"Erp new {n}" for n in range(KILLS)} | {f"Crm new {n}" for n in range(KILLS)}
    assert {world.crm_values(entity_id)["NAME"] for entity_id, _ in linked} == names
    assert kills > 0, "no kill landed while a cycle was under way"
    tally(kills)


# --- the database connection dropped mid-run ------------------------------------------------------------------------


@pytest.fixture
def pg_world(postgres_url: str, tmp_path: Path) -> Iterator[FaultWorld]:
    from erpsync.testing.db import clear_database

    database = Database(postgres_url)
    clear_database(database)
    with fault_world(database, tmp_path) as built:
        yield built
    database.dispose()


@pytest.mark.postgres
def test_auto_creation_killed_at_random_points_makes_no_duplicates_on_postgresql(
    pg_world: FaultWorld, tally: Tally
) -> None:
    _auto_creation_killed_at_random_points(pg_world, tally)


def _terminate_backends(url: str, stop: threading.Event, count: list[int]) -> None:
    """From another connection, keep terminating every other backend of the test database until ``stop``."""
    with psycopg.connect(url, autocommit=True) as admin:
        while not stop.is_set():
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            count[0] += sum(1 for (done,) in rows if done)
            time.sleep(0.05)


@pytest.mark.postgres
def test_a_database_connection_dropped_mid_run_converges_on_the_next_run(pg_world: FaultWorld, tally: Tally) -> None:
    world = pg_world
    pairs = world.linked_pairs(4)
    before = world.counts()
    expected = change_both_sides(world, pairs)
    _slow_connector(world)
    stop, terminated = threading.Event(), [0]
    url = world.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    killer = threading.Thread(target=_terminate_backends, args=(url, stop, terminated))
    killer.start()
    try:
        for _ in range(3):
            try:
                world.cycle()
            except DBAPIError:
                continue  # the run died with its connection, as a worker would
    finally:
        stop.set()
        killer.join()
    world.proxy.clear()
    world.expire_leases()
    world.settle()
    assert_converged(world, pairs, expected)
    assert world.counts() == before
    assert terminated[0] > 0, "no database connection was dropped"
    tally(terminated[0])


def _running_run(world: FaultWorld, kind: runs.RunKind, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with world.database.read_session() as session:
            query = select(SyncRun.id).where(SyncRun.kind == kind.value, SyncRun.status == "running")
            found = session.scalar(query)
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {kind} run started")


def test_a_sync_now_killed_mid_way_is_closed_as_interrupted_once_its_lease_expired(
    world: FaultWorld, tally: Tally
) -> None:
    (pair,) = world.linked_pairs(1)
    world.proxy.inject(Fault.DELAY, operation="get_actors", times=5, delay=0.8)  # the kill lands inside the run
    child = _spawn(world, "record", str(pair.link_id))
    run_id = _running_run(world, runs.RunKind.RECORD)
    assert _kill_at_random(child, random.Random(1), within=0.0)
    assert runs.close_abandoned(world.database) == []  # its lease has not expired: it could still be working
    world.expire_leases()  # a killed process never renews it
    assert runs.close_abandoned(world.database) == [run_id]
    with world.database.read_session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        assert (run.status, run.error, run.error_reason) == ("failed", runs.INTERRUPTED, "transient")
    world.proxy.clear()
    assert sync_link(world.engine, pair.link_id).errors == []  # the record syncs again
    tally(1)
