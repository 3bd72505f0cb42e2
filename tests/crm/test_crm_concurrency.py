"""Concurrent writers: sequence numbers commit in order, so a reader moving its watermark never misses a change."""

from __future__ import annotations

import threading
import time

from erpsync.crm import service
from erpsync.crm.changes import CrmChange, changes_since, current_watermark
from erpsync.crm.fields import EntityType
from erpsync.storage.db import Database

COMPANY = EntityType.COMPANY
WRITERS = 3
WRITES_PER_WRITER = 15


def _create(database: Database, name: str) -> tuple[int, int]:
    with database.session() as session:
        company = service.create_entity(session, COMPANY, {"name": name}, changed_by="user:1")
        return company.id, company.change_seq


def test_a_writer_holding_a_number_makes_the_next_writer_wait(database: Database) -> None:
    holding, release = threading.Event(), threading.Event()
    seqs: dict[str, int] = {}
    slow_committed_before_fast: list[bool] = []

    def slow_writer() -> None:
        with database.session() as session:
            seqs["slow"] = service.create_entity(session, COMPANY, {"name": "slow"}, changed_by="user:1").change_seq
            holding.set()
            release.wait(10)

    def fast_writer() -> None:
        seqs["fast"] = _create(database, "fast")[1]
        # The slow thread may not have run again yet: ask the database, not the thread, whether its commit came first.
        with database.session() as session:
            slow_committed_before_fast.append(service.list_entities(session, COMPANY, q="slow")[1] == 1)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert holding.wait(10)
    fast = threading.Thread(target=fast_writer)
    fast.start()
    fast.join(0.5)
    assert fast.is_alive(), "the second writer must wait for the first one's commit"
    release.set()
    slow.join(10)
    fast.join(10)
    assert slow_committed_before_fast == [True]
    assert seqs["slow"] < seqs["fast"]


def _poll(database: Database, start: int, stop: threading.Event, seen: list[CrmChange]) -> None:
    watermark = start
    while True:
        finished = stop.is_set()  # read before the last poll, so that poll sees every committed write
        with database.session() as session:
            page = changes_since(session, COMPANY, watermark, limit=7)
        seen.extend(page)
        watermark = page[-1].change_seq if page else watermark
        if finished and not page:
            return
        time.sleep(0.001)


def test_a_reader_polling_during_concurrent_writes_misses_nothing(database: Database) -> None:
    with database.session() as session:
        start = current_watermark(session)
    written: list[tuple[int, int]] = []
    stop = threading.Event()
    seen: list[CrmChange] = []
    reader = threading.Thread(target=_poll, args=(database, start, stop, seen))
    reader.start()

    def writer(number: int) -> None:
        written.extend(_create(database, f"w{number}-{i}") for i in range(WRITES_PER_WRITER))

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    reader.join(60)
    assert sorted((c.entity_id, c.change_seq) for c in seen) == sorted(written)
    assert [c.change_seq for c in seen] == sorted(c.change_seq for c in seen)
