"""The bulkhead per connector: a burst of users bigger than its call slots queues briefly instead of being refused,
and a connector whose slots stay taken refuses them after the bounded wait."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from erpsync.errors import UnavailableError
from erpsync.sync.bulkhead import BUSY, Bulkhead, BulkheadPolicy


def _answer_after(seconds: float) -> dict[str, Any]:
    time.sleep(seconds)
    return {"status": "ok"}


def test_a_burst_bigger_than_the_slots_queues_for_them_instead_of_being_refused() -> None:
    bulkhead = Bulkhead("burst", BulkheadPolicy(concurrency=2, interactive_wait_seconds=5.0))
    in_flight, most = 0, 0
    counting = threading.Lock()

    def send() -> dict[str, Any]:
        nonlocal in_flight, most
        with counting:
            in_flight += 1
            most = max(most, in_flight)
        try:
            return _answer_after(0.05)
        finally:
            with counting:
                in_flight -= 1

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: bulkhead("search_actors", send, interactive=True), range(12)))

    assert answers == [{"status": "ok"}] * 12
    assert most == 2  # never more than its slots in flight


def test_a_user_waits_only_briefly_for_slots_a_hung_connector_holds() -> None:
    bulkhead = Bulkhead("hung", BulkheadPolicy(concurrency=1, interactive_wait_seconds=0.3))
    release = threading.Event()

    def hang() -> dict[str, Any]:
        release.wait(10)
        return {"status": "ok"}

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(bulkhead, "search_actors", hang, interactive=True)
        time.sleep(0.1)  # the one slot is now taken
        started = time.monotonic()
        with pytest.raises(UnavailableError) as refused:
            bulkhead("search_actors", lambda: {"status": "ok"}, interactive=True)
        waited = time.monotonic() - started
        release.set()
        assert holder.result(timeout=10) == {"status": "ok"}

    assert refused.value.user_message == BUSY
    assert 0.25 <= waited < 3.0


def test_a_full_bulkhead_is_logged_once_not_per_refusal(caplog: pytest.LogCaptureFixture) -> None:
    bulkhead = Bulkhead("hung", BulkheadPolicy(concurrency=1, interactive_wait_seconds=0))
    release = threading.Event()

    def hang() -> dict[str, Any]:
        release.wait(10)
        return {"status": "ok"}

    with ThreadPoolExecutor(max_workers=1) as pool, caplog.at_level("WARNING", logger="erpsync.sync.bulkhead"):
        holder = pool.submit(bulkhead, "search_actors", hang, interactive=True)
        time.sleep(0.1)  # the one slot is now taken
        for _ in range(20):
            with pytest.raises(UnavailableError):
                bulkhead("search_actors", lambda: {"status": "ok"}, interactive=True)
        release.set()
        assert holder.result() == {"status": "ok"}
    lines = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert lines == ["connector hung: search_actors refused, 1 calls in flight (1 refused since the last such line)"]


def test_a_user_does_not_wait_on_a_connector_whose_slots_stay_stuck() -> None:
    policy = BulkheadPolicy(concurrency=2, interactive_wait_seconds=0.3, background_wait_seconds=0.3)
    bulkhead = Bulkhead("stuck", policy)
    release = threading.Event()

    def hang() -> dict[str, Any]:
        release.wait(10)
        return {"status": "ok"}

    def refused_after(*, interactive: bool) -> float:
        started = time.monotonic()
        with pytest.raises(UnavailableError) as refused:
            bulkhead("search_actors", lambda: {"status": "ok"}, interactive=interactive)
        assert refused.value.user_message == BUSY
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=2) as pool:
        holders = [pool.submit(bulkhead, "search_actors", hang, interactive=True) for _ in range(2)]
        time.sleep(0.1)  # both slots taken a moment ago: a user still waits for one
        assert refused_after(interactive=True) >= 0.25
        # No slot freed for longer than a user's wait: the next user is refused at once, background work still waits.
        assert refused_after(interactive=True) < 0.1
        assert refused_after(interactive=False) >= 0.25
        release.set()
        assert [holder.result(timeout=10) for holder in holders] == [{"status": "ok"}] * 2
    assert bulkhead("search_actors", lambda: {"status": "ok"}, interactive=True) == {"status": "ok"}
