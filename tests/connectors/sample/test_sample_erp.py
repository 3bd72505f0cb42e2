"""The sample ERP itself: its clock, ERP-side writes, tombstones, idempotency and concurrent use."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from erpsync.connectors.sample.erp import NewRecord, SampleErp
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.errors import ConflictError, NotFoundError, ValidationError
from erpsync.protocol import models as m

CUSTOMER = m.ActorType.CUSTOMER


def _stamp(erp: SampleErp, key: str) -> str:
    return erp.fetch("ACME", CUSTOMER, [key], [])[key].last_modified or ""


def test_stamps_are_iso_utc_with_microseconds_and_strictly_increasing(erp: SampleErp) -> None:
    keys = erp.insert_many("ACME", CUSTOMER, [NewRecord({"name": f"C{i}"}) for i in range(50)])
    stamps = [_stamp(erp, key) for key in keys]
    assert stamps == sorted(set(stamps))
    assert all(len(stamp) == 27 and stamp.endswith("Z") for stamp in stamps)


def test_the_clock_never_runs_backwards(erp: SampleErp, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "sample-erp.sqlite") as db:  # a clock far ahead, as after an NTP step back
        db.execute("UPDATE clock SET last_us = 4102444800000000")  # 2100-01-01
    key = erp.create_actor("ACME", CUSTOMER, NewRecord({"name": "Later"}))
    assert _stamp(erp, key) == "2100-01-01T00:00:00.000001Z"


def test_erp_side_updates_and_deletes(erp: SampleErp, add: Any) -> None:
    key = add("customer", name="Before")
    before = _stamp(erp, key)
    assert erp.update_actor("ACME", CUSTOMER, key, {"name": "After"}) is True
    assert erp.update_actor("ACME", CUSTOMER, key, {"name": "After"}) is False
    assert _stamp(erp, key) > before
    erp.delete_actor("ACME", CUSTOMER, key)
    assert erp.fetch("ACME", CUSTOMER, [key], []) == {}
    with pytest.raises(NotFoundError):
        erp.delete_actor("ACME", CUSTOMER, key)
    with pytest.raises(NotFoundError):
        erp.update_actor("ACME", CUSTOMER, key, {"name": "Ghost"})


def test_records_of_one_company_are_not_found_from_another(erp: SampleErp, add: Any) -> None:
    key = add("customer", name="Mine")
    with pytest.raises(NotFoundError):
        erp.update_actor("OTHER", CUSTOMER, key, {"name": "Theirs"})
    with pytest.raises(ValidationError, match="NOWHERE"):
        erp.create_actor("NOWHERE", CUSTOMER, NewRecord({"name": "X"}))


def test_an_idempotency_key_belongs_to_one_actor_type(erp: SampleErp) -> None:
    erp.create_actor("ACME", CUSTOMER, NewRecord({"name": "X"}), idempotency_key="k")
    with pytest.raises(ConflictError, match="customer"):
        erp.create_actor("ACME", m.ActorType.SUPPLIER, NewRecord({"name": "X"}), idempotency_key="k")


def test_concurrent_writers_never_share_a_stamp(erp: SampleErp) -> None:
    keys = erp.insert_many("ACME", CUSTOMER, [NewRecord({"name": f"C{i}"}) for i in range(8)])

    def write(key: str) -> None:
        for round_ in range(25):
            erp.update_actor("ACME", CUSTOMER, key, {"employees": round_ + 1})

    threads = [threading.Thread(target=write, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    actors = erp.fetch("ACME", CUSTOMER, keys, [ORGANISATION.field("employees")])
    assert {actor.fields["employees"] for actor in actors.values()} == {25}
    assert len({actor.last_modified for actor in actors.values()}) == len(keys)


def test_concurrent_requests_over_http(client: Any, erp: SampleErp) -> None:
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            for i in range(10):
                actor = m.Actor(actor_type=CUSTOMER, fields={"name": f"W{worker}-{i}"})
                client.create_actor(connection_id="conn-acme", actor=actor, idempotency_key=f"{worker}-{i}")
                client.search_actors(connection_id="conn-acme", actor_type="customer", text="w", field_keys=["name"])
        except BaseException as error:  # collected so the test fails with it
            errors.append(error)

    threads = [threading.Thread(target=create, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert erp.count(CUSTOMER, "ACME") == 60


def test_authentication(erp: SampleErp) -> None:
    assert erp.authenticate("erpsync", "demo")
    assert not erp.authenticate("erpsync", "Demo")
    assert not erp.authenticate("nobody", "demo")


def test_a_fetch_by_key_looks_records_up_by_id_not_by_scanning_the_company(tmp_path: Path) -> None:
    erp = SampleErp(tmp_path / "erp.sqlite")
    erp.add_company("NORDIC", "Nordic")
    keys = erp.insert_many("NORDIC", m.ActorType.CUSTOMER, [NewRecord({"name": f"C{n}"}) for n in range(3)])
    statements: list[str] = []
    erp._db.set_trace_callback(statements.append)
    assert set(erp.fetch("NORDIC", m.ActorType.CUSTOMER, keys[:2], list(ORGANISATION.fields))) == set(keys[:2])
    [select] = [sql for sql in statements if sql.startswith("SELECT")]
    plan = " ".join(str(row[-1]) for row in erp._db.execute(f"EXPLAIN QUERY PLAN {select}"))
    assert "USING INTEGER PRIMARY KEY" in plan
    assert "organisations_changes" not in plan
    erp.close()


def test_a_page_of_changes_far_into_the_feed_costs_what_the_first_one_does(tmp_path: Path) -> None:
    erp = SampleErp(tmp_path / "erp.sqlite")
    erp.add_company("NORDIC", "Nordic")
    erp.insert_many("NORDIC", m.ActorType.CUSTOMER, [NewRecord({"name": f"C{n}"}) for n in range(3_000)])
    fields = list(ORGANISATION.fields)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    def page_at(after: tuple[str, int] | None) -> tuple[int, list[tuple[str, int]]]:
        """The page after ``after``, and what it cost in steps of SQLite's virtual machine."""
        steps[0] = 0
        erp._db.set_progress_handler(step, 50)  # called every 50 instructions
        try:
            page = erp.changes("NORDIC", m.ActorType.CUSTOMER, since="", after=after, fields=fields, limit=100)
        finally:
            erp._db.set_progress_handler(None, 0)
        assert len(page.actors) == len(page.entries) == 100
        return steps[0], [(entry.stamp, entry.key) for entry in page.entries]

    first, entries = page_at(None)
    read = list(entries)
    for _ in range(29):  # to the page at 2,900
        late, entries = page_at(entries[-1])
        read += entries
    assert read == sorted(read)  # in stamp order
    assert len(set(read)) == 3_000  # every record once
    assert late < first * 2, (first, late)  # stepping over the 2,900 entries before it costs ~30 times more
    erp.close()
