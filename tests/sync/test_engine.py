"""The engine between the built-in CRM and the sample connector over real HTTP: two-way scenarios on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.crm.fields import EntityType
from erpsync.crm.service import delete_entity
from erpsync.storage.tables import ErpConnection, ErpLink, SyncEvent
from erpsync.sync import engine as sync_engine
from erpsync.sync import links
from erpsync.sync.connections import ConnectionDraft, create_connection
from erpsync.sync.merge import Direction, Policy
from erpsync.testing.sample import COMPANY
from support.sync_world import CUSTOMER, World, customer_mapping, organisation_fields

# --- one side, the other, both --------------------------------------------------------------------------------------


def test_an_erp_change_reaches_the_crm_and_does_not_echo(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, email="billing@acme.example")
    [summary] = world.cycle()
    assert summary.status == "ok"
    assert summary.counts.crm_writes == 1
    assert world.crm_values(company_id)["EMAIL"] == "billing@acme.example"
    assert world.get_link(link_id).agreed_json["email"] == "billing@acme.example"
    seq = world.crm_seq()
    [again] = world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)
    assert world.crm_seq() == seq


def test_a_crm_change_reaches_the_erp_and_does_not_echo(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    world.crm_update(company_id, EMAIL="sales@acme.example", COUNTRY=world.countries["SE"])
    [summary] = world.cycle()
    assert summary.counts.erp_writes == 1
    assert world.erp_values(erp_key)["email"] == "sales@acme.example"
    assert world.erp_values(erp_key)["country"] == "SE"
    stamp = world.sample.erp.fetch(COMPANY, CUSTOMER, [erp_key], organisation_fields())[erp_key].last_modified
    seq, events = world.crm_seq(), world.count(SyncEvent)
    [again] = world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)
    assert (world.crm_seq(), world.count(SyncEvent)) == (seq, events)
    assert world.sample.erp.fetch(COMPANY, CUSTOMER, [erp_key], organisation_fields())[erp_key].last_modified == stamp


def test_an_erp_list_value_arrives_as_the_paired_crm_item(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(country="DK")
    world.erp_update(erp_key, country="NO")
    world.cycle()
    assert world.crm_values(company_id)["COUNTRY"] == world.countries["NO"]


def test_an_unmapped_list_item_is_reported_on_the_record_and_the_rest_syncs(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(country="DK")
    world.erp_update(erp_key, country="FI", email="fi@acme.example")  # FI is paired with *no selection*
    [summary] = world.cycle()
    assert world.crm_values(company_id)["COUNTRY"] == world.countries["DK"]
    assert world.crm_values(company_id)["EMAIL"] == "fi@acme.example"
    link = world.get_link(link_id)
    assert (link.state, link.error_reason) == ("failing", "mapping")
    assert "FI" in (link.last_error or "")
    assert summary.status == "partial"


@pytest.mark.parametrize(("policy", "winner"), [(Policy.CRM, "crm"), (Policy.ERP, "erp"), (Policy.NEWEST, "crm")])
def test_a_conflict_is_settled_by_the_policy_and_logged(world: World, policy: Policy, winner: str) -> None:
    world.config = world.config.model_copy(update={"policy": policy})
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, email="erp@acme.example")
    world.crm_update(company_id, EMAIL="crm@acme.example")  # later than the ERP's change: newest is the CRM
    world.cycle()
    expected = f"{winner}@acme.example"
    assert world.crm_values(company_id)["EMAIL"] == expected
    assert world.erp_values(erp_key)["email"] == expected
    with world.database.read_session() as session:
        event = session.scalars(select(SyncEvent).where(SyncEvent.link_id == link_id).order_by(SyncEvent.id)).all()[-1]
        [change] = event.changes_json
    assert change["winner"] == winner
    assert change["reason"].startswith("conflict")
    assert (change["crm"], change["erp"]) == ("crm@acme.example", "erp@acme.example")


def test_the_blank_option_keeps_a_non_blank_value(world: World) -> None:
    world.config = world.config.model_copy(update={"no_blank_overwrite": True})
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, email="")
    world.cycle()
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"
    world.cycle()
    assert world.erp_values(erp_key)["email"] in (None, "")


def test_a_one_way_field_does_not_flow_back(world: World) -> None:
    world.config = world.config.model_copy(update={"mappings": {CUSTOMER: customer_mapping(phone=Direction.TO_CRM)}})
    company_id, erp_key, _ = world.linked_pair(phone="111")
    world.crm_update(company_id, PHONE="222")
    world.cycle()
    assert world.erp_values(erp_key)["phone"] == "111"
    world.erp_update(erp_key, phone="333")
    world.cycle()
    assert world.crm_values(company_id)["PHONE"] == "333"


def test_unlinked_records_are_left_alone(world: World) -> None:
    erp_key = world.erp_customer(email="x@acme.example")
    company_id = world.crm_company(EMAIL="y@acme.example")
    [summary] = world.cycle()
    assert summary.counts.records == 0
    assert world.crm_values(company_id)["EMAIL"] == "y@acme.example"
    assert world.erp_values(erp_key)["email"] == "x@acme.example"


# --- deletes and disconnect -----------------------------------------------------------------------------------------


def test_an_actor_deleted_in_the_erp_breaks_the_link_and_keeps_the_crm_record(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair()
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    [summary] = world.cycle()
    assert summary.counts.broken == 1
    assert world.get_link(link_id).state == "broken"
    assert world.crm_values(company_id)["NAME"] == "Acme"


def test_a_deleted_crm_entity_loses_its_links_and_nothing_is_deleted_in_the_erp(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair()
    with world.database.session() as session:
        delete_entity(session, EntityType.COMPANY, company_id, changed_by="user:1")
    world.cycle()
    with world.database.read_session() as session:
        assert session.get(ErpLink, link_id) is None
    assert world.erp_values(erp_key)["name"] == "Acme"


def test_after_disconnect_changes_no_longer_flow(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    with world.database.session() as session:
        links.remove_link(session, link_id)
    world.erp_update(erp_key, email="new@acme.example")
    world.cycle()
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"


# --- Sync now for one record ----------------------------------------------------------------------------------------


def test_sync_link_reports_what_changed_on_each_side(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example", phone="1")
    world.erp_update(erp_key, email="erp@acme.example")
    world.crm_update(company_id, PHONE="2")
    result = sync_engine.sync_link(world.engine, link_id)
    assert (result.changed_crm, result.changed_erp) == (["EMAIL"], ["phone"])
    assert result.errors == []
    assert result.conflicts == []
    assert world.erp_values(erp_key)["phone"] == "2"
    assert sync_engine.sync_link(world.engine, link_id).changed_crm == []


def _second_connection(world: World, company_id: int, *, email: str) -> str:
    """A second active connection, served after the first, with the company linked to another ERP customer."""
    with world.database.session() as session:
        first = session.get(ErpConnection, world.connection_id)
        assert first is not None
        draft = ConnectionDraft(name="Second", connector_id=first.connector_id, config=world.sample.config)
        second = create_connection(session, world.clients, draft)
        second.active, second.priority = True, first.priority + 1
        second_id = second.id
    second_key = world.erp_customer(email=email)
    with world.database.session() as session:
        links.create_link(
            session,
            connection_id=second_id,
            entity_type=EntityType.COMPANY,
            entity_id=company_id,
            actor_type=CUSTOMER,
            erp_key=second_key,
            agreed={"name": "Acme", "email": email},
        )
    return second_key


def test_a_second_connection_sees_the_first_ones_crm_writes(world: World) -> None:
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    second_key = _second_connection(world, company_id, email="a@acme.example")
    world.cycle()
    world.erp_update(erp_key, email="hub@acme.example")
    world.cycle()  # the first connection writes the CRM; the second one takes it from there
    assert world.erp_values(second_key)["email"] == "hub@acme.example"


def test_the_same_field_changed_from_two_connections_in_one_cycle_goes_to_the_higher_priority(world: World) -> None:
    world.config = world.config.model_copy(update={"policy": Policy.ERP})  # the policy alone would pick the 2nd ERP
    company_id, erp_key, _ = world.linked_pair(email="a@acme.example")
    second_key = _second_connection(world, company_id, email="a@acme.example")
    world.cycle()
    world.erp_update(erp_key, email="first@acme.example")
    world.sample.erp.update_actor(COMPANY, CUSTOMER, second_key, {"email": "second@acme.example"})
    world.cycle()
    assert world.crm_values(company_id)["EMAIL"] == "first@acme.example"
    assert world.erp_values(second_key)["email"] == "first@acme.example"
    with world.database.read_session() as session:
        reasons = [str(event.changes_json) for event in session.scalars(select(SyncEvent))]
    assert any("has a higher sync priority" in reason for reason in reasons)
