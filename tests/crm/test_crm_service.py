"""The CRM service on both backends: CRUD by attribute and by mapping key, validation, change feed, origin tags."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from erpsync.crm import lists, service
from erpsync.crm.changes import changes_since, current_watermark
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CrmList, EntityType
from erpsync.errors import NotFoundError
from erpsync.storage.db import Database

COMPANY, PERSON, PROJECT = EntityType.COMPANY, EntityType.PERSON, EntityType.PROJECT
USER = service.user_origin(1)
ENGINE = service.sync_origin(7)


def _create(database: Database, entity_type: EntityType, attrs: dict[str, Any], origin: str = USER) -> int:
    with database.session() as session:
        return service.create_entity(session, entity_type, attrs, changed_by=origin).id


def _item(database: Database, list_name: CrmList, label: str) -> int:
    with database.session() as session:
        return lists.add_item(session, list_name, label=label).id


def _refused(database: Database, entity_type: EntityType, attrs: dict[str, Any], field: str) -> InvalidFieldError:
    with database.session() as session, pytest.raises(InvalidFieldError) as caught:
        service.create_entity(session, entity_type, attrs, changed_by=USER)
    assert caught.value.field == field
    return caught.value


def test_create_read_update_delete(database: Database) -> None:
    country = _item(database, CrmList.COUNTRY, "Denmark")
    company_id = _create(database, COMPANY, {"name": "Acme", "country_id": country, "vat_number": "DK1"})
    with database.session() as session:
        service.update_entity(session, COMPANY, company_id, {"phone": "+45 1234"}, changed_by=USER)
    with database.session() as session:
        company = service.get_entity(session, COMPANY, company_id)
        assert (company.name, company.phone, company.country_id) == ("Acme", "+45 1234", country)  # type: ignore[attr-defined]
        service.delete_entity(session, COMPANY, company_id, changed_by=USER)
    with database.session() as session, pytest.raises(NotFoundError, match=f"no company with id {company_id}"):
        service.get_entity(session, COMPANY, company_id)


def test_list_pages_and_search_by_name(database: Database) -> None:
    for name in ("Acme", "ACME Nordic", "Globex", "100%_pure"):
        _create(database, COMPANY, {"name": name})
    with database.session() as session:
        found, total = service.list_entities(session, COMPANY, q="acme")
        assert ([c.name for c in found], total) == (["Acme", "ACME Nordic"], 2)  # type: ignore[attr-defined]
        page, total = service.list_entities(session, COMPANY, limit=2, offset=2)
        assert ([c.name for c in page], total) == (["Globex", "100%_pure"], 4)  # type: ignore[attr-defined]
        assert service.list_entities(session, COMPANY, q="%")[1] == 1  # wildcards are matched literally


def test_validation_names_the_field_and_changes_nothing(database: Database) -> None:
    business = _item(database, CrmList.BUSINESS, "Retail")
    with database.session() as session:
        watermark = current_watermark(session)
    _refused(database, COMPANY, {"department": "x"}, "name")
    _refused(database, COMPANY, {"name": "  "}, "name")
    _refused(database, COMPANY, {"name": "A", "number1": "9" * 65}, "number1")
    _refused(database, COMPANY, {"name": "A", "country_id": business}, "country_id")  # item of another list
    _refused(database, COMPANY, {"name": "A", "country_id": 999}, "country_id")
    _refused(database, COMPANY, {"name": "A", "phone": 12345}, "phone")
    _refused(database, COMPANY, {"name": "A", "shoe_size": "44"}, "shoe_size")
    _refused(database, PERSON, {"birth_date": "31/12/1990"}, "birth_date")
    _refused(database, PERSON, {"company_id": 999}, "company_id")
    _refused(database, PROJECT, {"name": "P", "text": "x" * 10_001}, "text")
    with database.session() as session:
        assert service.list_entities(session, COMPANY)[1] == 0
        assert current_watermark(session) == watermark


def test_deleted_list_items_cannot_be_chosen(database: Database) -> None:
    status = _item(database, CrmList.PROJECT_STATUS, "Closed")
    with database.session() as session:
        lists.update_item(session, CrmList.PROJECT_STATUS, status, deleted=True)
    _refused(database, PROJECT, {"name": "P", "status_id": status}, "status_id")


def test_records_by_mapping_key(database: Database) -> None:
    company_id = _create(database, COMPANY, {"name": "Acme"})
    with database.session() as session:
        person = service.create_record(
            session, PERSON, {"FIRSTNAME": "Ann", "BIRTHDATE": "1990-12-31"}, changed_by=ENGINE, company_id=company_id
        )
    assert (person.values["FIRSTNAME"], person.values["BIRTHDATE"], person.company_id) == (
        "Ann",
        "1990-12-31",
        company_id,
    )
    assert person.changed_by == ENGINE
    with database.session() as session:
        written = service.write_record(session, PERSON, person.id, {"LASTNAME": "Lee"}, changed_by=ENGINE)
        assert written.change_seq > person.change_seq
        read = service.read_record(session, PERSON, person.id)
    assert read == written
    assert read.values["LASTNAME"] == "Lee"
    assert read.values["BIRTHDATE"] == "1990-12-31"
    assert set(read.values) >= {"FIRSTNAME", "EMAIL", "POSTALCOUNTRY"}
    with database.session() as session, pytest.raises(InvalidFieldError) as caught:
        service.write_record(session, PERSON, person.id, {"NAME": "x"}, changed_by=ENGINE)
    assert caught.value.key == "NAME"


def test_every_write_bumps_the_global_sequence(database: Database) -> None:
    with database.session() as session:
        start = current_watermark(session)
    company_id = _create(database, COMPANY, {"name": "Acme"})
    project_id = _create(database, PROJECT, {"name": "Build", "end_date": dt.date(2030, 1, 1)})
    with database.session() as session:
        service.update_entity(session, COMPANY, company_id, {"name": "Acme Ltd"}, changed_by=USER)
    with database.session() as session:
        company = service.get_entity(session, COMPANY, company_id)
        project = service.get_entity(session, PROJECT, project_id)
        assert start < project.change_seq < company.change_seq == current_watermark(session)
        assert company.updated_at > project.updated_at


def test_a_write_that_changes_nothing_is_not_a_change(database: Database) -> None:
    company_id = _create(database, COMPANY, {"name": "Acme", "email": "a@example.com"})
    with database.session() as session:
        before = current_watermark(session)
        service.update_entity(session, COMPANY, company_id, {"email": "a@example.com"}, changed_by=ENGINE)
    with database.session() as session:
        assert current_watermark(session) == before
        assert service.get_entity(session, COMPANY, company_id).changed_by == USER


def test_change_feed_in_order_with_limit_origin_and_deletions(database: Database) -> None:
    with database.session() as session:
        watermark = current_watermark(session)
    first = _create(database, COMPANY, {"name": "One"})
    second = _create(database, COMPANY, {"name": "Two"}, origin=ENGINE)
    _create(database, PROJECT, {"name": "Other type"})
    with database.session() as session:
        service.delete_entity(session, COMPANY, first, changed_by=USER)
    with database.session() as session:
        changes = changes_since(session, COMPANY, watermark)
        assert [(c.entity_id, c.changed_by, c.deleted) for c in changes] == [
            (second, ENGINE, False),
            (first, USER, True),
        ]
        assert changes[0].change_seq < changes[1].change_seq
        assert changes_since(session, COMPANY, watermark, limit=1) == changes[:1]
        assert changes_since(session, COMPANY, changes[-1].change_seq) == []


def test_deleting_a_company_detaches_its_persons_through_the_feed(database: Database) -> None:
    company_id = _create(database, COMPANY, {"name": "Acme"})
    person_id = _create(database, PERSON, {"last_name": "Lee", "company_id": company_id})
    with database.session() as session:
        watermark = current_watermark(session)
        service.delete_entity(session, COMPANY, company_id, changed_by=USER)
    with database.session() as session:
        assert service.read_record(session, PERSON, person_id).company_id is None
        assert [c.entity_id for c in changes_since(session, PERSON, watermark)] == [person_id]


def test_ids_are_never_reused_after_a_delete(database: Database) -> None:
    first = _create(database, PROJECT, {"name": "A"})
    with database.session() as session:
        service.delete_entity(session, PROJECT, first, changed_by=USER)
    assert _create(database, PROJECT, {"name": "B"}) > first


def test_write_records_writes_the_valid_ones_and_names_what_it_refused(database: Database) -> None:
    first = _create(database, COMPANY, {"name": "Acme"})
    second = _create(database, COMPANY, {"name": "Bolt"})
    same = _create(database, COMPANY, {"name": "Same"})
    with database.session() as session:
        start = current_watermark(session)
        errors = service.write_records(
            session,
            COMPANY,
            [
                (first, {"EMAIL": "a@acme.example"}),
                (second, {"NAME": ""}),
                (404_404, {"NAME": "Ghost"}),
                (same, {"NAME": "Same"}),
                (second, {"EMAIL": "b@bolt.example"}),
            ],
            changed_by=ENGINE,
        )
    assert [type(error) for error in errors] == [type(None), InvalidFieldError, NotFoundError, type(None), type(None)]
    with database.read_session() as session:
        records = service.read_records(session, COMPANY, [first, second, same, 404_404])
        end = current_watermark(session)
    assert set(records) == {first, second, same}
    assert (records[first].values["EMAIL"], records[second].values["EMAIL"]) == ("a@acme.example", "b@bolt.example")
    assert records[second].values["NAME"] == "Bolt"
    assert sorted([records[first].change_seq, records[second].change_seq]) == [start + 1, start + 2]
    assert end == start + 2  # one number per entity changed, none for the refused or unchanged ones
    assert records[same].change_seq <= start
    assert {records[first].changed_by, records[second].changed_by} == {ENGINE}
