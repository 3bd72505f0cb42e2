"""An import writes a page while it classifies the next: the page's inserts are sent without waiting for them
(``storage.sent``: on PostgreSQL as one statement the server runs meanwhile, on SQLite run by the page's thread), and
a thread of the page's own commits it with the job's progress, before the next one is written. What is stored
is what the direct bulk insert stores; a statement that fails rolls its page back whole; a page the busy database
refused is written again, and nothing is stored twice."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_entities_bulk
from erpsync.errors import UnavailableError
from erpsync.protocol.models import ActorType
from erpsync.storage.bulk import insert_rows, queue_inserts, send_queued
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpLink, ImportItem
from erpsync.sync import imports, links
from erpsync.sync.imports import paging
from erpsync.testing.db import clear_database
from erpsync.testing.sample import COMPANY
from support.sync_world import World, build_world

CUSTOMER = ActorType.CUSTOMER
LOCK_TIMEOUT_MS = 100  # so a page meets a locked table for real instead of waiting for it
HOLD_SECONDS = 1.0  # how long another transaction keeps the import's table locked

ODD_TEXTS = ['it\'s "quoted"', "back\\slash", "tab\there", "new\nline", "ünïcødé ✓ 漢字", "", "NULL", "\\N"]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    clear_database(database)
    yield database
    database.dispose()


@pytest.fixture
def pg_world(pg: Database, tmp_path: Path) -> Iterator[World]:
    yield from build_world(pg, tmp_path)


@pytest.fixture
def sqlite_world(sqlite_template: Path, tmp_path: Path) -> Iterator[World]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield from build_world(database, tmp_path)
    database.dispose()


def _postgres(world: World) -> bool:
    return world.database.dialect == "postgresql"


def _companies(rows: int, offset: int) -> list[dict[str, Any]]:
    return [
        {
            "name": ODD_TEXTS[n % len(ODD_TEXTS)] + f" {offset + n}",
            "number1": None if n % 2 else str(10_000_000 + n),
            "email": ODD_TEXTS[(n + 3) % len(ODD_TEXTS)] or None,
            "postal_city": None,
        }
        for n in range(rows)
    ]


def _stored(world: World, ids: list[int]) -> list[tuple[Any, ...]]:
    with world.database.read_session() as session:
        found = {
            company.id: company
            for company in session.scalars(select(Company).where(Company.id.in_(ids)))  # the test's few ids
        }
        agreed = dict(session.execute(select(ErpLink.entity_id, ErpLink.agreed_json)).all())
    return [
        (c.name, c.number1, c.email, c.postal_city, c.changed_by, c.updated_at.tzinfo, agreed.get(c.id))
        for c in (found[entity_id] for entity_id in ids)
    ]


def test_rows_sent_without_waiting_read_back_as_the_direct_bulk_insert_writes_them(world: World) -> None:
    rows = _companies(16, 0)
    agreed = [{"NAME": row["name"], "nested": {"list": [1, "x", None, True], "n": 2**40}} for row in rows]
    now = datetime(2026, 12, 7, 15, 30, 1, 123456, tzinfo=UTC)

    def write(session: Any, prefix: str) -> list[int]:
        ids = create_entities_bulk(session, EntityType.COMPANY, rows, changed_by="test").ids
        new = [links.NewLink(i, f"{prefix}{n}", values) for n, (i, values) in enumerate(zip(ids, agreed, strict=True))]
        links.bind_many(session, world.connection_id, EntityType.COMPANY, CUSTOMER, new, now=now)
        return ids

    with world.database.session() as session:
        copied = write(session, "C")
    with world.database.session() as session:
        queue_inserts(session)
        sent_ids = write(session, "S")
        sent = send_queued(session, unflushed=True)
        with world.database.read_session() as other:  # another connection sees nothing before the commit
            assert other.scalar(select(func.count()).select_from(Company).where(Company.id.in_(sent_ids))) == 0
        sent.wait()
        if _postgres(world):
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"  # for this transaction alone
    assert len(set(copied + sent_ids)) == 32
    assert _stored(world, sent_ids) == _stored(world, copied)
    assert [row[0] for row in _stored(world, sent_ids)] == [row["name"] for row in rows]


def test_rows_beyond_sqlites_limit_of_parameters_go_in_several_statements_and_read_back_the_same(
    sqlite_world: World,
) -> None:
    world = sqlite_world
    rows = _companies(16, 0)
    with world.database.session() as session:
        copied = create_entities_bulk(session, EntityType.COMPANY, rows, changed_by="test").ids
    run: list[str] = []
    with world.database.session() as session:
        raw = session.connection().connection.driver_connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3 * len(Company.__table__.columns))  # 3 rows or more
        raw.set_trace_callback(run.append)
        try:
            queue_inserts(session)
            sent_ids = create_entities_bulk(session, EntityType.COMPANY, rows, changed_by="test").ids
            sent = send_queued(session)
            sent.wait()
        finally:
            raw.set_trace_callback(None)
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    inserts = [statement for statement in run if statement.startswith('INSERT INTO "companies"')]
    width = inserts[0].partition(") VALUES")[0].count(",") + 1  # the columns the rows give
    per_statement = 3 * len(Company.__table__.columns) // width
    assert 1 < per_statement < len(rows)
    assert len(inserts) == -(-len(rows) // per_statement)  # as few statements as the limit allows
    assert _stored(world, sent_ids) == _stored(world, copied)


def test_a_sent_statement_that_fails_raises_at_wait_as_any_statement_and_stores_nothing(world: World) -> None:
    with world.database.session() as session:
        queue_inserts(session)
        ids = create_entities_bulk(session, EntityType.COMPANY, _companies(2, 0), changed_by="test").ids
        same_key = [links.NewLink(entity_id, "K1", {}) for entity_id in ids]  # one ERP key twice: refused
        links.bind_many(
            session, world.connection_id, EntityType.COMPANY, CUSTOMER, same_key, now=datetime(2026, 1, 1, tzinfo=UTC)
        )
        sent = send_queued(session)
        with pytest.raises(IntegrityError):
            sent.wait()
        session.rollback()
    with world.database.read_session() as session:  # the connection is usable again; the page left nothing
        assert session.scalar(select(func.count()).select_from(Company)) == 0
        assert session.scalar(select(func.count()).select_from(ErpLink)) == 0


def _next_page_always_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next page is in when the job asks (with a slower ERP the page sent is committed before the job waits)."""
    monkeypatch.setattr(paging.Prefetch, "has_page", lambda _self: True)
    monkeypatch.setattr(paging.ReaderAhead, "has_page", lambda _self: True)


