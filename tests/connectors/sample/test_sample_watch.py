"""``watch`` on the sample connector: answers at once when something changed after the position, wakes on a write
made while it waits, answers with nothing after the (capped) wait, and bounds its hints."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from erpsync.connectors.sample.erp import SampleErp
from erpsync.errors import ValidationError
from erpsync.protocol import models as m

CUSTOMER = m.ActorType.CUSTOMER
PERSON = m.ActorType.PERSON


def _position(call: Any) -> str:
    """Where "now" is: a watch from None that times out at once gives it."""
    answer = call("watch", actor_types=["customer"], since=None, wait_seconds=0)
    assert answer.changed == {}
    assert answer.next_since
    return str(answer.next_since)


def test_info_declares_watch(call: Any) -> None:
    assert call("info").capabilities.watch is True


def test_changes_after_the_position_are_answered_at_once_with_their_keys(call: Any, add: Any) -> None:
    position = _position(call)
    company = add("customer", name="Watched A/S")
    person = add("person", parent=("customer", company), first_name="Watched", last_name="Person")
    answer = call("watch", actor_types=["customer", "person"], since=position, wait_seconds=5)
    assert answer.changed == {CUSTOMER: [company], PERSON: [person]}
    assert answer.more is False
    again = call("watch", actor_types=["customer", "person"], since=answer.next_since, wait_seconds=0)
    assert again.changed == {}


def test_only_the_asked_actor_types_are_hinted(call: Any, add: Any) -> None:
    position = _position(call)
    add("supplier", name="Not watched ApS")
    assert call("watch", actor_types=["customer"], since=position, wait_seconds=0).changed == {}


def test_a_write_made_while_waiting_wakes_the_watch(call: Any, erp: SampleErp, add: Any) -> None:
    key = add("customer", name="Before")
    position = _position(call)
    timer = threading.Timer(0.3, lambda: erp.update_actor("ACME", CUSTOMER, key, {"name": "After"}))
    started = time.monotonic()
    timer.start()
    answer = call("watch", actor_types=["customer"], since=position, wait_seconds=20)
    timer.join()
    assert answer.changed == {CUSTOMER: [key]}
    assert time.monotonic() - started < 10  # woken by the write, not by the end of the wait


def test_deletions_are_hinted(call: Any, erp: SampleErp, add: Any) -> None:
    key = add("customer", name="Going")
    position = _position(call)
    erp.delete_actor("ACME", CUSTOMER, key)
    assert call("watch", actor_types=["customer"], since=position, wait_seconds=0).changed == {CUSTOMER: [key]}


def test_hints_are_bounded_and_more_resumes_after_the_last_named(call: Any, add: Any) -> None:
    position = _position(call)
    keys = [add("customer", name=f"Many {n}") for n in range(5)]
    first = call("watch", actor_types=["customer"], since=position, wait_seconds=0, limit=2)
    assert (first.changed, first.more) == ({CUSTOMER: keys[:2]}, True)
    second = call("watch", actor_types=["customer"], since=first.next_since, wait_seconds=0, limit=2)
    assert (second.changed, second.more) == ({CUSTOMER: keys[2:4]}, True)
    third = call("watch", actor_types=["customer"], since=second.next_since, wait_seconds=0, limit=2)
    assert (third.changed, third.more) == ({CUSTOMER: keys[4:]}, False)


def test_a_position_that_is_no_moment_is_refused(connector: Any) -> None:
    from erpsync.protocol.watch import WatchRequest

    with pytest.raises(ValidationError):
        connector.watch(WatchRequest(connection_id="conn-acme", actor_types=[CUSTOMER], since="yesterday"))


def test_waiting_watches_do_not_take_the_threads_of_other_operations(client: Any) -> None:
    """More watches wait at once than the app's default thread pool has threads (40): others still answer."""
    position = client.watch(connection_id="conn-acme", actor_types=["customer"], since=None, wait_seconds=0).next_since
    answered: list[Any] = []

    def wait() -> None:
        answered.append(
            client.watch(connection_id="conn-acme", actor_types=["customer"], since=position, wait_seconds=8)
        )

    watches = [threading.Thread(target=wait, daemon=True) for _ in range(45)]
    for thread in watches:
        thread.start()
    time.sleep(1.0)
    assert client.actor_types(connection_id="conn-acme").actor_types  # answered while all 45 still wait
    assert answered == []
    for thread in watches:
        thread.join(20)
    assert len(answered) == 45
