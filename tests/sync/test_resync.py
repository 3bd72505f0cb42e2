"""Resync from the CRM: every linked entity's CRM→ERP fields are pushed, ignoring change detection, as a job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.errors import ConflictError, ValidationError
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import SyncEvent, SyncRun
from erpsync.sync import field_history, resync, undo
from erpsync.sync.merge import Side
from support.sync_world import World


def test_a_resync_pushes_crm_values_over_erp_changes_with_history(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="crm@acme.example", phone="111")
    world.crm_update(company_id, PHONE="")
    world.cycle()
    world.erp_update(erp_key, email="erp@acme.example", phone="222")  # the engine would take these to the CRM
    job = resync.start_resync(world.engine, world.connection_id)
    assert job.total == 1
    done = resync.run_resync(world.engine, job.id)
    assert done is not None
    assert (done.status, done.processed, done.failed) == ("done", 1, 0)
    assert world.erp_values(erp_key)["email"] == "crm@acme.example"
    assert world.erp_values(erp_key)["phone"] is None  # a blank CRM value is pushed too, by default
    with world.database.read_session() as session:
        run = session.get(SyncRun, done.run_id)
        assert run is not None
        assert (run.kind, run.status, run.progress_done, run.progress_total) == ("resync", "ok", 1, 1)
        events = session.scalars(select(SyncEvent).where(SyncEvent.run_id == run.id)).all()
        assert {change["field"] for event in events for change in event.changes_json} == {"email", "phone"}
    [summary] = world.cycle()
    assert (summary.counts.crm_writes, summary.counts.erp_writes) == (0, 0)  # agreed values follow the push


def test_the_blank_option_keeps_non_blank_erp_values(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(phone="111")
    world.crm_update(company_id, PHONE="")
    world.cycle()
    world.erp_update(erp_key, phone="222")
    job = resync.start_resync(world.engine, world.connection_id, no_blank_overwrite=True)
    resync.run_resync(world.engine, job.id)
    assert world.erp_values(erp_key)["phone"] == "222"


def test_a_second_resync_is_refused_while_one_is_queued(world: World) -> None:
    resync.start_resync(world.engine, world.connection_id)
    with pytest.raises(ConflictError):
        resync.start_resync(world.engine, world.connection_id)


# --- every scope, and the dry run ----------------------------------------------------------------------------------


def _diverged(world: World, n: int) -> list[tuple[int, str]]:
    """``n`` linked pairs whose email now differs on each side (without a cycle between)."""
    pairs = [world.linked_pair(name=f"Acme {i}", email=f"{i}@acme.example")[:2] for i in range(n)]
    for i, (company_id, erp_key) in enumerate(pairs):
        world.crm_update(company_id, EMAIL=f"{i}@crm.example")
        world.erp_update(erp_key, email=f"{i}@erp.example")
    return pairs


def test_a_resync_from_the_erp_writes_erp_values_into_the_crm_and_can_be_undone(world: World) -> None:
    [(company_id, erp_key)] = _diverged(world, 1)
    scope = resync.ResyncScope(source=Side.ERP)
    job = resync.start_resync(world.engine, world.connection_id, scope=scope)
    done = resync.run_resync(world.engine, job.id)
    assert done is not None
    assert (done.status, done.processed, done.failed) == ("done", 1, 0)
    assert world.crm_values(company_id)["EMAIL"] == "0@erp.example"
    assert world.erp_values(erp_key)["email"] == "0@erp.example"
    with world.database.read_session() as session:
        [change] = field_history.run_changes(session, done.run_id or 0)
    assert (change.side, change.source, change.old_value, change.new_value) == (
        "crm",
        "resync",
        "0@crm.example",
        "0@erp.example",
    )
    [summary] = world.cycle()
    assert (summary.counts.crm_writes, summary.counts.erp_writes) == (0, 0)  # the CRM write is not echoed back
    undo.undo_run(world.engine, done.run_id or 0)
    assert world.crm_values(company_id)["EMAIL"] == "0@crm.example"


def test_a_resync_of_chosen_records_leaves_the_others(world: World) -> None:
    (first, first_key), (_second, second_key) = _diverged(world, 2)
    scope = resync.ResyncScope(source=Side.CRM, actor_type=ActorType.CUSTOMER, entity_ids=(first,))
    job = resync.start_resync(world.engine, world.connection_id, scope=scope)
    assert job.total == 1
    resync.run_resync(world.engine, job.id)
    assert world.erp_values(first_key)["email"] == "0@crm.example"
    assert world.erp_values(second_key)["email"] == "1@erp.example"


def test_a_resync_of_one_actor_type_counts_only_its_links(world: World) -> None:
    _diverged(world, 2)
    job = resync.start_resync(world.engine, world.connection_id, scope=resync.ResyncScope(actor_type=ActorType.PERSON))
    assert job.total == 0
    done = resync.run_resync(world.engine, job.id)
    assert done is not None
    assert done.processed == 0


def test_the_dry_run_shows_records_and_fields_old_to_new_and_writes_nothing(world: World) -> None:
    (company_id, erp_key), _ = _diverged(world, 2)
    seq, run_count = world.crm_seq(), world.count(SyncRun)
    preview = resync.dry_run(world.engine, world.connection_id, scope=resync.ResyncScope(source=Side.ERP))
    assert (preview.records, preview.changed, preview.failing, preview.complete) == (2, 2, 0, True)
    row = preview.rows[0]
    assert (row.entity_id, row.erp_key) == (company_id, erp_key)
    [email] = row.changes
    assert (email.field, email.written_to, email.crm, email.new) == (
        "email",
        Side.CRM,
        "0@crm.example",
        "0@erp.example",
    )
    assert world.crm_values(company_id)["EMAIL"] == "0@crm.example"
    assert world.crm_seq() == seq  # nothing written
    assert world.count(SyncRun) == run_count  # a dry run is no run


def test_the_blank_option_holds_back_a_blank_erp_value_too(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(phone="111")
    world.erp_update(erp_key, phone="")
    scope = resync.ResyncScope(source=Side.ERP)
    preview = resync.dry_run(world.engine, world.connection_id, scope=scope, no_blank_overwrite=True)
    assert preview.changed == 0
    job = resync.start_resync(world.engine, world.connection_id, scope=scope, no_blank_overwrite=True)
    resync.run_resync(world.engine, job.id)
    assert world.crm_values(company_id)["PHONE"] == "111"


def test_choosing_records_needs_their_actor_type() -> None:
    with pytest.raises(ValidationError):
        resync.ResyncScope(entity_ids=(1,))
    with pytest.raises(ValidationError):
        resync.ResyncScope(actor_type=ActorType.CUSTOMER, entity_ids=())
