"""Network faults between hub and connector (real TCP through the fault proxy) during sync cycles, *Sync now* and
*Create in ERP*: afterwards every record converges once, no actor is orphaned or doubled, failures have typed
reasons."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.errors import ConflictError, ErpsyncError, ErrorCode
from erpsync.storage.tables import ErpLink, SyncCreate
from erpsync.sync import creates
from erpsync.sync import engine as sync_engine
from erpsync.testing.fault_proxy import Fault
from support.fault_world import (
    CLIENT_TIMEOUT,
    FaultWorld,
    Tally,
    assert_converged,
    change_both_sides,
    create_newco,
)

PAST_TIMEOUT = CLIENT_TIMEOUT + 0.5
# Faults the client absorbs by retrying (the record never fails); the others fail it with reason "connector".
ABSORBED = {Fault.DROP, Fault.LOSE_ANSWER, Fault.DELAY, Fault.RATE_LIMIT, Fault.TRUNCATE, Fault.REPLAY}
KNOWN_REASONS = {code.value for code in ErrorCode}

ALL_CYCLE_FAULTS = [
    (Fault.DROP, "changes"),
    (Fault.DROP, "save_actors"),
    (Fault.LOSE_ANSWER, "save_actors"),
    (Fault.LOSE_ANSWER, "get_actors"),
    (Fault.DELAY, "changes"),
    (Fault.DELAY, "save_actors"),
    (Fault.RATE_LIMIT, "get_actors"),
    (Fault.RATE_LIMIT, "save_actors"),
    (Fault.SERVER_ERROR, "changes"),
    (Fault.SERVER_ERROR, "save_actors"),
    (Fault.TRUNCATE, "changes"),
    (Fault.TRUNCATE, "get_actors"),
    (Fault.MALFORMED, "changes"),
    (Fault.MALFORMED, "get_actors"),
    (Fault.MALFORMED, "save_actors"),
    (Fault.REPLAY, "save_actors"),
    (Fault.REPLAY, "changes"),
]
# One per kind of fault by default; the slow soak runs every (fault, operation) pair.
CYCLE_FAULTS = [
    pytest.param(fault, operation, id=f"{fault}-{operation}", marks=[] if first else [pytest.mark.slow])
    for n, (fault, operation) in enumerate(ALL_CYCLE_FAULTS)
    for first in [all(fault != earlier for earlier, _ in ALL_CYCLE_FAULTS[:n])]
]


def _inject(world: FaultWorld, fault: Fault, operation: str, *, times: int = 1) -> None:
    world.proxy.inject(fault, operation=operation, times=times, delay=PAST_TIMEOUT, retry_after=0.05)


def _assert_failures_typed(world: FaultWorld, fault: Fault, *, after_run: int) -> None:
    reasons = world.error_reasons(after_run=after_run)
    assert set(reasons) <= KNOWN_REASONS
    if fault not in ABSORBED:
        assert ErrorCode.CONNECTOR.value in reasons


@pytest.mark.parametrize(("fault", "operation"), CYCLE_FAULTS)
def test_a_cycle_under_a_fault_converges_on_the_next_runs(
    world: FaultWorld, tally: Tally, fault: Fault, operation: str
) -> None:
    pairs = world.linked_pairs(4)
    before, first_run = world.counts(), world.last_run_id()
    expected = change_both_sides(world, pairs)
    _inject(world, fault, operation, times=2)
    world.cycle()
    injected = world.proxy.injected.total()
    world.proxy.clear()
    world.settle()
    assert_converged(world, pairs, expected)
    assert world.counts() == before
    _assert_failures_typed(world, fault, after_run=first_run)
    tally(injected)


SYNC_NOW_FAULTS = [
    (Fault.DROP, "get_actors"),
    (Fault.LOSE_ANSWER, "save_actors"),
    (Fault.DELAY, "get_actors"),
    (Fault.RATE_LIMIT, "save_actors"),
    (Fault.SERVER_ERROR, "get_actors"),
    (Fault.MALFORMED, "save_actors"),
    (Fault.REPLAY, "save_actors"),
]


@pytest.mark.parametrize(("fault", "operation"), SYNC_NOW_FAULTS, ids=[f"{f}-{op}" for f, op in SYNC_NOW_FAULTS])
def test_sync_now_under_a_fault_reports_a_typed_reason_and_a_retry_converges(
    world: FaultWorld, tally: Tally, fault: Fault, operation: str
) -> None:
    [pair] = world.linked_pairs(1)
    before = world.counts()
    world.erp_update(pair.erp_key, email="now@erp.example")
    world.crm_update(pair.company_id, PHONE="+45 9999")
    _inject(world, fault, operation)
    result = sync_engine.sync_link(world.engine, pair.link_id)
    injected = world.proxy.injected.total()
    if fault in ABSORBED:
        assert result.errors == []
    else:
        assert [error.reason for error in result.errors] == [ErrorCode.CONNECTOR.value]
        assert world.failing_links()[0].error_reason == ErrorCode.CONNECTOR.value
        sync_engine.retry_link(world.engine, world.connection_id, pair.link_id)
    expected = {"name": "Acme 0", "email": "now@erp.example", "phone": "+45 9999"}
    assert_converged(world, [pair], {0: expected})
    assert world.counts() == before
    tally(injected)


CREATE_FAULTS = [
    Fault.DROP,
    Fault.LOSE_ANSWER,
    Fault.DELAY,
    Fault.RATE_LIMIT,
    Fault.SERVER_ERROR,
    Fault.TRUNCATE,
    Fault.MALFORMED,
    Fault.REPLAY,
]


def _create_as_a_user_would(world: FaultWorld, company_id: int) -> tuple[creates.Created, list[str]]:
    """Create; when it fails, the user sees the typed reason and presses the button again."""
    reasons = []
    for _ in range(3):
        try:
            return create_newco(world, company_id), reasons
        except ErpsyncError as error:
            reasons.append(error.code.value)
    raise AssertionError(f"the create never succeeded: {reasons}")


@pytest.mark.parametrize("fault", CREATE_FAULTS)
def test_create_in_erp_under_a_fault_makes_exactly_one_linked_actor(
    world: FaultWorld, tally: Tally, fault: Fault
) -> None:
    company_id = world.crm_company(NAME="Newco", EMAIL="hi@newco.example")
    actors_before = world.erp_count()
    _inject(world, fault, "create_actor", times=2)
    created, reasons = _create_as_a_user_would(world, company_id)
    injected = world.proxy.injected.total()
    assert world.erp_count() == actors_before + 1  # no orphan, no second actor
    assert set(reasons) <= KNOWN_REASONS
    assert (reasons == []) == (fault in ABSORBED)
    with world.database.read_session() as session:
        linked = session.scalars(select(ErpLink).where(ErpLink.entity_id == company_id)).all()
        intents = session.scalars(select(SyncCreate.status)).all()
    assert [(link.erp_key, link.id) for link in linked] == [(created.erp_key, created.link_id)]
    assert intents == [creates.DONE]
    world.proxy.clear()
    world.settle(cycles=1)
    assert world.erp_count() == actors_before + 1
    tally(injected)


def test_a_lost_answer_to_every_create_attempt_still_leaves_one_actor_after_the_outage(
    world: FaultWorld, tally: Tally
) -> None:
    company_id = world.crm_company(NAME="Newco")
    _inject(world, Fault.LOSE_ANSWER, "create_actor", times=20)  # more than the client's retries
    with pytest.raises(ErpsyncError) as failed:
        create_newco(world, company_id)
    assert failed.value.code is ErrorCode.TRANSIENT
    injected = world.proxy.injected.total()
    assert world.erp_count() == 1  # the ERP did create it: the answer was what got lost
    world.proxy.clear()
    [completed] = creates.resume_pending(world.database, world.clients, connection_id=world.connection_id)
    assert world.erp_count() == 1
    with pytest.raises(ConflictError):  # the user presses *Create* once more: it is linked already
        create_newco(world, company_id)
    assert world.erp_count() == 1
    assert world.crm_values(company_id)["NAME"] == "Newco"
    with world.database.read_session() as session:
        assert session.scalars(select(ErpLink.erp_key)).all() == [completed.erp_key]
    tally(injected)
