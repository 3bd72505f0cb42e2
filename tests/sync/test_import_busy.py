"""Background work under foreground load: an import (and a sync run) against a database that other threads keep
busy finishes with every record, trying a locked transaction again instead of failing. Not timed."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpLink
from erpsync.sync import busy, imports
from erpsync.sync.engine import sync_connection
from erpsync.testing.db import migrated_database
from erpsync.testing.sample import COMPANY
from support.sync_world import World, build_world

CUSTOMER = ActorType.CUSTOMER
FOREGROUND_THREADS = 3
HOLD_SECONDS = 0.02  # how long each foreground write keeps SQLite's write lock
PAUSE_SECONDS = 0.03  # between one thread's writes: busy, but not every moment (no request is served forever)
SHORT_BUSY_TIMEOUT_MS = 10  # so the import meets "database is locked" for real, instead of waiting 30 s for it


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_TIMEOUT_MS}")


@pytest.fixture
def busy_sqlite(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    event.listen(database.engine, "connect", _short_busy_timeout)  # after the product's own pragmas
    yield database
    database.dispose()


@pytest.fixture
def world(busy_sqlite: Database, tmp_path: Path) -> Iterator[World]:
    yield from build_world(busy_sqlite, tmp_path)


class Foreground:
    """Threads that keep writing CRM companies to the same database, each holding the write lock a little while, as
    users' requests do; a write that finds the database locked is simply counted and tried with the next one."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.stop = threading.Event()
        self.written = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._write, args=(n,)) for n in range(FOREGROUND_THREADS)]

    def __enter__(self) -> Foreground:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def _write(self, number: int) -> None:
        count = 0
        while not self.stop.is_set():
            count += 1
            try:
                with self.database.session() as session:
                    create_record(session, EntityType.COMPANY, {"NAME": f"Walk-in {number}-{count}"}, changed_by="test")
                    time.sleep(HOLD_SECONDS)
            except OperationalError:
                with self._lock:
                    self.refused += 1
            else:
                with self._lock:
                    self.written += 1
            time.sleep(PAUSE_SECONDS)


def count(database: Database, table: type[Company] | type[ErpLink]) -> int:
    with database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def busy_retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("the database is busy" in record.getMessage() for record in caplog.records)


def test_an_import_finishes_with_every_record_while_other_threads_keep_writing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    records = [NewRecord(values={"name": f"Customer {n:05d}"}) for n in range(2_400)]
    keys = world.sample.erp.insert_many(COMPANY, CUSTOMER, records)
    caplog.set_level(logging.INFO, logger=busy.__name__)
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)  # a request: before the load starts
    with Foreground(world.database) as foreground:
        done = imports.run_import(world.engine, job.id)
    assert done is not None
    assert (done.status, done.error, done.processed, done.created, done.total) == ("done", None, 2_400, 2_400, 2_400)
    with world.database.read_session() as session:
        linked = set(session.scalars(select(ErpLink.erp_key)))
    assert linked == set(keys)
    assert count(world.database, Company) == 2_400 + foreground.written
    assert foreground.written > 0
    assert busy_retries(caplog), "the foreground never kept the import from the database: the test proved nothing"


def test_a_sync_run_that_finds_the_database_locked_is_run_again(world: World, caplog: pytest.LogCaptureFixture) -> None:
    key = world.erp_customer(name="Before")
    imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    world.erp_update(key, name="After")
    caplog.set_level(logging.INFO, logger=busy.__name__)
    holding = threading.Event()

    def hold_the_write_lock() -> None:
        with world.database.session() as session:
            session.execute(text("UPDATE change_counter SET value = value"))
            holding.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    holding.wait(10)
    summary = sync_connection(world.engine, world.connection_id)
    holder.join()
    assert (summary.status, summary.counts.crm_writes, summary.counts.errors) == ("ok", 1, 0)
    with world.database.read_session() as session:
        assert session.scalars(select(Company.name)).all() == ["After"]
    assert busy_retries(caplog), "the run never met the lock: the test proved nothing"


@pytest.mark.postgres
def test_a_postgresql_lock_timeout_is_tried_again(postgres_url: str) -> None:
    """A PostgreSQL transaction that gives up waiting for a lock (``lock_timeout``) is tried again, not failed."""
    migrated_database(postgres_url).dispose()
    database = Database(postgres_url)  # no connection yet: each one it opens sets the short lock timeout

    @event.listens_for(database.engine, "connect")
    def _short_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '50ms'")
        dbapi_connection.commit()

    other = Database(postgres_url)
    try:
        holding = threading.Event()

        def hold_the_counter() -> None:
            with other.session() as session:
                session.execute(text("SELECT value FROM change_counter FOR UPDATE"))
                holding.set()
                time.sleep(1.0)

        holder = threading.Thread(target=hold_the_counter)
        holder.start()
        holding.wait(10)

        def write() -> int:
            with database.session() as session:
                return create_record(session, EntityType.COMPANY, {"NAME": "Patient"}, changed_by="test").id

        attempts: list[float] = []

        def wait(seconds: float) -> None:
            attempts.append(seconds)
            time.sleep(seconds)

        entity_id = busy.retrying(write, what="test", sleep=wait)
        holder.join()
        assert attempts, "the write never met the lock: the test proved nothing"
        with database.read_session() as session:
            assert session.get(Company, entity_id) is not None
    finally:
        other.dispose()
        database.dispose()


def test_other_errors_are_not_tried_again() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("no such table: nowhere"))

    with pytest.raises(OperationalError):
        busy.retrying(broken, what="test", sleep=lambda _seconds: None)
    assert len(calls) == 1
