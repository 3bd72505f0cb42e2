"""Database leases: one holder at a time across threads, expiry, release; one run per connection."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from erpsync.storage.db import Database
from erpsync.sync import locks


def test_two_threads_racing_for_a_lease_get_it_once(database: Database) -> None:
    barrier = threading.Barrier(2)
    won: list[bool] = []

    def race() -> None:
        lease = locks.Lease("connection:1", locks.new_holder(), locks.DEFAULT_TTL)
        barrier.wait()
        won.append(locks.try_acquire(database, lease))

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False, True]


def test_a_held_lease_refuses_others_until_released(database: Database) -> None:
    with locks.held(database, "link:7"), pytest.raises(locks.LockedError), locks.held(database, "link:7"):
        pass
    with locks.held(database, "link:7") as lease:
        assert lease.name == "link:7"


def test_a_stale_lease_expires_and_can_be_taken_over(database: Database) -> None:
    dead = locks.Lease("connection:2", "dead-process", timedelta(seconds=-1))
    assert locks.try_acquire(database, dead)
    with locks.held(database, "connection:2") as lease:
        assert not locks.renew(database, dead)
        assert locks.renew(database, lease)


def test_acquire_each_takes_only_the_free_ones(database: Database) -> None:
    with locks.held(database, "link:1"):
        taken = locks.try_acquire_each(database, ["link:1", "link:2"], holder="me")
    assert [lease.name for lease in taken] == ["link:2"]
    locks.release_each(database, taken)
