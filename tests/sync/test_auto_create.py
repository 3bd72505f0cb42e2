"""Automatic creation ERP -> CRM against the sample connector over real HTTP, on both backends: off by default it
does nothing; on, an exact match by a chosen key links, no match creates the CRM record, several candidates or only a
similar name go to the review list instead of creating; the sync filter is respected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record
from erpsync.errors import ConflictError, ValidationError
from erpsync.protocol.models import ActorType, Operator
from erpsync.storage.tables import AutoReview, Company, ErpLink
from erpsync.sync import auto_config, auto_reviews
from erpsync.sync.mapping import (
    ActorTypeMapping,
    AutoCreate,
    AutoDirection,
    FieldMapping,
    FilterRestriction,
    SyncFilter,
)
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY
from support.sync_world import CUSTOMER, World


def switch_on(world: World, *match: str, direction: AutoDirection = AutoDirection.ERP_TO_CRM, **more: Any) -> None:
    auto = AutoCreate(direction=direction, match=match)
    mapping = world.config.mappings[CUSTOMER].model_copy(update={"auto_create": auto, **more})
    world.config = world.config.model_copy(update={"mappings": {**world.config.mappings, CUSTOMER: mapping}})


def linked_entity(world: World, erp_key: str) -> int | None:
    with world.database.read_session() as session:
        return session.scalar(
            select(ErpLink.entity_id).where(ErpLink.erp_key == erp_key, ErpLink.actor_type == "customer")
        )


def companies(world: World) -> int:
    with world.database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Company)) or 0)


def reviews(world: World) -> list[AutoReview]:
    with world.database.read_session() as session:
        return list(session.scalars(select(AutoReview).order_by(AutoReview.id)))


def test_off_by_default_does_nothing(world: World) -> None:
    assert world.config.mappings[CUSTOMER].auto_create.direction is AutoDirection.OFF
    erp_key = world.erp_customer(name="Newco", email="hi@newco.example")
    world.cycle()
    assert linked_entity(world, erp_key) is None
    assert companies(world) == 0


def test_no_match_creates_the_crm_company_and_links_it(world: World) -> None:
    switch_on(world, "email")
    erp_key = world.erp_customer(name="Newco", email="hi@newco.example")
    world.cycle()
    entity_id = linked_entity(world, erp_key)
    assert entity_id is not None
    values = world.crm_values(entity_id)
    assert (values["NAME"], values["EMAIL"]) == ("Newco", "hi@newco.example")
    world.cycle()
    assert companies(world) == 1  # a second run creates nothing more


def test_an_exact_match_links_instead_of_creating(world: World) -> None:
    company_id = world.crm_company(NAME="Old name", EMAIL="Hi@Newco.example")
    switch_on(world, "email")
    erp_key = world.erp_customer(name="Newco", email="hi@newco.example")
    world.cycle()
    assert linked_entity(world, erp_key) == company_id
    assert companies(world) == 1
    assert world.crm_values(company_id)["NAME"] == "Newco"  # then synced: the ERP's values on the first link


def test_several_candidates_go_to_review_instead_of_creating(world: World) -> None:
    first = world.crm_company(NAME="Twin", EMAIL="twin@example.com")
    second = world.crm_company(NAME="Other", EMAIL="twin@example.com")
    switch_on(world, "email")
    erp_key = world.erp_customer(name="Twin", email="twin@example.com")
    world.cycle()
    assert linked_entity(world, erp_key) is None
    assert companies(world) == 2
    [item] = reviews(world)
    assert (item.record_key, item.reason, item.status) == (erp_key, "several", "open")
    assert {c["key"] for c in item.candidates_json} == {str(first), str(second)}
    world.cycle()
    assert len(reviews(world)) == 1  # not noted twice


def test_only_a_similar_name_goes_to_review(world: World) -> None:
    company_id = world.crm_company(NAME="ACME A/S")
    switch_on(world, "org_number")
    erp_key = world.erp_customer(name="Acme", email="a@acme.example")
    world.cycle()
    assert linked_entity(world, erp_key) is None
    [item] = reviews(world)
    assert item.reason == "similar"
    assert [c["key"] for c in item.candidates_json] == [str(company_id)]
    assert companies(world) == 1


def test_the_sync_filter_is_respected(world: World) -> None:
    wholesale = FilterRestriction(field="customer_group", operator=Operator.ONE_OF, values=("WHOLESALE",))
    switch_on(world, "email", sync_filter=SyncFilter(erp=(wholesale,)))
    outside = world.erp_customer(name="Retail", customer_group="RETAIL")
    inside = world.erp_customer(name="Wholesale", customer_group="WHOLESALE")
    world.cycle()
    assert linked_entity(world, outside) is None
    assert linked_entity(world, inside) is not None
    assert companies(world) == 1


# --- CRM -> ERP ------------------------------------------------------------------------------------------------------


def test_a_new_crm_company_becomes_an_erp_customer_with_the_defaults(world: World) -> None:
    from erpsync.sync.mapping import FieldDefault

    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    world.config = world.config.model_copy(
        update={"defaults": {CUSTOMER: {"customer_group": FieldDefault(value="WHOLESALE")}}}
    )
    world.cycle()  # the feeds start
    company_id = world.crm_company(NAME="Crmco", EMAIL="hi@crmco.example")
    world.cycle()
    with world.database.read_session() as session:
        erp_key = session.scalar(select(ErpLink.erp_key).where(ErpLink.entity_id == company_id))
    assert erp_key is not None
    values = world.erp_values(erp_key)
    assert (values["name"], values["email"], values["customer_group"]) == ("Crmco", "hi@crmco.example", "WHOLESALE")
    world.cycle()
    world.crm_update(company_id, PHONE="+45 1111")
    world.cycle()
    assert world.erp_values(erp_key)["phone"] == "+45 1111"


def test_a_new_crm_company_links_to_the_erp_customer_it_matches(world: World) -> None:
    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    erp_key = world.erp_customer(name="Erpco", email="hi@erpco.example")
    world.cycle()
    company_id = world.crm_company(NAME="Erpco ApS", EMAIL="HI@erpco.example")
    world.cycle()
    assert linked_entity(world, erp_key) == company_id


# --- the review list --------------------------------------------------------------------------------------------------


def _twins(world: World) -> tuple[int, int, str, AutoReview]:
    first = world.crm_company(NAME="Twin", EMAIL="twin@example.com")
    second = world.crm_company(NAME="Other", EMAIL="twin@example.com")
    switch_on(world, "email")
    erp_key = world.erp_customer(name="Twin", email="twin@example.com")
    world.cycle()
    [item] = reviews(world)
    return first, second, erp_key, item


def test_review_link_to_a_candidate(world: World) -> None:
    _, second, erp_key, item = _twins(world)
    view = auto_reviews.decide(
        world.engine, world.connection_id, item.id, auto_reviews.ReviewAction.LINK, candidate=str(second), by=None
    )
    assert view.status == "linked"
    assert linked_entity(world, erp_key) == second
    assert world.crm_values(second)["NAME"] == "Twin"
    with pytest.raises(ConflictError):  # decided already
        auto_reviews.ignore_item(world.database, world.connection_id, item.id, by=None)


def test_review_link_refuses_a_record_that_is_not_a_candidate(world: World) -> None:
    _, _, erp_key, item = _twins(world)
    stranger = world.crm_company(NAME="Stranger")
    with pytest.raises(ValidationError):
        auto_reviews.decide(
            world.engine, world.connection_id, item.id, auto_reviews.ReviewAction.LINK, candidate=str(stranger), by=None
        )
    assert linked_entity(world, erp_key) is None


def test_review_create_new(world: World) -> None:
    first, second, erp_key, item = _twins(world)
    auto_reviews.decide(world.engine, world.connection_id, item.id, auto_reviews.ReviewAction.CREATE, by=None)
    entity_id = linked_entity(world, erp_key)
    assert entity_id not in (None, first, second)
    assert companies(world) == 3


def test_review_ignore_is_remembered(world: World) -> None:
    _, _, erp_key, item = _twins(world)
    auto_reviews.ignore_item(world.database, world.connection_id, item.id, by=None)
    world.erp_update(erp_key, phone="+45 2222")  # in the change feed again
    world.cycle()
    assert linked_entity(world, erp_key) is None
    [again] = reviews(world)
    assert again.status == "ignored"
    with world.database.read_session() as session:
        assert auto_reviews.list_reviews(session, world.connection_id) == []


# --- the preview ------------------------------------------------------------------------------------------------------


def _outcome(world: World) -> tuple[int, int, int]:
    """(links, CRM companies, open review items)."""
    with world.database.read_session() as session:
        link_count = int(session.scalar(select(func.count()).select_from(ErpLink)) or 0)
    return link_count, companies(world), sum(item.status == "open" for item in reviews(world))


def test_the_preview_counts_what_a_run_then_does_erp_to_crm(world: World) -> None:
    world.crm_company(NAME="Linked by email", EMAIL="one@example.com")
    world.crm_company(NAME="Twin", EMAIL="twin@example.com")
    world.crm_company(NAME="Twin too", EMAIL="twin@example.com")
    world.crm_company(NAME="Similar A/S")
    world.erp_customer(name="One", email="one@example.com")
    world.erp_customer(name="Twin", email="twin@example.com")
    world.erp_customer(name="similar", email="similar@example.com")
    world.erp_customer(name="Brand new", email="new@example.com")
    world.erp_customer(name="Retail", email="retail@example.com", customer_group="RETAIL")
    wholesale = FilterRestriction(field="customer_group", operator=Operator.NOT_ONE_OF, values=("RETAIL",))
    switch_on(world, direction=AutoDirection.OFF, sync_filter=SyncFilter(erp=(wholesale,)))
    before = _outcome(world)
    found = auto_config.preview(
        world.engine, world.connection_id, CUSTOMER, AutoCreate(direction="erp_to_crm", match=("email",))
    )
    assert _outcome(world) == before  # nothing written
    preview = found.erp_to_crm
    assert (preview.created, preview.linked, preview.review, preview.stopped) == (1, 1, 2, 1)
    assert found.crm_to_erp.checked == 0
    switch_on(world, "email", sync_filter=SyncFilter(erp=(wholesale,)))
    [run] = world.cycle()
    links_after, companies_after, open_after = _outcome(world)
    assert links_after - before[0] == preview.created + preview.linked
    assert companies_after - before[1] == preview.created
    assert open_after == preview.review
    assert (run.counts.auto_created, run.counts.auto_linked, run.counts.to_review) == (1, 1, 2)  # counted in the run


def test_the_preview_counts_what_a_run_then_does_crm_to_erp(world: World) -> None:
    world.erp_customer(name="Erpco", email="hi@erpco.example")
    world.erp_customer(name="Lookalike", email="look@example.com")
    world.crm_company(NAME="Erpco", EMAIL="hi@erpco.example")
    world.crm_company(NAME="LOOKALIKE A/S", EMAIL="other@example.com")
    world.crm_company(NAME="Brand new", EMAIL="new@example.com")
    found = auto_config.preview(
        world.engine, world.connection_id, CUSTOMER, AutoCreate(direction="crm_to_erp", match=("email",))
    )
    preview = found.crm_to_erp
    assert (preview.created, preview.linked, preview.review, preview.stopped) == (1, 1, 1, 0)
    assert found.erp_to_crm.checked == 0
    before = _outcome(world)
    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    [run] = world.cycle()
    links_after, companies_after, open_after = _outcome(world)
    assert links_after - before[0] == preview.created + preview.linked
    assert companies_after == before[1]
    assert open_after == preview.review
    assert (run.counts.auto_created, run.counts.auto_linked, run.counts.to_review) == (1, 1, 1)  # counted in the run
    again = world.cycle()[0].counts  # nothing new: nothing counted again
    assert (again.auto_created, again.auto_linked, again.to_review) == (0, 0, 0)


def test_a_bad_match_key_is_refused(world: World) -> None:
    with pytest.raises(ValidationError, match="not a match key"):
        auto_config.preview(
            world.engine, world.connection_id, CUSTOMER, AutoCreate(direction="both", match=("shoe_size",))
        )


# --- persons wait for their company -----------------------------------------------------------------------------------

PERSON = ActorType.PERSON


def _with_persons(world: World, direction: AutoDirection) -> None:
    rows = tuple(
        FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH)
        for erp, crm in (("first_name", "FIRSTNAME"), ("last_name", "LASTNAME"), ("email", "EMAIL"))
    )
    persons = ActorTypeMapping(
        actor_type=PERSON, active=True, fields=rows, auto_create=AutoCreate(direction=direction, match=("email",))
    )
    world.config = world.config.model_copy(update={"mappings": {**world.config.mappings, PERSON: persons}})


def test_an_erp_person_waits_for_its_company_then_follows_it(world: World) -> None:
    _with_persons(world, AutoDirection.ERP_TO_CRM)
    company_key = world.erp_customer(name="Parentco", email="p@parent.example")
    person = NewRecord(
        values={"first_name": "Ada", "last_name": "Lovelace"}, parent_key=company_key, parent_type=CUSTOMER
    )
    person_key = world.sample.erp.create_actor(COMPANY, PERSON, person)
    world.cycle()
    [waiting] = reviews(world)
    assert (waiting.record_key, waiting.status) == (person_key, "waiting")
    switch_on(world, "email")
    world.erp_update(company_key, phone="+45 3333")  # the company is created now; the person follows in the same run
    world.cycle()
    company_id = linked_entity(world, company_key)
    with world.database.read_session() as session:
        person_link = session.scalar(
            select(ErpLink).where(ErpLink.erp_key == person_key, ErpLink.actor_type == "person")
        )
        assert person_link is not None
        assert read_record(session, EntityType.PERSON, person_link.entity_id).company_id == company_id
    assert reviews(world) == []


def test_a_crm_person_waits_for_its_company_then_follows_it(world: World) -> None:
    _with_persons(world, AutoDirection.CRM_TO_ERP)
    world.cycle()
    company_id = world.crm_company(NAME="Crm parent", EMAIL="c@parent.example")
    with world.database.session() as session:
        values = {"FIRSTNAME": "Grace", "LASTNAME": "Hopper"}
        person_id = create_record(session, EntityType.PERSON, values, changed_by="user:1", company_id=company_id).id
    world.cycle()
    [waiting] = reviews(world)
    assert (waiting.record_key, waiting.status, waiting.side) == (str(person_id), "waiting", "crm")
    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    world.crm_update(company_id, PHONE="+45 4444")  # the company is created now; the person follows in the same run
    world.cycle()
    with world.database.read_session() as session:
        person_key = session.scalar(
            select(ErpLink.erp_key).where(ErpLink.entity_id == person_id, ErpLink.actor_type == "person")
        )
        company_key = session.scalar(
            select(ErpLink.erp_key).where(ErpLink.entity_id == company_id, ErpLink.actor_type == "customer")
        )
    assert person_key is not None
    assert company_key is not None
    found = world.sample.erp.fetch(COMPANY, PERSON, [person_key], [])[person_key]
    assert found.parent_key == company_key
    assert reviews(world) == []


# --- more rules -----------------------------------------------------------------------------------------------------


def test_a_match_linked_to_another_record_goes_to_review(world: World) -> None:
    company_id, _, _ = world.linked_pair(email="same@example.com")
    switch_on(world, "email")
    twin = world.erp_customer(name="Acme again", email="same@example.com")
    world.cycle()
    assert linked_entity(world, twin) is None
    [item] = reviews(world)
    assert (item.reason, [c["key"] for c in item.candidates_json]) == ("taken", [str(company_id)])


def test_a_missing_mandatory_value_stops_a_create_in_the_erp(world: World) -> None:
    from erpsync.sync.mapping import FieldDefault

    mandatory = {CUSTOMER: {"customer_group": FieldDefault(mandatory=True)}}
    world.config = world.config.model_copy(update={"defaults": mandatory})
    world.crm_company(NAME="No group", EMAIL="ng@example.com")
    auto = AutoCreate(direction=AutoDirection.CRM_TO_ERP, match=("email",))
    preview = auto_config.preview(world.engine, world.connection_id, CUSTOMER, auto).crm_to_erp
    assert (preview.created, preview.stopped) == (0, 1)
    assert any("customer_group is mandatory" in reason for reason in preview.stop_reasons)
    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    world.cycle()
    with world.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ErpLink)) == 0


def _crm_review(world: World, name: str, crm_name: str) -> tuple[str, int, AutoReview]:
    erp_key = world.erp_customer(name=name, email=f"{name.lower()}@erp.example")
    switch_on(world, "email", direction=AutoDirection.CRM_TO_ERP)
    world.cycle()
    company_id = world.crm_company(NAME=crm_name, EMAIL=f"{name.lower()}@crm.example")
    world.cycle()
    [item] = [item for item in reviews(world) if item.record_key == str(company_id)]
    assert (item.side, item.reason, [c["key"] for c in item.candidates_json]) == ("crm", "similar", [erp_key])
    return erp_key, company_id, item


def test_review_of_a_crm_record_links_it_to_the_erp_candidate(world: World) -> None:
    erp_key, company_id, item = _crm_review(world, "Lookalike", "LOOKALIKE A/S")
    auto_reviews.decide(
        world.engine, world.connection_id, item.id, auto_reviews.ReviewAction.LINK, candidate=erp_key, by=None
    )
    assert linked_entity(world, erp_key) == company_id


def test_review_of_a_crm_record_creates_it_in_the_erp(world: World) -> None:
    erp_key, company_id, item = _crm_review(world, "Lookalike", "LOOKALIKE A/S")
    auto_reviews.decide(world.engine, world.connection_id, item.id, auto_reviews.ReviewAction.CREATE, by=None)
    with world.database.read_session() as session:
        created = session.scalar(select(ErpLink.erp_key).where(ErpLink.entity_id == company_id))
    assert created not in (None, erp_key)
    assert world.erp_values(str(created))["name"] == "LOOKALIKE A/S"
