"""The engine between the built-in CRM and the sample connector over real HTTP: two-way scenarios on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import create_record, delete_entity, read_record, write_record
from erpsync.crypto import Cipher
from erpsync.protocol.models import ActorType, Value
from erpsync.storage.db import Database
from erpsync.storage.tables import ChangeCounter, ErpConnection, ErpLink, SyncEvent, SyncRun
from erpsync.sync import engine as sync_engine
from erpsync.sync import links
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.mapping import ActorTypeMapping, ConnectionConfig, FieldMapping, ListMapping
from erpsync.sync.merge import Direction, Policy
from erpsync.testing.db import database, postgres_url, sqlite_template  # noqa: F401
from erpsync.testing.sample import COMPANY, RunningSample, running_sample

CUSTOMER = ActorType.CUSTOMER


def customer_mapping(**overrides: Direction) -> ActorTypeMapping:
    directions = {"name": Direction.BOTH, "email": Direction.BOTH, "country": Direction.BOTH, "phone": Direction.BOTH}
    directions |= overrides
    crm = {"name": "NAME", "email": "EMAIL", "country": "COUNTRY", "phone": "PHONE"}
    rows = tuple(FieldMapping(erp_field=key, crm_field=crm[key], direction=d) for key, d in directions.items())
    return ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)


@dataclass
class World:
    """A hub database, the sample ERP behind real HTTP, one active connection and a mutable mapping config."""

    database: Database
    sample: RunningSample
    clients: ConnectorClients
    connection_id: int
    countries: dict[str, int]
    config: ConnectionConfig = field(default_factory=ConnectionConfig)

    @property
    def engine(self) -> sync_engine.Engine:
        return sync_engine.Engine(self.database, self.clients, load_config=lambda _session, _connection: self.config)

    def cycle(self) -> list[sync_engine.RunSummary]:
        return sync_engine.run_cycle(self.engine)

    def erp_customer(self, **values: Value) -> str:
        return self.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values={"name": "Acme", **values}))

    def erp_update(self, key: str, **values: Value) -> None:
        self.sample.erp.update_actor(COMPANY, CUSTOMER, key, values)

    def erp_values(self, key: str) -> dict[str, Value]:
        kind_fields = self.sample.connector.erp  # the ERP's own read, not the connector protocol
        actor = kind_fields.fetch(COMPANY, CUSTOMER, [key], _organisation_fields())[key]
        return dict(actor.fields)

    def crm_company(self, **values: Any) -> int:
        with self.database.session() as session:
            return create_record(session, EntityType.COMPANY, {"NAME": "Acme", **values}, changed_by="user:1").id

    def crm_update(self, company_id: int, **values: Any) -> None:
        with self.database.session() as session:
            write_record(session, EntityType.COMPANY, company_id, values, changed_by="user:1")

    def crm_values(self, company_id: int) -> dict[str, Any]:
        with self.database.read_session() as session:
            return read_record(session, EntityType.COMPANY, company_id).values

    def link(self, company_id: int, erp_key: str, agreed: dict[str, Value] | None = None) -> int:
        with self.database.session() as session:
            return links.create_link(
                session,
                connection_id=self.connection_id,
                entity_type=EntityType.COMPANY,
                entity_id=company_id,
                actor_type=CUSTOMER,
                erp_key=erp_key,
                agreed=agreed,
            ).id

    def linked_pair(self, **values: Value) -> tuple[int, str, int]:
        """A CRM company and an ERP customer with the same values, linked and agreed on them, and a first cycle."""
        erp_key = self.erp_customer(**values)
        crm_values = {k.upper(): self.countries[str(v)] if k == "country" else v for k, v in values.items()}
        company_id = self.crm_company(**crm_values)
        link_id = self.link(company_id, erp_key, agreed={"name": "Acme", **values})
        self.cycle()
        return company_id, erp_key, link_id

    def get_link(self, link_id: int) -> ErpLink:
        with self.database.read_session() as session:
            return links.get_link(session, link_id)

    def crm_seq(self) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(ChangeCounter.value)) or 0)

    def count(self, table: type[SyncEvent] | type[SyncRun]) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _organisation_fields() -> list[Any]:
    from erpsync.connectors.sample.fields import ORGANISATION

    return list(ORGANISATION.fields)


def build_world(database: Database, tmp_path: Path, **config: Value) -> Iterator[World]:  # noqa: F811
    with running_sample(tmp_path / "sample") as sample:
        sample.config.update(config)
        clients = hub_clients(database, Cipher(Fernet.generate_key()), timeout=5)
        with database.session() as session:
            connector = add_connector(session, clients, name="Sample", url=sample.url, secret=sample.secret)
            draft = ConnectionDraft(name="Main", connector_id=connector.id, config=sample.config)
            connection = create_connection(session, clients, draft)
            connection.active = True
            countries = {key: lists.add_item(session, CrmList.COUNTRY, label=key).id for key in ("DK", "SE", "NO")}
            connection_id = connection.id
        country_items: dict[str, int | None] = {**countries, "FI": None}
        config = ConnectionConfig(
            mappings={CUSTOMER: customer_mapping()},
            list_mappings={"country": ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items=country_items)},
        )
        try:
            yield World(database, sample, clients, connection_id, countries, config)
        finally:
            clients.close()


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    yield from build_world(database, tmp_path)


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
    stamp = world.sample.erp.fetch(COMPANY, CUSTOMER, [erp_key], _organisation_fields())[erp_key].last_modified
    seq, events = world.crm_seq(), world.count(SyncEvent)
    [again] = world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)
    assert (world.crm_seq(), world.count(SyncEvent)) == (seq, events)
    assert world.sample.erp.fetch(COMPANY, CUSTOMER, [erp_key], _organisation_fields())[erp_key].last_modified == stamp


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