def test_a_page_is_stored_while_the_next_is_classified_and_commits_before_that_one_is_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.sample.erp.insert_many(COMPANY, CUSTOMER, [NewRecord({"name": f"Customer {n:03d}"}) for n in range(35)])
    monkeypatch.setattr(paging, "PAGE_SIZE", 10)
    _next_page_always_fetched(monkeypatch)
    committed_when_classified: list[int] = []
    classified = paging.ImportPager._classified

    def note_and_classify(pager: paging.ImportPager, page: paging.FetchedPage) -> Any:
        with world.database.read_session() as session:  # another connection: what is committed
            committed_when_classified.append(int(session.scalar(select(func.count()).select_from(Company)) or 0))
        return classified(pager, page)

    monkeypatch.setattr(paging.ImportPager, "_classified", note_and_classify)
    job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert job is not None
    assert (job.status, job.processed, job.created, job.total) == ("done", 35, 35, 35)
    # each page commits before the next one is written: page n is classified with the pages before n - 1 stored,
    # and page n - 1 on its way (its thread may have committed it by then)
    assert all(10 * (n - 1) <= seen <= 10 * n for n, seen in enumerate(committed_when_classified))
    with world.database.read_session() as session:
        assert session.scalar(select(func.count(func.distinct(Company.change_seq)))) == 35
        assert session.scalar(select(func.count(func.distinct(ErpLink.erp_key)))) == 35
        assert session.scalar(select(func.count()).select_from(ImportItem)) == 35


@pytest.mark.postgres
def test_a_page_the_busy_database_refused_is_written_again_and_nothing_twice(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, postgres_url: str
) -> None:
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them

    @event.listens_for(pg.engine, "connect")
    def short_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        dbapi_connection.commit()

    pg.engine.dispose()  # every connection from now on
    monkeypatch.setattr(paging, "PAGE_SIZE", 10)
    _next_page_always_fetched(monkeypatch)
    caplog.set_level(logging.INFO, logger=paging.__name__)
    for world in build_world(pg, tmp_path):
        world.sample.erp.insert_many(COMPANY, CUSTOMER, [NewRecord({"name": f"Customer {n:03d}"}) for n in range(35)])
        job = imports.start_import(world.engine, world.connection_id, CUSTOMER)
        with psycopg.connect(postgres_url) as holder:  # another transaction: no insert into the items until it ends
            holder.execute("LOCK TABLE import_items IN SHARE MODE")
            release = threading.Timer(HOLD_SECONDS, holder.commit)
            release.start()
            done = imports.run_import(world.engine, job.id)
            release.join()
        assert done is not None
        assert (done.status, done.processed, done.created) == ("done", 35, 35)
        assert any("writes a page again" in record.getMessage() for record in caplog.records)
        with world.database.read_session() as session:
            assert session.scalar(select(func.count()).select_from(Company)) == 35  # the refused page's rolled back
            assert session.scalar(select(func.count(func.distinct(ErpLink.erp_key)))) == 35
            assert session.scalar(select(func.count()).select_from(ErpLink)) == 35
            assert session.scalar(select(func.count()).select_from(ImportItem)) == 35


