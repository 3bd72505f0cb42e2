"""A record another sync holds (its link's lease) is reported *busy*, never dropped without a word: the batch writes
nothing of it, the cycle and live sync try it again once the other sync is done, and *Sync now* tells the user."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from erpsync.errors import ErrorCode
from erpsync.storage.tables import SyncRun, utcnow
from erpsync.sync import batch, engine, links, live, locks, runs
from erpsync.sync.batch import Batch, sync_links
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.sync.work import active_connection, pass_of
from erpsync.web.i18n import Translator
from erpsync.web.service_messages import ServiceText
from support.sync_world import CUSTOMER, World


@contextmanager
def held_by_another(world: World, link_id: int, *, release_after: float | None = None) -> Iterator[None]:
    """The link's lease held by another sync: for the whole block, or released ``release_after`` seconds in."""
    lease = locks.Lease(locks.link_lock(link_id), locks.new_holder(), locks.DEFAULT_TTL)
    assert locks.try_acquire(world.database, lease)
    timer = None
    if release_after is not None:
        timer = threading.Timer(release_after, lambda: locks.release(world.database, lease))
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        locks.release(world.database, lease)


def one_batch(world: World) -> Batch:
    with world.database.read_session() as session:
        p = pass_of(world.engine, session, active_connection(session, world.connection_id), CUSTOMER)
    assert p is not None
    run_id = runs.start_run(world.database, kind=runs.RunKind.LIVE, connection_id=world.connection_id)
    return Batch(world.engine, p, run_id, locks.new_holder())


def test_a_held_record_is_reported_busy_and_nothing_of_it_is_written(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example")
    world.erp_update(erp_key, email="new@acme.example")
    agreed = world.get_link(link_id).agreed_json
    with held_by_another(world, link_id):
        results = sync_links(one_batch(world), [world.get_link(link_id)])
    assert [(r.link_id, r.busy) for r in results] == [(link_id, True)]
    assert world.crm_values(company_id)["EMAIL"] == "old@acme.example"
    assert world.get_link(link_id).agreed_json == agreed


def test_a_failing_record_held_by_another_sync_stays_due(world: World) -> None:
    _, erp_key, link_id = world.linked_pair(email="old@acme.example")
    with world.database.session() as session:
        link = links.get_link(session, link_id)
        links.mark_failed(link, ErrorCode.TRANSIENT, "the ERP timed out", now=utcnow())
        link.next_attempt_at = utcnow()
    world.erp_update(erp_key, email="new@acme.example")
    with held_by_another(world, link_id):
        results = sync_links(one_batch(world), [world.get_link(link_id)])
    assert results[0].busy
    link = world.get_link(link_id)
    assert (link.state, link.attempts) == ("failing", 1)
    with world.database.read_session() as session:
        assert [due.id for due in links.due_for_retry(session, world.connection_id, utcnow())] == [link_id]


def test_the_cycle_syncs_a_change_once_the_sync_holding_its_record_is_done(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example")
    world.erp_update(erp_key, email="new@acme.example")
    with held_by_another(world, link_id, release_after=0.5):
        world.cycle()
    # the watermark is past the change: only the cycle's second try could bring it
    assert world.crm_values(company_id)["EMAIL"] == "new@acme.example"


def test_live_sync_tries_a_busy_record_again_and_leaves_it_busy_when_it_stays_held(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example")
    world.erp_update(erp_key, email="new@acme.example")
    with held_by_another(world, link_id, release_after=0.5):
        counts = live.sync_hints(world.engine, world.connection_id, {CUSTOMER: [erp_key]})
    assert (counts.records, counts.crm_writes) == (1, 1)
    assert world.crm_values(company_id)["EMAIL"] == "new@acme.example"

    monkeypatch.setattr(batch, "BUSY_RETRIES", 2)
    world.erp_update(erp_key, email="newer@acme.example")
    with held_by_another(world, link_id):
        counts = live.sync_hints(world.engine, world.connection_id, {CUSTOMER: [erp_key]})
    assert counts.records == 0  # left to the cycle, not counted as synced
    assert world.crm_values(company_id)["EMAIL"] == "new@acme.example"


def test_live_sync_waiting_for_a_busy_record_leaves_it_when_automatic_sync_is_turned_off(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example")
    world.crm_update(company_id, EMAIL="after-off@acme.example")

    def turn_off() -> None:
        with world.database.session() as session:
            save_engine_settings(session, EngineSettings(running=False, interval_seconds=3600))

    switch = threading.Timer(0.2, turn_off)
    switch.start()
    with held_by_another(world, link_id, release_after=0.6):  # free again while the run would still wait
        counts = live.sync_hints(world.engine, world.connection_id, {CUSTOMER: [erp_key]})
    switch.join()
    assert counts.records == 0
    assert world.erp_values(erp_key)["email"] == "old@acme.example"  # the next cycle, once turned on, syncs it


def test_sync_now_of_a_held_record_says_another_sync_is_under_way(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, link_id = world.linked_pair(email="old@acme.example")
    monkeypatch.setattr(engine, "LINK_LOCK_WAIT_SECONDS", 0.2)
    runs_before = world.count(SyncRun)
    with held_by_another(world, link_id), pytest.raises(locks.LockedError) as refused:
        engine.sync_link(world.engine, link_id)
    assert refused.value.user_message == engine.RECORD_BUSY
    assert world.count(SyncRun) == runs_before  # no run was opened
    danish = ServiceText(Translator("da"))(engine.RECORD_BUSY)
    assert danish == "En anden synkronisering af denne post er i gang. Prøv igen, når den er færdig."
