"""Import from the ERP with the sample connector over HTTP: preview verdicts, runs, re-runs, undo, bad input."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync.connectors.sample.erp import NewRecord
from erpsync.errors import ConflictError, ValidationError
from erpsync.protocol.models import ActorType
from erpsync.sdk.app import create_app
from erpsync.storage.tables import Company, ErpLink, Person, SyncConnector, SyncRun, SyncWatermark
from erpsync.sync import imports, jobs, locks
from erpsync.sync.engine import sync_connection
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.imports import paging
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY
from erpsync.testing.server import free_port, serve_in_thread
from support.sync_world import World

CUSTOMER = ActorType.CUSTOMER


def erp_customers(world: World, count: int, **values: str) -> list[str]:
    records = [NewRecord(values={"name": f"Customer {n:05d}", **values}) for n in range(count)]
    return world.sample.erp.insert_many(COMPANY, CUSTOMER, records)


def run(world: World, job_id: int) -> jobs.SyncJob:
    job = imports.run_import(world.engine, job_id)
    assert job is not None
    return job


def companies(world: World) -> int:
    with world.database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Company)) or 0)


def links_of(world: World, actor_type: ActorType = CUSTOMER) -> dict[str, int]:
    with world.database.read_session() as session:
        rows = session.execute(
            select(ErpLink.erp_key, ErpLink.entity_id).where(ErpLink.actor_type == actor_type.value)
        ).all()
    return {row[0]: row[1] for row in rows}


def test_preview_says_create_link_or_skip_per_row(world: World) -> None:
    by_number = world.crm_company(NAME="Old name", NUMBER1="DK 1234")
    by_email = world.crm_company(NAME="Other", EMAIL="Sales@Beta.example")
    by_name = world.crm_company(NAME="gamma  trading")
    world.crm_company(NAME="Twin")
    world.crm_company(NAME="twin")
    world.config = world.config.model_copy(
        update={
            "mappings": {
                CUSTOMER: ActorTypeMapping(
                    actor_type=CUSTOMER,
                    active=True,
                    fields=(
                        *world.config.mappings[CUSTOMER].fields,
                        FieldMapping(erp_field="org_number", crm_field="NUMBER1", direction=Direction.BOTH),
                    ),
                )
            }
        }
    )
    keys = [
        world.erp_customer(name="Alpha", org_number="DK1234"),
        world.erp_customer(name="Beta", email="sales@beta.example"),
        world.erp_customer(name="Gamma Trading"),
        world.erp_customer(name="Twin"),
        world.erp_customer(name="Fresh"),
    ]
    rows = {row.erp_key: row for row in imports.preview(world.engine, world.connection_id, CUSTOMER)}
    assert (rows[keys[0]].verb, rows[keys[0]].entity_id, rows[keys[0]].reason) == (
        imports.Verb.LINK,
        by_number,
        "matched by org number",
    )
    assert (rows[keys[1]].verb, rows[keys[1]].entity_id) == (imports.Verb.LINK, by_email)
    assert (rows[keys[2]].verb, rows[keys[2]].entity_id) == (imports.Verb.LINK, by_name)
    assert rows[keys[3]].verb is imports.Verb.SKIP
    assert rows[keys[3]].reason == "2 CRM companies match by name"
    assert rows[keys[4]].verb is imports.Verb.CREATE
    assert companies(world) == 5  # a preview writes nothing


def test_a_match_linked_to_another_actor_is_skipped_with_a_reason_naming_no_ids(world: World) -> None:
    company_id = world.crm_company(NAME="Solo")
    world.link(company_id, world.erp_customer(name="Solo"))
    second = world.erp_customer(name="Solo")
    rows = {row.erp_key: row for row in imports.preview(world.engine, world.connection_id, CUSTOMER)}
    assert rows[second].verb is imports.Verb.SKIP
    assert rows[second].reason == "the CRM company matched by name is linked to another ERP customer already"


def test_an_import_creates_and_links_and_a_rerun_creates_no_duplicate(world: World) -> None:
    existing = world.crm_company(NAME="Customer 00003")
    keys = erp_customers(world, 40)
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)
    done = run(world, job.id)
    assert (done.status, done.total, done.processed, done.created, done.linked) == ("done", 40, 40, 39, 1)
    linked = links_of(world)
    assert set(linked) == set(keys)
    assert linked[keys[3]] == existing
    assert companies(world) == 40
    again = run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert (again.created, again.linked) == (0, 40)
    assert companies(world) == 40
    with world.database.read_session() as session:
        result = imports.import_result(session, job.id)
        assert len(result.created) == 39
        assert [item.entity_id for item in result.linked] == [existing]
        run_row = session.get(SyncRun, done.run_id)
        assert run_row is not None
        assert (run_row.kind, run_row.status, run_row.progress_done) == ("import", "ok", 40)


def test_the_engine_does_not_echo_imported_records(world: World) -> None:
    erp_customers(world, 5, email="x@example.com")
    run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    summary = sync_connection(world.engine, world.connection_id)
    assert (summary.counts.crm_writes, summary.counts.erp_writes, summary.counts.errors) == (0, 0, 0)


def test_an_import_knows_its_total_from_the_first_page_and_the_next_cycle_reads_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    erp_customers(world, 25, email="x@example.com")
    monkeypatch.setattr(paging, "PAGE_SIZE", 10)
    totals: list[tuple[int | None, int]] = []
    advance = jobs.advance

    def advance_and_note(session: Session, job_id: int, run_id: int, **kwargs: Any) -> None:
        job = jobs.get_job(session, job_id)
        totals.append((job.total, job.processed))
        advance(session, job_id, run_id, **kwargs)

    monkeypatch.setattr(jobs, "advance", advance_and_note)
    done = run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert (done.total, done.processed, totals) == (25, 25, [(25, 0), (25, 10), (25, 20)])
    with world.database.read_session() as session:
        mark = session.get(SyncWatermark, (world.connection_id, CUSTOMER.value))
        assert mark is not None
        assert (mark.erp_since is not None, mark.erp_cursor) == (True, None)
    summary = sync_connection(world.engine, world.connection_id)
    assert summary.counts.records == 0
    world.sample.erp.update_actor(COMPANY, CUSTOMER, sorted(links_of(world))[0], {"email": "new@example.com"})
    after_change = sync_connection(world.engine, world.connection_id).counts
    assert (after_change.records, after_change.crm_writes) == (1, 1)


def test_pages_are_stored_together_up_to_the_transactions_size_with_the_cursor_after_the_last(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import takes the connector's pages together until a transaction holds ``STORED_AT_ONCE`` actors: one
    transaction each, with the job's cursor and counts after its last page, and a rerun starts after it."""
    erp_customers(world, 7)
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 4)
    stored: list[tuple[int, str | None]] = []
    advance = jobs.advance

    def advance_and_note(session: Session, job_id: int, run_id: int, **kwargs: Any) -> None:
        stored.append((kwargs["counts"].processed, kwargs["cursor"]))
        advance(session, job_id, run_id, **kwargs)

    monkeypatch.setattr(jobs, "advance", advance_and_note)
    done = run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert (done.status, done.processed, done.created) == ("done", 7, 7)
    assert [processed for processed, _ in stored] == [4, 3]  # pages of 2, 2 | 2, 1
    assert [cursor is None for _, cursor in stored] == [False, True]  # the cursor after each transaction's last page
    assert companies(world) == 7


