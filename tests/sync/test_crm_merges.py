"""Merging CRM records with their links (``sync.crm_merges``), on both backends: the values chosen survive, persons
move, links move, two links in one connection become a reported problem, and the next sync writes the merged values."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from erpsync import accounts
from erpsync.crm import service
from erpsync.crm.changes import changes_since
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import EntityType
from erpsync.crm.merge import Keep, differences
from erpsync.errors import NotFoundError, ValidationError
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, User
from erpsync.sync import links, problems
from erpsync.sync.crm_merges import MergeReport, merge_records
from support.sync_world import CUSTOMER, World

from .test_engine_moves import People, people  # noqa: F401  (the fixture: the world with persons mapped)

COMPANY, PERSON = EntityType.COMPANY, EntityType.PERSON


def _user(database: Database) -> int:
    with database.session() as session:
        return accounts.create_user(session, login="ann", password="a good password", licences=("erp",)).id


def _create(database: Database, entity_type: EntityType, **attrs: Any) -> int:
    with database.session() as session:
        return service.create_entity(session, entity_type, attrs, changed_by="user:9").id


def _merge(database: Database, entity_type: EntityType, survivor: int, other: int, **choices: str) -> MergeReport:
    with database.session() as session:
        user = session.scalars(select(User)).first()
        assert user is not None
        return merge_records(session, entity_type, survivor, other, choices, user=user)


def _attrs(database: Database, entity_type: EntityType, entity_id: int, *names: str) -> tuple[Any, ...]:
    with database.read_session() as session:
        entity = service.get_entity(session, entity_type, entity_id)
        return tuple(getattr(entity, name) for name in names)


def test_chosen_values_survive_blanks_are_filled_and_persons_move(database: Database) -> None:
    user_id = _user(database)
    survivor = _create(database, COMPANY, name="Acme", email="a@acme.test")
    other = _create(database, COMPANY, name="Acme Ltd", email="b@acme.test", phone="+45 1", vat_number="DK1")
    person = _create(database, PERSON, first_name="Bo", company_id=other)
    with database.read_session() as session:
        before = service.current_watermark(session)
        shown = {d.attr: (d.survivor, d.other, d.default) for d in differences(session, COMPANY, survivor, other)}
    assert shown["name"] == ("Acme", "Acme Ltd", Keep.SURVIVOR)
    assert shown["phone"] == (None, "+45 1", Keep.OTHER)
    report = _merge(database, COMPANY, survivor, other, email="other", vat_number="survivor")
    assert _attrs(database, COMPANY, survivor, "name", "email", "phone", "vat_number") == (
        "Acme",
        "b@acme.test",
        "+45 1",
        None,
    )
    assert (report.taken_from_other, report.persons_moved) == (["phone", "email"], [person])
    assert _attrs(database, PERSON, person, "company_id") == (survivor,)
    with database.read_session() as session, pytest.raises(NotFoundError):
        service.get_entity(session, COMPANY, other)
    with database.read_session() as session:
        feed = {(c.entity_id, c.deleted, c.changed_by) for c in changes_since(session, COMPANY, before)}
        assert feed == {(survivor, False, f"user:{user_id}"), (other, True, f"user:{user_id}")}
        assert [c.entity_id for c in changes_since(session, PERSON, before)] == [person]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "merge_company")).one()
        assert (entry.user_id, entry.target_id, entry.detail_json["merged_id"]) == (user_id, str(survivor), other)


def test_merge_persons_takes_the_chosen_company(database: Database) -> None:
    _user(database)
    first, second = _create(database, COMPANY, name="One"), _create(database, COMPANY, name="Two")
    survivor = _create(database, PERSON, first_name="Ann", company_id=first)
    other = _create(database, PERSON, first_name="Anne", last_name="Berg", company_id=second)
    report = _merge(database, PERSON, survivor, other, company_id="other")
    assert _attrs(database, PERSON, survivor, "first_name", "last_name", "company_id") == ("Ann", "Berg", second)
    assert report.taken_from_other == ["last_name", "company_id"]


def test_bad_input_is_refused_and_changes_nothing(database: Database) -> None:
    _user(database)
    survivor = _create(database, COMPANY, name="Acme")
    other = _create(database, COMPANY, name="Globex")
    person = _create(database, PERSON, first_name="Bo", company_id=other)
    with pytest.raises(ValidationError, match="cannot be merged with itself"):
        _merge(database, COMPANY, survivor, survivor)
    with pytest.raises(InvalidFieldError) as caught:
        _merge(database, COMPANY, survivor, other, colour="other")
    assert caught.value.field == "colour"
    with pytest.raises(InvalidFieldError, match="'survivor' or 'other'"):
        _merge(database, COMPANY, survivor, other, name="both")
    with pytest.raises(NotFoundError):
        _merge(database, COMPANY, survivor, 999_999)
    assert _attrs(database, COMPANY, other, "name") == ("Globex",)
    assert _attrs(database, PERSON, person, "company_id") == (other,)


def test_links_move_and_the_next_sync_writes_the_merged_values(world: World) -> None:
    _user(world.database)
    other, erp_key, link_id = world.linked_pair(email="old@acme.test")
    survivor = world.crm_company(NAME="Acme Group", PHONE="+45 2")
    report = _merge(world.database, COMPANY, survivor, other)
    assert [(m.link_id, m.erp_key) for m in report.links_moved] == [(link_id, erp_key)]
    assert report.link_conflicts == []
    assert world.get_link(link_id).entity_id == survivor
    world.cycle()
    erp = world.erp_values(erp_key)
    assert (erp["name"], erp["phone"], erp["email"]) == ("Acme Group", "+45 2", "old@acme.test")
    assert world.get_link(link_id).state == links.LinkState.OK.value


def test_two_links_in_one_connection_become_a_reported_problem(world: World) -> None:
    _user(world.database)
    survivor, kept_key, kept_id = world.linked_pair(email="a@acme.test")
    other = world.crm_company(NAME="Acme Ltd", PHONE="+45 3")
    other_key = world.erp_customer(name="Acme Ltd", phone="+45 3")
    other_link = world.link(other, other_key, agreed={"name": "Acme Ltd", "phone": "+45 3"})
    report = _merge(world.database, COMPANY, survivor, other)
    [conflict] = report.link_conflicts
    assert (conflict.kept_link_id, conflict.broken_link_id, conflict.broken_erp_key) == (kept_id, other_link, other_key)
    assert report.links_moved == []
    world.cycle()  # reads the tombstone of the merged-away company: the left-behind link stays
    left = world.get_link(other_link)
    assert (left.state, left.error_cause, left.entity_id) == ("broken", links.MERGED_CAUSE, other)
    assert f"merged into company {survivor}" in (left.last_error or "")
    with world.database.read_session() as session:
        broken = problems.broken_links(session, world.connection_id, user=None)
    assert [(b.link_id, b.cause) for b in broken] == [(other_link, links.MERGED_CAUSE)]
    assert world.erp_values(kept_key)["phone"] == "+45 3"  # the survivor's blank phone, filled, reached its ERP actor
    assert world.erp_values(other_key)["name"] == "Acme Ltd"  # the other actor is left alone
    assert world.get_link(kept_id).state == links.LinkState.OK.value


def test_a_merged_company_s_linked_person_follows_to_the_kept_erp_actor(people: People) -> None:  # noqa: F811
    """Both companies linked in one connection: the persons of the merged-away company move to the kept one, and the
    next sync moves their ERP persons under the kept company's actor (as any person who moves)."""
    _user(people.world.database)
    kept, kept_key = people.company_pair("Acme")
    other, other_key = people.company_pair("Acme Ltd")
    person_id, erp_key, link_id = people.person_pair(other, other_key, "Hansen")
    report = _merge(people.world.database, COMPANY, kept, other)
    assert (report.persons_moved, len(report.link_conflicts)) == ([person_id], 1)
    people.world.cycle()
    assert people.erp_parent_of(erp_key) == (CUSTOMER, kept_key)
    assert people.world.get_link(link_id).state == links.LinkState.OK.value
