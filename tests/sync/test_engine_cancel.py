"""Progress and cancel of an engine run: counts grow page by page while the total stays unknown, and a cancel stops
the run at the next page boundary with everything so far stored; the next run resumes from the watermark."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from erpsync.errors import ConflictError, NotFoundError
from erpsync.sdk.app import create_app
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncConnector, SyncEvent, SyncLock, SyncRun, utcnow
from erpsync.sync import engine as sync_engine
from erpsync.sync import jobs, locks, runs
from erpsync.testing.server import serve_in_thread
from support.sync_world import World, build_world

PAGE = 2
RECORDS = 5  # three pages of ERP changes: 2, 2, 1

Asgi = Callable[..., Any]


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    yield from build_world(database, tmp_path, page_size=PAGE)


def calling_on_changes_page(app: Asgi, page: int, hook: Callable[[], None]) -> Asgi:
    """``app`` that calls ``hook`` when the ``page``-th ``changes`` request arrives, before answering it."""
    asked = 0

    async def wrapper(scope: dict[str, Any], receive: Asgi, send: Asgi) -> None:
        nonlocal asked
        if scope["type"] == "http" and scope["path"] == "/v1/changes":
            asked += 1
            if asked == page:
                hook()
        await app(scope, receive, send)

    return wrapper


@contextmanager
def connector_calling(world: World, page: int, hook: Callable[[], None]) -> Iterator[None]:
    """The world's connector served again behind ``calling_on_changes_page``; the hub is pointed at it."""
    app = create_app(world.sample.connector, secret=world.sample.secret)
    with serve_in_thread(calling_on_changes_page(app, page, hook)) as url:
        with world.database.session() as session:
            session.scalars(select(SyncConnector)).one().url = url
        yield


def linked_customers(world: World) -> dict[str, int]:
    """RECORDS ERP customers linked to CRM companies with the same values, past the first cycle; erp_key -> company."""
    companies = {}
    for n in range(RECORDS):
        values = {"name": f"Acme {n}", "email": f"old{n}@acme.example"}
        erp_key = world.erp_customer(**values)
        companies[erp_key] = world.crm_company(NAME=values["name"], EMAIL=values["email"])
        world.link(companies[erp_key], erp_key, agreed=values)
    world.cycle()
    return companies


def running_run_id(world: World) -> int:
    with world.database.read_session() as session:
        return session.scalars(select(SyncRun.id).where(SyncRun.status == "running")).one()


def read_run(world: World, run_id: int) -> SyncRun:
    with world.database.read_session() as session:
        return runs.get_run(session, run_id)


def test_a_cancel_stops_the_run_after_its_page_and_the_next_run_finishes_the_rest(world: World) -> None:
    companies = linked_customers(world)
    for n, erp_key in enumerate(companies):
        world.erp_update(erp_key, email=f"new{n}@acme.example")
    while_running: list[runs.RunProgress] = []

    def cancel_the_run() -> None:  # asked for page 2: page 1 is stored
        run_id = running_run_id(world)
        while_running.append(runs.progress_of(read_run(world, run_id), now=utcnow()))
        jobs.request_cancel(world.database, run_id)

    with connector_calling(world, 2, cancel_the_run):
        first = sync_engine.sync_connection(world.engine, world.connection_id)
        with world.database.read_session() as session:
            assert session.get(SyncLock, locks.connection_lock(world.connection_id)) is None
        second = sync_engine.sync_connection(world.engine, world.connection_id)

    assert while_running == [runs.RunProgress(done=PAGE, total=None, percentage=None, eta_seconds=None)]
    assert (first.status, first.counts.records, first.counts.crm_writes) == ("cancelled", 2 * PAGE, 2 * PAGE)
    run = read_run(world, first.run_id)
    assert (run.progress_done, run.progress_total, run.cancel_requested) == (2 * PAGE, None, True)
    assert run.counts_json == {**run.counts_json, "records": 2 * PAGE, "crm_writes": 2 * PAGE}
    assert run.finished_at is not None
    assert (second.status, second.counts.crm_writes) == ("ok", RECORDS - 2 * PAGE)
    with world.database.read_session() as session:
        events = session.scalars(select(SyncEvent).where(SyncEvent.run_id.in_([first.run_id, second.run_id]))).all()
    assert Counter(event.erp_key for event in events) == dict.fromkeys(companies, 1)
    for n, company_id in enumerate(companies.values()):
        assert world.crm_values(company_id)["EMAIL"] == f"new{n}@acme.example"
    [after] = world.cycle()
    assert (after.counts.crm_writes, after.counts.erp_writes) == (0, 0)


def test_counts_grow_page_by_page_and_an_uncancelled_run_ends_at_100_percent(world: World) -> None:
    companies = linked_customers(world)
    for erp_key in companies:
        world.erp_update(erp_key, email=f"{erp_key}@acme.example")
    while_running: list[SyncRun] = []
    with connector_calling(world, 3, lambda: while_running.append(read_run(world, running_run_id(world)))):
        summary = sync_engine.sync_connection(world.engine, world.connection_id)
    [midway] = while_running
    assert (midway.progress_done, midway.counts_json["crm_writes"], midway.cancel_requested) == (
        2 * PAGE,
        2 * PAGE,
        False,
    )
    done = runs.progress_of(read_run(world, summary.run_id), now=utcnow())
    assert (summary.status, done.done, done.percentage, done.eta_seconds) == ("ok", RECORDS, 100.0, None)


def test_a_record_run_knows_its_total(world: World) -> None:
    _, erp_key, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, email="b@acme.example")
    sync_engine.sync_link(world.engine, link_id)
    with world.database.read_session() as session:
        run = session.scalars(select(SyncRun).where(SyncRun.kind == "record")).one()
    assert (run.progress_done, run.progress_total) == (1, 1)
    assert runs.progress_of(run, now=utcnow()).percentage == 100.0


def test_only_a_running_run_can_be_cancelled(world: World) -> None:
    [ended] = world.cycle()
    with pytest.raises(ConflictError, match="has ended"):
        jobs.request_cancel(world.database, ended.run_id)
    with pytest.raises(NotFoundError):
        jobs.request_cancel(world.database, ended.run_id + 1000)
    assert read_run(world, ended.run_id).cancel_requested is False
