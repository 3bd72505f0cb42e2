"""Resync from the CRM: every linked entity's CRM→ERP fields are pushed, ignoring change detection, as a job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.errors import ConflictError
from erpsync.storage.tables import SyncEvent, SyncRun
from erpsync.sync import resync
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