def test_an_actor_matching_a_record_the_page_still_on_its_way_created_is_skipped_as_when_it_had_committed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 2 is classified before page 1 commits: the record page 1 created for one "Twin" is linked already when a
    second "Twin" on page 2 matches it by name (skipped, as when page 1 has committed by then)."""
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    names = ["Twin", "Alpha", "twin", "Beta"]
    keys = world.sample.erp.insert_many(COMPANY, CUSTOMER, [NewRecord({"name": name}) for name in names])
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    _next_page_always_fetched(monkeypatch)
    job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert job is not None
    assert (job.status, job.created, job.skipped) == ("done", 3, 1)
    with world.database.read_session() as session:
        skipped = session.execute(
            select(ImportItem.erp_key, ImportItem.reason_detail).where(ImportItem.action == "skipped")
        ).all()
        linked = set(session.scalars(select(ErpLink.erp_key)))
    assert [(key, (detail or {}).get("code")) for key, detail in skipped] == [(keys[2], "taken_by_erp")]
    assert linked == {keys[0], keys[1], keys[3]}


def test_a_job_failing_at_the_next_page_keeps_the_page_on_its_way(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ERP failing at page 3 fails the job; page 2, still on its way then, is whole and commits first."""
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    records = [NewRecord({"name": f"Customer {n:03d}"}) for n in range(35)]
    keys = world.sample.erp.insert_many(COMPANY, CUSTOMER, records)
    monkeypatch.setattr(paging, "PAGE_SIZE", 10)
    _next_page_always_fetched(monkeypatch)
    fetch = paging.ImportPager.fetch

    def failing_at_page_3(pager: paging.ImportPager, erp_keys: Any, cursor: str | None) -> Any:
        if cursor == "20":
            raise UnavailableError("the ERP is down")
        return fetch(pager, erp_keys, cursor)

    monkeypatch.setattr(paging.ImportPager, "fetch", failing_at_page_3)
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER, erp_keys=keys)
    failed = imports.run_import(world.engine, job.id)
    assert failed is not None
    assert (failed.status, failed.processed, failed.created) == ("failed", 20, 20)
    with world.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 20
        assert session.scalar(select(func.count()).select_from(ImportItem)) == 20


@pytest.mark.postgres
def test_a_connection_lost_while_its_statement_is_on_its_way_is_an_error_at_wait_and_stores_nothing(
    pg_world: World, postgres_url: str
) -> None:
    world = pg_world
    session = world.database.sessions()
    session.begin()
    backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        with admin.transaction():
            admin.execute("LOCK TABLE companies IN SHARE MODE")  # the insert waits: still on its way when killed
            queue_inserts(session)
            create_entities_bulk(session, EntityType.COMPANY, _companies(2, 0), changed_by="test")
            sent = send_queued(session)
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with pytest.raises(OperationalError):
            sent.wait()
        sent.drain()  # nothing more to read
        with pytest.raises(OperationalError):
            session.rollback()  # the server rolled back when the connection ended
        session.close()  # the pool lets the dead connection go
    with world.database.read_session() as other:
        assert other.scalar(select(func.count()).select_from(Company)) == 0


def test_inserts_sent_as_the_transactions_first_statement_are_in_the_transaction(world: World) -> None:
    """Nothing ran before them: they still commit or roll back with the rest (and the commit is unflushed)."""
    now = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    rows = [
        {"id": 900 + n, "change_seq": 900 + n, "changed_by": "test", "updated_at": now, "name": f"N{n}"}
        for n in range(2)
    ]
    with world.database.session() as session:
        queue_inserts(session)
        insert_rows(session, Company.__table__, rows)  # type: ignore[arg-type]
        send_queued(session, unflushed=True).wait()
        if _postgres(world):
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"
        session.rollback()
    with world.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 0


def test_a_page_is_committed_by_a_thread_of_its_own_and_the_last_by_the_job(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's own thread runs its inserts (SQLite has no server to store them meanwhile; the library writes with
    Python's interpreter lock free) and commits, while the job's thread classifies the next page. The last page is
    written and committed by the job's thread itself."""
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    world.sample.erp.insert_many(COMPANY, CUSTOMER, [NewRecord({"name": f"Customer {n:03d}"}) for n in range(25)])
    monkeypatch.setattr(paging, "PAGE_SIZE", 10)
    committed_by: list[str] = []
    event.listen(world.database.engine, "commit", lambda _c: committed_by.append(threading.current_thread().name))
    job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert job is not None
    assert (job.status, job.processed, job.created) == ("done", 25, 25)
    assert committed_by.count("import-page-commit") == 2  # pages 1 and 2; page 3 is the last
    with world.database.read_session() as session:
        assert session.scalar(select(func.count(func.distinct(ErpLink.erp_key)))) == 25
        assert session.scalar(select(func.count()).select_from(ImportItem)) == 25
