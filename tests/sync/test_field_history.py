"""The field history and undo: every synced field change is kept per record with its writer, old and new value; a
run can be undone and one field reverted, field by field, leaving alone what someone edited since."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select, text

from erpsync.accounts import create_user
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import EntityType
from erpsync.errors import ConflictError
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, EngineState, FieldChange, SyncRun, utcnow
from erpsync.sync import crm_edits, field_history, imports, resync, undo
from erpsync.sync.field_history import Source
from support.sync_world import World


def history(world: World, company_id: int) -> list[FieldChange]:
    with world.database.read_session() as session:
        return field_history.record_history(session, "company", company_id)


def get_run(world: World, run_id: int) -> SyncRun:
    with world.database.read_session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return run


def test_a_cycle_keeps_each_written_field_with_its_writer_and_values(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example", phone="111")
    world.erp_update(erp_key, email="new@acme.example")
    world.crm_update(company_id, PHONE="222")
    [summary] = world.cycle()
    changes = {(c.side, c.field): c for c in history(world, company_id)}
    assert set(changes) == {("crm", "email"), ("erp", "phone")}
    email, phone = changes["crm", "email"], changes["erp", "phone"]
    assert (email.old_value, email.new_value, email.source) == ("old@acme.example", "new@acme.example", "sync")
    assert (phone.old_value, phone.new_value) == ("111", "222")
    assert (email.written_by, phone.written_by) == (f"sync:{world.connection_id}", "user:1")  # phone: a CRM edit
    assert {(c.run_id, c.connection_id, c.link_id, c.erp_key) for c in changes.values()} == {
        (summary.run_id, world.connection_id, link_id, erp_key)
    }
    with world.database.read_session() as session:
        last = field_history.last_writes(session, "company", company_id, world.connection_id)
    assert {key: change.side for key, change in last.items()} == {"email": "crm", "phone": "erp"}


def test_undo_of_a_cycle_writes_the_old_values_back_and_the_next_sync_carries_them(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example", phone="111")
    world.erp_update(erp_key, email="new@acme.example")
    world.crm_update(company_id, PHONE="222")
    [summary] = world.cycle()
    result = undo.undo_run(world.engine, summary.run_id, user_id=None)
    assert {(t.side, t.field) for t in result.written} == {("crm", "email"), ("erp", "phone")}
    assert result.left == []
    assert world.crm_values(company_id)["EMAIL"] == "old@acme.example"
    assert world.erp_values(erp_key)["phone"] == "111"
    undo_run = get_run(world, result.run_id)
    assert (undo_run.kind, undo_run.status, undo_run.counts_json["crm_writes"], undo_run.counts_json["erp_writes"]) == (
        "undo",
        "ok",
        1,
        1,
    )
    assert get_run(world, summary.run_id).undone_by == result.run_id
    sources = [c.source for c in history(world, company_id)]
    assert sources[:2] == [Source.UNDO.value, Source.UNDO.value]
    world.cycle()  # the restored values go to the other side like any edit
    assert world.erp_values(erp_key)["email"] == "old@acme.example"
    assert world.crm_values(company_id)["PHONE"] == "111"
    with pytest.raises(ConflictError):
        undo.undo_run(world.engine, summary.run_id)
    with world.database.read_session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "run.undo" in actions


def test_undo_leaves_a_field_edited_since_alone_and_lists_it(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example", phone="111")
    world.erp_update(erp_key, email="new@acme.example", phone="222")
    [summary] = world.cycle()
    world.crm_update(company_id, PHONE="333")  # someone edits the phone after the run
    result = undo.undo_run(world.engine, summary.run_id)
    assert [(t.field, t.old) for t in result.written] == [("email", "old@acme.example")]
    [left] = result.left
    assert (left.target.field, left.reason) == ("phone", "conflict")
    assert "333" in left.message
    assert world.crm_values(company_id)["PHONE"] == "333"
    assert get_run(world, result.run_id).status == "partial"


def test_undo_of_a_resync_puts_the_erp_values_back(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="crm@acme.example")
    world.erp_update(erp_key, email="erp@acme.example")
    job = resync.start_resync(world.engine, world.connection_id, user_id=None)
    done = resync.run_resync(world.engine, job.id)
    assert done is not None
    assert done.run_id is not None
    assert world.erp_values(erp_key)["email"] == "crm@acme.example"
    [change] = [c for c in history(world, company_id) if c.run_id == done.run_id]
    assert (change.side, change.source, change.old_value) == ("erp", "resync", "erp@acme.example")
    result = undo.undo_run(world.engine, done.run_id)
    assert [(t.side, t.field) for t in result.written] == [("erp", "email")]
    assert world.erp_values(erp_key)["email"] == "erp@acme.example"


def test_revert_one_field_writes_its_previous_value_back(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="old@acme.example", phone="111")
    world.erp_update(erp_key, email="new@acme.example", phone="222")
    world.cycle()
    email = next(c for c in history(world, company_id) if c.field == "email")
    result = undo.revert_field(world.engine, email.id, user_id=None)
    assert [t.field for t in result.written] == ["email"]
    assert world.crm_values(company_id)["EMAIL"] == "old@acme.example"
    assert world.crm_values(company_id)["PHONE"] == "222"  # the other field stays
    assert get_run(world, result.run_id).kind == "revert"
    assert history(world, company_id)[0].source == Source.REVERT.value


def test_undo_of_an_import_run_deletes_what_it_created(world: World) -> None:
    from erpsync.protocol.models import ActorType

    world.erp_customer(name="Imported One")
    job = imports.start_import(world.engine, world.connection_id, ActorType.CUSTOMER)
    done = imports.run_import(world.engine, job.id)
    assert done is not None
    assert done.run_id is not None
    assert done.created == 1
    result = undo.undo_run(world.engine, done.run_id)
    assert result.deleted == 1
    with pytest.raises(ConflictError):
        undo.undo_run(world.engine, done.run_id)


def _old_rows(database: Database, count: int, *, days_ago: int) -> None:
    at = utcnow() - dt.timedelta(days=days_ago)
    rows = [
        {"entity_type": "company", "entity_id": n, "side": "crm", "field": "email", "source": "sync", "at": at}
        for n in range(count)
    ]
    with database.session() as session:
        session.execute(FieldChange.__table__.insert(), rows)


def test_purge_deletes_only_what_is_older_than_the_retention(database: Database) -> None:
    _old_rows(database, 7, days_ago=40)
    _old_rows(database, 3, days_ago=5)
    with database.session() as session:
        field_history.set_history_days(session, 30)
    purged = field_history.purge(database, chunk=2)
    assert purged.rows == 7
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(FieldChange)) == 3
        row = session.get(EngineState, 1)
        assert row is not None
        assert row.history_days == 30


def test_the_retention_is_checked(database: Database) -> None:
    from erpsync.errors import ValidationError

    with database.session() as session, pytest.raises(ValidationError):
        field_history.set_history_days(session, 0)


def test_a_records_history_is_read_through_the_record_index(database: Database) -> None:
    _old_rows(database, 20_000, days_ago=1)
    with database.read_session() as session:
        query = (
            select(FieldChange)
            .where(FieldChange.entity_type == "company", FieldChange.entity_id == 7)
            .order_by(FieldChange.at.desc(), FieldChange.id.desc())
        )
        compiled = str(query.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}))
        if database.engine.dialect.name == "postgresql":  # the planner's own choice, on fresh statistics
            session.execute(text("ANALYZE field_changes"))
            plan = " ".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_field_changes_record" in plan


def test_the_daily_purge_runs_at_start_then_once_a_day(database: Database) -> None:
    _old_rows(database, 4, days_ago=400)
    daily = field_history.DailyPurge()
    now = utcnow()
    first = daily.tick(database, now=now)
    assert first is not None
    assert first.rows == 4
    _old_rows(database, 2, days_ago=400)
    assert daily.tick(database, now=now + dt.timedelta(hours=23)) is None
    later = daily.tick(database, now=now + dt.timedelta(hours=25))
    assert later is not None
    assert later.rows == 2


def test_the_embedded_worker_purges_in_the_background(world: World) -> None:
    from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
    from erpsync.worker import EmbeddedWorker

    with world.database.session() as session:
        save_engine_settings(session, EngineSettings(running=False))
    _old_rows(world.database, 3, days_ago=400)
    worker = EmbeddedWorker(world.engine, poll_seconds=0.05).start()
    try:
        deadline = utcnow() + dt.timedelta(seconds=10)
        while utcnow() < deadline and _count(world.database):
            time.sleep(0.05)
    finally:
        worker.stop()
    assert _count(world.database) == 0


def _count(database: Database) -> int:
    with database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(FieldChange)) or 0)


def test_an_imports_updates_of_existing_records_are_kept_and_undone(world: World) -> None:
    from erpsync.protocol.models import ActorType

    company_id = world.crm_company(NAME="Beta Trading", EMAIL="old@beta.example")
    world.erp_customer(name="Beta Trading", email="new@beta.example")
    world.erp_customer(name="Gamma New")
    job = imports.start_import(world.engine, world.connection_id, ActorType.CUSTOMER)
    done = imports.run_import(world.engine, job.id)
    assert done is not None
    assert (done.created, done.linked) == (1, 1)
    assert world.crm_values(company_id)["EMAIL"] == "new@beta.example"
    [change] = history(world, company_id)
    assert (change.side, change.field, change.source, change.old_value) == (
        "crm",
        "email",
        "import",
        "old@beta.example",
    )
    result = undo.undo_run(world.engine, done.run_id or 0)
    assert (result.deleted, [t.field for t in result.written]) == (1, ["email"])
    assert world.crm_values(company_id)["EMAIL"] == "old@beta.example"


def test_undo_through_a_deleted_connection_leaves_every_field_and_says_why(world: World) -> None:
    from erpsync.storage.tables import ErpConnection
    from erpsync.sync.connections import delete_connection

    company_id, erp_key, _ = world.linked_pair(email="old@acme.example")
    world.erp_update(erp_key, email="new@acme.example")
    [summary] = world.cycle()
    with world.database.session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        delete_connection(session, world.clients, connection)
    result = undo.undo_run(world.engine, summary.run_id)
    assert result.written == []
    [left] = result.left
    assert (left.target.field, left.reason) == ("email", "not_found")
    assert world.crm_values(company_id)["EMAIL"] == "new@acme.example"
    assert get_run(world, result.run_id).status == "partial"


def user_edit(world: World, company_id: int, user_id: int, **attrs: object) -> None:
    with world.database.sessions() as session:
        crm_edits.update(
            session, EntityType.COMPANY, company_id, attrs, user_id=user_id, load=lambda _s, _c: world.config
        )


def a_user(world: World) -> int:
    with world.database.session() as session:
        return create_user(session, login="editor", password="a long passphrase", name="Eva Editor").id


def test_a_crm_edit_of_a_linked_record_is_a_history_row_in_the_edits_transaction(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="old@acme.example", phone="111")
    user_id = a_user(world)
    user_edit(world, company_id, user_id, email="mine@acme.example", phone="111", department="Sales")
    [change] = history(world, company_id)  # the phone did not change; the department is not synced
    assert (change.side, change.field, change.old_value, change.new_value) == (
        "crm",
        "email",
        "old@acme.example",
        "mine@acme.example",
    )
    assert (change.source, change.user_id, change.written_by, change.run_id) == (
        Source.USER_EDIT.value,
        user_id,
        f"user:{user_id}",
        None,
    )
    assert (change.connection_id, change.link_id, change.erp_key) == (world.connection_id, link_id, erp_key)
    last = field_history.last_writes_by_connection(world.database, "company", company_id, [world.connection_id])
    [shown] = last.get(world.connection_id, [])
    assert last.writers[shown.written_by or ""] == "Eva Editor"  # the ERP tab names the author before any sync
    world.cycle()  # the sync carries it: its ERP row names the same author
    newest = history(world, company_id)[0]
    assert (newest.side, newest.field, newest.written_by) == ("erp", "email", f"user:{user_id}")


def test_an_edit_of_an_unlinked_record_or_a_refused_one_records_nothing(world: World) -> None:
    company_id, _, _ = world.linked_pair(email="old@acme.example")
    unlinked = world.crm_company(EMAIL="solo@acme.example")
    user_edit(world, unlinked, 1, email="other@acme.example")
    assert history(world, unlinked) == []
    before = len(history(world, company_id))
    with pytest.raises(InvalidFieldError):
        user_edit(world, company_id, 1, email="new@acme.example", country_id=999_999)  # no such list item
    assert len(history(world, company_id)) == before
    assert world.crm_values(company_id)["EMAIL"] == "old@acme.example"  # nothing of the edit was saved
