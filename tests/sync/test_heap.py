"""A long job keeps the cycle collector off the objects the process held when it started, and gives them back."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.sync import heap, imports
from erpsync.sync.heap import long_lived_frozen
from erpsync.sync.imports import paging
from erpsync.testing.sample import COMPANY
from support.sync_world import World


@pytest.fixture(autouse=True)
def nothing_frozen() -> None:
    """No job of an earlier test still holds the heap (one ending in a thread of its own is waited for)."""
    deadline = time.monotonic() + 30
    while gc.get_freeze_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gc.get_freeze_count() == 0, "a job of an earlier test still runs"


class Node:
    """A container the collector tracks."""

    def __init__(self) -> None:
        self.me = self


def test_what_lives_when_it_starts_is_frozen_and_what_comes_after_is_collected() -> None:
    thresholds = gc.get_threshold()
    before = Node()
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_OBJECTS, *thresholds[1:])
        assert gc.is_tracked(before)
        after = Node()
        frozen = gc.get_freeze_count()
        del after
        assert gc.collect() >= 1, "a cycle made inside was not collected"
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    del before
    assert gc.collect() >= 1, "a cycle frozen inside was not collected once given back"


def test_overlapping_holders_unfreeze_when_the_last_one_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with long_lived_frozen():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    with long_lived_frozen():
        second_in.set()
        assert first_out.wait(5)
        seen.append(gc.get_freeze_count())
    thread.join(5)
    assert seen[0] > 0, "the first holder's end unfroze the heap while the second still ran"
    assert gc.get_freeze_count() == 0


def test_a_holder_that_raises_gives_the_heap_back() -> None:
    with pytest.raises(RuntimeError), long_lived_frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


def test_an_import_runs_its_pages_with_the_heap_frozen(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    customer = ActorType.CUSTOMER
    world.sample.erp.insert_many(COMPANY, customer, [NewRecord(values={"name": f"C{n}"}) for n in range(6)])
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    counts: list[int] = []
    real = paging.ImportPager.next_page

    def watched(pager: paging.ImportPager, *args: object, **kwargs: object) -> bool:
        counts.append(gc.get_freeze_count())
        return real(pager, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(paging.ImportPager, "next_page", watched)
    job = imports.start_import(world.engine, world.connection_id, customer)
    done = imports.run_import(world.engine, job.id)
    assert done is not None
    assert (done.status, done.created) == ("done", 6)
    assert len(counts) >= 3
    assert all(count > 0 for count in counts), counts
    assert gc.get_freeze_count() == 0


@pytest.fixture
def process_frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``freeze_for_good`` as a serving process calls it, undone after the test (the test process goes on)."""
    monkeypatch.setattr(heap, "_for_good", False)
    thresholds = gc.get_threshold()
    heap.freeze_for_good()
    yield
    monkeypatch.setattr(heap, "_for_good", False)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("process_frozen")
def test_a_process_frozen_for_good_stays_frozen_through_its_jobs() -> None:
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert gc.get_threshold()[0] == heap.YOUNG_OBJECTS
    with long_lived_frozen():
        assert gc.get_freeze_count() == frozen, "a job froze again what the process froze"
    assert gc.get_freeze_count() == frozen, "a job's end gave back what the process froze for good"
    assert gc.get_threshold()[0] == heap.YOUNG_OBJECTS, "a job's end shrank the serving process's young generation"


def test_garbage_is_collected_before_a_process_freezes_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_for_good", False)
    thresholds = gc.get_threshold()
    garbage = Node()
    probe = weakref.ref(garbage)
    del garbage
    try:
        heap.freeze_for_good()
        assert probe() is None, "a cycle that was garbage was frozen with the rest"
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
