"""Faults on the watch (real TCP through the fault proxy): a watch dropped, answered with garbage, or hung past its
bound is tried again with backoff, never holds up another connection, and a change whose watch answer was lost is
synced by the scheduled cycle; the number of watches open is bounded."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from erpsync.crm.fields import EntityType
from erpsync.live import LiveOptions, LiveSync
from erpsync.protocol.pacing import Backoff
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, links
from erpsync.sync.connections import ConnectionDraft, create_connection
from erpsync.sync.connectors import add_connector
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.testing.fault_proxy import Fault
from support.fault_world import CUSTOMER, FaultWorld, Pair, Tally, customer_mapping

WAIT = 1.0
FAST = LiveOptions(wait_seconds=WAIT, poll_seconds=0.1, backoff=Backoff(base=0.1, cap=0.4, budget=float("inf")))


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@contextmanager
def _live(world: FaultWorld) -> Iterator[LiveSync]:
    with _live_with(world, FAST) as live_sync:
        yield live_sync


@contextmanager
def _live_with(world: FaultWorld, options: LiveOptions) -> Iterator[LiveSync]:
    with world.database.session() as session:
        save_engine_settings(session, EngineSettings(running=True, interval_seconds=3600))
    live_sync = LiveSync(world.engine, options).start()
    try:
        yield live_sync
    finally:
        live_sync.stop()


def _watches(world: FaultWorld) -> int:
    return world.proxy.operations.count("watch")


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.MALFORMED, Fault.SERVER_ERROR, Fault.TRUNCATE])
def test_a_failed_watch_is_tried_again_and_the_change_arrives(world: FaultWorld, tally: Tally, fault: Fault) -> None:
    [pair] = world.linked_pairs(1)
    world.proxy.inject(fault, operation="watch", times=3)
    with _live(world):
        assert _wait_for(lambda: world.proxy.pending == 0)
        world.erp_update(pair.erp_key, email="after@erp.example")
        assert _wait_for(lambda: world.crm_values(pair.company_id)["EMAIL"] == "after@erp.example")
    tally(world.proxy.injected[fault])


def test_failures_back_off_instead_of_hammering_the_connector(world: FaultWorld, tally: Tally) -> None:
    world.linked_pairs(1)
    world.proxy.inject(Fault.SERVER_ERROR, operation="watch", times=1000)
    with _live(world):
        time.sleep(3.0)
    # Back-to-back retries would send hundreds; backoff (0.1 s doubling to 0.4 s, with jitter) sends a handful.
    assert 2 <= _watches(world) <= 20
    tally(world.proxy.injected[Fault.SERVER_ERROR])


def test_a_change_whose_watch_answer_was_lost_is_synced_by_the_cycle(world: FaultWorld, tally: Tally) -> None:
    [pair] = world.linked_pairs(1)
    with _live(world) as live_sync:
        assert _wait_for(lambda: live_sync.watching() == {world.connection_id} and _watches(world) >= 2)
        # From now on the watch's answers are lost once, then the connector fails every watch: the live path is gone
        world.proxy.inject(Fault.LOSE_ANSWER, operation="watch", times=1)
        world.proxy.inject(Fault.SERVER_ERROR, operation="watch", times=1000)
        assert _wait_for(lambda: world.proxy.injected[Fault.LOSE_ANSWER] == 1)  # that watch waits at the connector
        world.erp_update(pair.erp_key, email="lost@erp.example")
        assert _wait_for(lambda: world.proxy.injected[Fault.SERVER_ERROR] >= 2)
        assert world.crm_values(pair.company_id)["EMAIL"] == "0@acme.example"  # the live path missed it ...
    world.cycle()  # ... and the scheduled cycle, the safety net, syncs it
    assert world.crm_values(pair.company_id)["EMAIL"] == "lost@erp.example"
    tally(world.proxy.injected[Fault.LOSE_ANSWER] + world.proxy.injected[Fault.SERVER_ERROR])


def test_a_watch_hung_past_its_bound_holds_up_no_other_connection(world: FaultWorld, tally: Tally) -> None:
    [proxied] = world.linked_pairs(1)
    direct = _direct_connection_pair(world)
    world.proxy.inject(Fault.DELAY, operation="watch", times=1, delay=WAIT + 15)
    with _live(world) as live_sync:
        assert _wait_for(lambda: live_sync.watching() == {world.connection_id, direct[0]})
        world.erp_update(direct[1].erp_key, email="direct@erp.example")
        assert _wait_for(lambda: world.crm_values(direct[1].company_id)["EMAIL"] == "direct@erp.example", 5)
        assert world.proxy.injected[Fault.DELAY] == 1  # the proxied watch still hangs meanwhile
        world.erp_update(proxied.erp_key, email="recovered@erp.example")
        assert _wait_for(lambda: world.crm_values(proxied.company_id)["EMAIL"] == "recovered@erp.example", 30)
    tally(1)


def _direct_connection_pair(world: FaultWorld) -> tuple[int, Pair]:
    """A second connection to the same ERP, not through the proxy, with one linked pair of its own."""
    sample = world.sample
    with world.database.session() as session:
        connector = add_connector(session, world.clients, name="Direct", url=sample.url, secret=sample.secret)
        draft = ConnectionDraft(name="Direct", connector_id=connector.id, config=sample.config)
        connection = create_connection(session, world.clients, draft)
        configuration.save_mapping(session, connection, customer_mapping(), erp_lists={})
        connection.active = True
        connection_id = connection.id
    values = {"name": "Direct A/S", "email": "d@direct.example", "phone": "+45 9999"}
    erp_key = world.erp_customer(**values)
    company_id = world.crm_company(NAME="Direct A/S", EMAIL="d@direct.example", PHONE="+45 9999")
    with world.database.session() as session:
        link = links.create_link(
            session,
            connection_id=connection_id,
            entity_type=EntityType.COMPANY,
            entity_id=company_id,
            actor_type=CUSTOMER,
            erp_key=erp_key,
            agreed=values,
        )
        return connection_id, Pair(company_id, erp_key, link.id)


def test_watches_are_bounded_and_a_freed_place_goes_to_the_next_connection(world: FaultWorld) -> None:
    world.linked_pairs(1)
    direct, _ = _direct_connection_pair(world)
    one = LiveOptions(max_watches=1, wait_seconds=WAIT, poll_seconds=0.1, backoff=FAST.backoff)
    with _live_with(world, one) as live_sync:
        assert _wait_for(lambda: live_sync.watching() == {world.connection_id})  # the first in priority order
        time.sleep(1.0)
        assert live_sync.watching() == {world.connection_id}  # never two at once
        with world.database.session() as session:
            session.get_one(ErpConnection, world.connection_id).active = False
        assert _wait_for(lambda: live_sync.watching() == {direct})