def test_a_key_on_the_next_page_and_on_a_later_one_is_imported_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key the next page holds again, or a page further on, is created once (the fetch of the next page overlaps
    the write of the one before)."""
    a, b, c = erp_customers(world, 3)
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER, erp_keys=[a, b])
    with world.database.session() as session:  # the ticked keys, as a list from elsewhere may repeat them
        jobs.get_job(session, job.id).keys_json = [a, b, b, c, a]
    done = run(world, job.id)
    assert (done.status, done.processed, done.created) == ("done", 3, 3)
    assert set(links_of(world)) == {a, b, c}
    assert companies(world) == 3


def test_a_search_imports_only_its_hits_and_bad_criteria_are_refused_each(world: World) -> None:
    erp_customers(world, 3)
    wanted = world.erp_customer(name="Zeta Shipping")
    restriction = RestrictionInput(field="name", operator="begins", values=["zeta"])
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER, restrictions=[restriction])
    assert job.keys_json == [wanted]
    run(world, job.id)
    assert set(links_of(world)) == {wanted}
    bad = [
        RestrictionInput(field="nope", operator="=", values=["x"]),
        RestrictionInput(field="name", operator="oneof", values=["x"]),
    ]
    with pytest.raises(ValidationError) as refused:
        imports.preview(world.engine, world.connection_id, CUSTOMER, restrictions=bad)
    assert "'nope'" in refused.value.user_message
    assert "'oneof'" in refused.value.user_message


def test_an_unmapped_actor_type_is_refused(world: World) -> None:
    with pytest.raises(ValidationError, match="does not map ERP supplier"):
        imports.start_import(world.engine, world.connection_id, ActorType.SUPPLIER)


def test_persons_come_under_their_linked_company_or_are_skipped(world: World) -> None:
    parent = world.erp_customer(name="Parent Co")
    orphan_parent = world.erp_customer(name="Not imported")
    person_fields = (
        FieldMapping(erp_field="first_name", crm_field="FIRSTNAME", direction=Direction.BOTH),
        FieldMapping(erp_field="last_name", crm_field="LASTNAME", direction=Direction.BOTH),
    )
    mappings = {
        **world.config.mappings,
        ActorType.PERSON: ActorTypeMapping(actor_type=ActorType.PERSON, active=True, fields=person_fields),
    }
    world.config = world.config.model_copy(update={"mappings": mappings})
    erp = world.sample.erp
    adopted = erp.create_actor(
        COMPANY,
        ActorType.PERSON,
        NewRecord(values={"last_name": "Hansen"}, parent_type=CUSTOMER, parent_key=parent),
    )
    orphan = erp.create_actor(
        COMPANY,
        ActorType.PERSON,
        NewRecord(values={"last_name": "Lost"}, parent_type=CUSTOMER, parent_key=orphan_parent),
    )
    restriction = RestrictionInput(field="name", operator="=", values=["Parent Co"])
    run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER, restrictions=[restriction]).id)
    job = run(world, imports.start_import(world.engine, world.connection_id, ActorType.PERSON).id)
    assert (job.created, job.skipped) == (1, 1)
    persons = links_of(world, ActorType.PERSON)
    assert set(persons) == {adopted}
    with world.database.read_session() as session:
        person = session.get(Person, persons[adopted])
        assert person is not None
        assert person.company_id == links_of(world)[parent]
        skipped = imports.import_result(session, job.id).skipped
        assert [(item.erp_key, item.reason) for item in skipped] == [
            (orphan, "its parent company is not imported or linked in this connection")
        ]


def test_undo_deletes_what_the_import_created_and_their_links(world: World) -> None:
    existing = world.crm_company(NAME="Customer 00001")
    erp_customers(world, 4)
    job = run(world, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert imports.undo_import(world.database, job.id) == 3
    assert companies(world) == 1
    assert list(links_of(world).values()) == [existing]
    with pytest.raises(ConflictError):
        imports.undo_import(world.database, job.id)


def test_an_import_waits_behind_a_running_sync_and_cancel_keeps_what_is_done(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    erp_customers(world, 1200)
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)
    with locks.held(world.database, locks.connection_lock(world.connection_id)):
        assert imports.run_import(world.engine, job.id) is None  # queued behind the running cycle
    assert jobs.read_job(world.database, job.id).status == "queued"

    def cancel_after_first_page(seen: jobs.SyncJob) -> None:
        if seen.processed and seen.run_id is not None:
            jobs.request_cancel(world.database, seen.run_id)

    cancelled = imports.run_import(world.engine, job.id, progress=cancel_after_first_page)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert 0 < cancelled.processed < 1200
    assert len(links_of(world)) == cancelled.processed
    with world.database.session() as session:
        jobs.requeue(session, jobs.get_job(session, job.id))
    finished = run(world, job.id)
    assert (finished.status, finished.processed, finished.created) == ("done", 1200, 1200)
    assert companies(world) == 1200
    with world.database.read_session() as session:
        statuses = [r.status for r in session.scalars(select(SyncRun).where(SyncRun.kind == "import"))]
    assert sorted(statuses) == ["cancelled", "ok"]


def test_the_connector_going_away_fails_the_run_with_its_reason_and_a_rerun_resumes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "STORED_AT_ONCE", 1)  # a transaction a page, as the test counts them
    erp_customers(world, 1000)
    app = create_app(world.sample.connector, secret=world.sample.secret)
    port = free_port()
    connector_up = ExitStack()
    url = connector_up.enter_context(serve_in_thread(app, port=port))
    with world.database.session() as session:
        connector = session.scalars(select(SyncConnector)).one()
        connector.url = url
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)

    def go_away_after_a_page(seen: jobs.SyncJob) -> None:
        if seen.processed:
            connector_up.close()

    failed = imports.run_import(world.engine, job.id, progress=go_away_after_a_page)
    assert failed is not None
    assert (failed.status, failed.error_reason) == ("failed", "transient")
    assert failed.error
    assert 0 < failed.processed < 1000
    assert len(links_of(world)) == failed.processed
    with world.database.session() as session:
        jobs.requeue(session, jobs.get_job(session, job.id))
    with serve_in_thread(app, port=port):
        finished = run(world, job.id)
    assert (finished.status, finished.processed, finished.created) == ("done", 1000, 1000)
    assert companies(world) == 1000
    assert len(links_of(world)) == 1000
