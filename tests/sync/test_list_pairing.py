"""Lists map themselves where the keys agree: a fresh hub's country list is ISO 3166-1, and a mapping that starts to
sync country pairs the ERP's countries with it by ISO code, so country syncs with no list mapped by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from erpsync import administration
from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import countries, lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import read_record
from erpsync.crypto import Cipher
from erpsync.protocol.models import ActorType, ListItem
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, ErpConnection
from erpsync.sync import configuration_loading, configure, imports, links
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping, pair_by_code
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine
from erpsync.testing.sample import COMPANY, RunningSample, running_sample

CUSTOMER = ActorType.CUSTOMER


def test_a_fresh_hub_fills_its_country_list_from_iso_3166_once(database: Database) -> None:
    with database.sessions() as session:
        assert administration.fill_countries(session, by=None, via="cli") == 249
        assert administration.fill_countries(session, by=None, via="cli") == 0  # used: left as it is
    with database.read_session() as session:
        labels = [item.label for item in lists.list_items(session, CrmList.COUNTRY)]
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target_type == "list:country")).all()
    assert len(labels) == 249
    assert {"Denmark", "Germany", "United States", "Åland Islands"} <= set(labels)
    assert [entry.action for entry in audit] == ["fill"]


def test_a_used_country_list_is_not_filled(database: Database) -> None:
    with database.sessions() as session:
        administration.add_list_item(session, "country", label="Danmark", by=None)
        assert administration.fill_countries(session, by=None) == 0


def test_a_crm_country_is_known_by_its_english_or_danish_name() -> None:
    assert countries.country_codes({1: "Denmark", 2: "TYSKLAND", 3: "Narnia"}) == {1: "DK", 2: "DE"}
    assert countries.iso_countries("da")["DE"] == "Tyskland"


def test_erp_items_pair_with_crm_items_of_their_code_each_once() -> None:
    erp = [ListItem(key="1", label="Danemark", code="dk"), ListItem(key="2", label="DK again", code="DK")]
    erp += [ListItem(key="3", label="Atlantis", code="XX"), ListItem(key="4", label="No code")]
    paired = pair_by_code("countries", CrmList.COUNTRY, erp, {10: "DK", 11: "SE"})
    assert paired is not None
    assert paired.items == {"1": 10, "2": None, "3": None, "4": None}
    assert pair_by_code("countries", CrmList.COUNTRY, [ListItem(key="1", label="Denmark")], {10: "DK"}) is None
    assert pair_by_code("countries", CrmList.COUNTRY, erp, {}) is None  # nothing agrees: left to the administrator


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


@pytest.fixture
def clients(database: Database) -> Iterator[ConnectorClients]:
    opened = hub_clients(database, Cipher(Fernet.generate_key()), timeout=10)
    yield opened
    opened.close()


def mapping(*, country: str = "COUNTRY") -> ActorTypeMapping:
    crm = {"name": "NAME", "country": country}
    rows = tuple(FieldMapping(erp_field=key, crm_field=crm[key], direction=Direction.BOTH) for key in crm)
    return ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)


def connect(database: Database, clients: ConnectorClients, sample: RunningSample) -> int:
    with database.session() as session:
        connector = add_connector(session, clients, name="Sample", url=sample.url, secret=sample.secret)
        draft = ConnectionDraft(name="Main", connector_id=connector.id, config=sample.config)
        return create_connection(session, clients, draft).id


def test_a_fresh_hub_syncs_country_with_no_list_mapped_by_hand(
    database: Database, clients: ConnectorClients, sample: RunningSample
) -> None:
    with database.sessions() as session:
        administration.fill_countries(session, by=None)
    connection_id = connect(database, clients, sample)
    with database.sessions() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        configure.save_mapping(session, clients, connection, mapping(), by=None)
        configure.activate(session, clients, connection, by=None)
        paired = configuration_loading.load_config(session, connection).list_mappings["country"]
        germany = next(i.id for i in lists.list_items(session, CrmList.COUNTRY) if i.label == "Germany")
    assert paired.items["DE"] == germany
    key = sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values={"name": "Berlin GmbH", "country": "DE"}))
    engine = Engine(database, clients)
    job = imports.start_import(engine, connection_id, CUSTOMER, erp_keys=[key])
    done = imports.run_import(engine, job.id)
    assert done is not None
    assert done.created == 1
    with database.read_session() as session:
        company = links.links_by_erp_key(session, connection_id, CUSTOMER, [key])[key].entity_id
        assert read_record(session, EntityType.COMPANY, company).values["COUNTRY"] == germany


def test_a_list_mapped_by_hand_is_left_as_it_is(
    database: Database, clients: ConnectorClients, sample: RunningSample
) -> None:
    connection_id = connect(database, clients, sample)
    with database.sessions() as session:
        denmark = lists.add_item(session, CrmList.COUNTRY, label="Denmark").id
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        erp_lists = configure.erp_lists(session, clients, connection, {"country"})
        by_hand = ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items={"DK": None})
        configure.save_list_mappings(
            session, clients, connection, {"country": by_hand}, by=None, known_erp_lists=erp_lists
        )
        configure.save_mapping(session, clients, connection, mapping(), by=None)
        assert configuration_loading.load_config(session, connection).list_mappings["country"].items == {"DK": None}
    assert denmark
