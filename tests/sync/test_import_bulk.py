"""The import's bulk writes and lookups: ids reserved up front are never ones used before, bulk rows read back as the
ORM wrote them, and on PostgreSQL the per-page lookups stay on their indexes as an import grows the tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.exc import IntegrityError

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import lists
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import create_entities_bulk, create_record, delete_entity
from erpsync.crm.validation import clean_attrs, clean_many
from erpsync.protocol.models import ActorType
from erpsync.storage.bulk import ANALYZE_FIRST_ROWS, LoadStatistics, commit_unflushed, one_of, reserve_ids
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpLink, utcnow
from erpsync.sync import imports, links
from erpsync.testing.db import clear_database
from erpsync.testing.sample import COMPANY
from support.statements import statements_sent
from support.sync_world import World, build_world

CUSTOMER = ActorType.CUSTOMER


def company_table() -> Table:
    table = Company.__table__
    assert isinstance(table, Table)
    return table


def test_reserved_ids_are_never_ones_used_before_even_after_a_delete(database: Database) -> None:
    with database.session() as session:
        highest = create_record(session, EntityType.COMPANY, {"NAME": "Gone"}, changed_by="test").id
        delete_entity(session, EntityType.COMPANY, highest, changed_by="test")
    with database.session() as session:
        ids = reserve_ids(session, company_table(), 3)
    assert len(set(ids)) == 3
    assert min(ids) > highest  # a tombstone names its entity for good


def test_bulk_created_entities_and_links_read_back_as_written(database: Database) -> None:
    rows = [{"name": f"Bulk {n}", "email": f"b{n}@example.com"} for n in range(3)] + [{"name": "No mail"}]
    with database.session() as session:
        done = create_entities_bulk(session, EntityType.COMPANY, rows, changed_by="sync:1")
        single = create_record(session, EntityType.COMPANY, {"NAME": "After"}, changed_by="test")
    assert len(done.ids) == 4 == len(done.change_seqs)
    assert single.id > max(done.ids)  # the sequence / autoincrement moved past the reserved ids
    with database.read_session() as session:
        stored = {c.id: c for c in session.scalars(select(Company).where(Company.id.in_(done.ids)))}
        assert [(stored[i].name, stored[i].email, stored[i].changed_by) for i in done.ids] == [
            ("Bulk 0", "b0@example.com", "sync:1"),
            ("Bulk 1", "b1@example.com", "sync:1"),
            ("Bulk 2", "b2@example.com", "sync:1"),
            ("No mail", None, "sync:1"),
        ]
        assert [stored[i].change_seq for i in done.ids] == list(done.change_seqs)
        assert all(stored[i].updated_at is not None for i in done.ids)


def test_a_bulk_bind_stores_the_agreed_values_and_refuses_a_taken_key(world: World) -> None:
    with world.database.session() as session:
        done = create_entities_bulk(session, EntityType.COMPANY, [{"name": "A"}, {"name": "B"}], changed_by="test")
    new = [links.NewLink(done.ids[0], "K1", {"name": "A", "phone": None})]
    with world.database.session() as session:
        links.bind_many(session, world.connection_id, EntityType.COMPANY, CUSTOMER, new, now=utcnow())
    with world.database.read_session() as session:
        link = session.scalars(select(ErpLink)).one()
        assert (link.entity_id, link.erp_key, link.agreed_json, link.state) == (done.ids[0], "K1", new[0].agreed, "ok")
    taken = [links.NewLink(done.ids[1], "K1", {})]
    with pytest.raises(IntegrityError), world.database.session() as session:
        links.bind_many(session, world.connection_id, EntityType.COMPANY, CUSTOMER, taken, now=utcnow())
    with world.database.read_session() as session:
        assert len(session.scalars(select(ErpLink)).all()) == 1  # nothing of the refused write


def test_checking_a_page_of_rows_at_once_gives_what_checking_each_row_gives(database: Database) -> None:
    """The column-at-a-time check of a bulk write keeps what ``clean_attrs`` keeps and refuses, row by row, what it
    refuses, with the same words."""
    with database.session() as session:
        dk = lists.add_item(session, CrmList.COUNTRY, label="Denmark").id
        gone = lists.add_item(session, CrmList.COUNTRY, label="Gone").id
        lists.update_item(session, CrmList.COUNTRY, gone, deleted=True)
    good: list[dict[str, object]] = [
        {"name": "A ApS", "email": "a@example.com", "country_id": dk},
        {"name": " B ", "email": None, "country_id": None},
        {"name": "C"},
    ]
    bad: list[dict[str, object]] = [
        {"name": "x" * 1000},
        {"name": "nul\x00"},
        {"name": "   "},
        {"name": None},
        {"name": "D", "country_id": gone},
        {"name": "E", "country_id": 999_999},
        {"name": "F", "country_id": True},
        {"name": "G", "email": 7},
        {"name": "H", "not_a_field": "x"},
    ]
    with database.session() as session:
        assert clean_many(session, EntityType.COMPANY, good) == good
        for row in bad:
            page = [*good, row]
            one_by_one: list[object] = []
            for each in page:
                try:
                    one_by_one.append(clean_attrs(session, EntityType.COMPANY, each))
                except InvalidFieldError as error:
                    one_by_one.append(str(error))
            checked = clean_many(session, EntityType.COMPANY, page)
            assert [str(c) if isinstance(c, InvalidFieldError) else c for c in checked] == one_by_one
            assert isinstance(checked[-1], InvalidFieldError), row


def test_a_page_of_persons_is_checked_with_one_lookup_of_their_companies(database: Database) -> None:
    """A person's company is checked for the page at once (not a lookup per person), and a page naming a company
    that does not exist is refused row by row as ``clean_attrs`` refuses it."""
    with database.session() as session:
        companies = [
            create_record(session, EntityType.COMPANY, {"NAME": f"C{n}"}, changed_by="test").id for n in range(3)
        ]
    good: list[dict[str, object]] = [
        {"first_name": f"P{n}", "company_id": companies[n % 3] if n % 4 else None} for n in range(20)
    ]
    with statements_sent(database) as statements, database.session() as session:
        assert clean_many(session, EntityType.PERSON, good) == good
    assert sum("FROM companies" in statement for statement in statements) == 1
    with database.session() as session:
        for bad in (999_999, True, "1"):
            row = {"first_name": "X", "company_id": bad}
            checked = clean_many(session, EntityType.PERSON, [*good, row])
            assert checked[:-1] == good
            with pytest.raises(InvalidFieldError) as refused:
                clean_attrs(session, EntityType.PERSON, row)
            assert isinstance(checked[-1], InvalidFieldError)
            assert str(checked[-1]) == str(refused.value)


def test_bulk_rows_keep_json_values_json_dumps_takes_and_orjson_does_not(world: World) -> None:
    agreed = {"name": "A", "phone": None, "huge": 2**70, "text": "tab\tand \\ and \u00e6"}
    with world.database.session() as session:
        done = create_entities_bulk(session, EntityType.COMPANY, [{"name": "A"}, {"name": "B"}], changed_by="test")
        new = [links.NewLink(done.ids[0], "K1", agreed), links.NewLink(done.ids[1], "K2", {"name": "B"})]
        links.bind_many(session, world.connection_id, EntityType.COMPANY, CUSTOMER, new, now=utcnow())
    with world.database.read_session() as session:
        stored = {link.erp_key: link.agreed_json for link in session.scalars(select(ErpLink))}
    assert stored == {"K1": agreed, "K2": {"name": "B"}}


@pytest.mark.postgres
def test_on_postgresql_an_import_keeps_the_statistics_of_the_tables_it_grows_current(
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """Without current statistics the planner takes a table for as small as when it was last analysed and its
    lookups degrade to scanning every row, page after page; the import analyses what it grows as it goes."""
    pg = Database(postgres_url)
    clear_database(pg)
    with pg.session() as session:
        session.execute(text("ANALYZE companies, erp_links, import_items"))  # empty: what a new hub's statistics say
    try:
        for world in build_world(pg, tmp_path):
            records = [NewRecord(values={"name": f"Customer {n:05d}"}) for n in range(2_500)]
            world.sample.erp.insert_many(COMPANY, CUSTOMER, records)
            job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
            assert job is not None
            assert (job.status, job.created) == ("done", 2_500)
            with pg.read_session() as session:
                estimates = dict(
                    session.execute(  # ANALYZE sets the row estimate; nothing else ran on these tables meanwhile
                        text(
                            "SELECT relname, reltuples FROM pg_class "
                            "WHERE relname IN ('companies', 'erp_links', 'import_items')"
                        )
                    ).all()
                )
                known = {
                    row[0]
                    for row in session.execute(
                        text("SELECT tablename FROM pg_stats WHERE attname = 'erp_key' AND n_distinct <> 0")
                    )
                }
            # analysed at 1,000 and 2,000 rows: each estimate is at least 2,000 of the 2,500 rows
            assert {name: estimate >= 2_000 for name, estimate in estimates.items()} == {
                "companies": True,
                "erp_links": True,
                "import_items": True,
            }
            assert {"erp_links", "import_items"} <= known  # the keys' statistics the lookups are planned by
            with pg.read_session() as session:
                unindexed = session.execute(  # no lookup is planned by them: their statistics are not gathered
                    text("SELECT count(*) FROM pg_stats WHERE tablename = 'erp_links' AND attname = 'agreed_json'")
                ).scalar()
            assert unindexed == 0
    finally:
        pg.dispose()


@pytest.mark.postgres
def test_on_postgresql_the_database_is_asked_about_statistics_only_when_a_table_may_be_due(postgres_url: str) -> None:
    """Most pages of a load grow no table enough to analyse it: the import then opens no session to ask."""
    pg = Database(postgres_url)
    clear_database(pg)
    try:
        statistics = LoadStatistics()
        for _ in range(2):  # analysed at ANALYZE_FIRST_ROWS rows, then again once the table has doubled
            statistics.grew("companies", ANALYZE_FIRST_ROWS - 1)
            assert not statistics.may_be_due()
            statistics.grew("companies", 1)
            assert statistics.may_be_due()
            with pg.session() as session:
                assert statistics.keep_current(session) == ["companies"]
            assert not statistics.may_be_due(), "analysed: not due again until the table has doubled"
    finally:
        pg.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_page_may_commit_unflushed_and_only_its_own_transaction_does(postgres_url: str) -> None:
    """An import's page commits without waiting for the disk (its cursor commits with it, so a crash that loses it
    makes the job fetch it again); the setting ends with the transaction: the next one on the connection waits."""
    pg = Database(postgres_url, pool_size=1)  # one connection: the next transaction runs on the same one
    clear_database(pg)
    try:
        with pg.session() as session:
            commit_unflushed(session)
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"
            [entity_id] = reserve_ids(session, company_table(), 1)
            session.add(Company(id=entity_id, name="Unflushed", change_seq=1, changed_by="test", updated_at=utcnow()))
        with pg.session() as session:
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert session.scalars(select(Company.name)).all() == ["Unflushed"]
    finally:
        pg.dispose()


def test_a_bulk_lookup_is_one_statement_whatever_the_number_of_values_and_finds_exactly_them(
    database: Database,
) -> None:
    """``one_of`` binds its values as one parameter (a JSON array on SQLite, an array on PostgreSQL): the driver is
    sent the same statement for 2 keys or 600, so it is compiled (and on PostgreSQL prepared) once."""
    with database.session() as session:
        done = create_entities_bulk(
            session, EntityType.COMPANY, [{"name": f"Lookup {n}"} for n in range(3)], changed_by="test"
        )
    wanted = [done.ids[0], done.ids[2]]
    with statements_sent(database) as sent, database.read_session() as session:
        for ids in (wanted, [*wanted, *range(10_000_000, 10_000_600)], []):
            query = select(Company.id).where(one_of(session, Company.id, ids))
            assert sorted(session.scalars(query)) == (wanted if ids else [])
    lookups = [statement for statement in sent if "FROM companies" in statement]
    assert len(lookups) == 3
    assert len(set(lookups)) == 1
