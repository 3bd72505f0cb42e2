"""``sync.configuration`` against a real database and the sample connector: what ``load_config`` gives the engine,
auto-mapping, and saves that change nothing when refused or when the connector cannot answer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from erpsync.connectors.sample.fields import LISTS
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.crypto import Cipher, key_from_secret
from erpsync.errors import ValidationError
from erpsync.protocol.models import ActorType, ListItem
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncActorMapping
from erpsync.sync import configuration, configuration_loading, connections, connectors
from erpsync.sync.configuration import ConfigurationRefusedError
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ActorTypeMapping, FieldDefault, FieldMapping, ListMapping
from erpsync.sync.merge import Direction, Policy
from erpsync.testing.db import database, postgres_url, sqlite_template
from erpsync.testing.sample import RunningSample, running_sample

__all__ = ["database", "postgres_url", "sqlite_template"]


@dataclass
class World:
    database: Database
    clients: ConnectorClients
    sample: RunningSample
    connection_id: int

    def erp_lists(self) -> dict[str, list[ListItem]]:
        with self.database.read_session() as session:
            connection = self.connection(session)
            names = configuration_loading.erp_list_names(connection)
        return configuration_loading.read_erp_lists(self.clients, connection, names)

    def connection(self, session: Session) -> ErpConnection:
        connection = session.get(ErpConnection, self.connection_id)
        assert connection is not None
        return connection


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    clients = connections.hub_clients(database, Cipher(key_from_secret("configuration tests " * 2)))
    with running_sample(tmp_path / "sample") as sample:
        with database.session() as session:
            connector = connectors.add_connector(session, clients, name="Sample", url=sample.url, secret=sample.secret)
            draft = connections.ConnectionDraft(name="Main", connector_id=connector.id, config=sample.config)
            connection_id = connections.create_connection(session, clients, draft).id
        yield World(database, clients, sample, connection_id)
    clients.close()


def _customer(*rows: FieldMapping, active: bool = True) -> ActorTypeMapping:
    return ActorTypeMapping(actor_type=ActorType.CUSTOMER, active=active, fields=rows)


def test_load_config_gives_the_engine_every_saved_part(world: World) -> None:
    with world.database.session() as session:
        connection = world.connection(session)
        denmark = crm_lists.add_item(session, CrmList.COUNTRY, label="Denmark").id
        rows = (
            FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH, policy=Policy.CRM),
            FieldMapping(erp_field="country", crm_field="COUNTRY", direction=Direction.TO_CRM),
        )
        configuration.save_mapping(session, connection, _customer(*rows), erp_lists={})
        countries = ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items={"DK": denmark, "SE": None})
        configuration.save_list_mappings(session, connection, {"country": countries}, erp_lists=world.erp_lists())
        defaults = {"name": FieldDefault(ask_user=True), "currency": FieldDefault(value="DKK")}
        configuration.save_defaults(session, connection, ActorType.CUSTOMER, defaults, erp_lists={})
        configuration.save_policy(session, connection, policy=Policy.ERP, no_blank_overwrite=True)

    with world.database.read_session() as session:
        config = configuration_loading.load_config(session, world.connection(session))
    customer = config.mappings[ActorType.CUSTOMER]
    assert customer.active is True
    assert [(row.erp_field, row.crm_field, row.direction, row.policy) for row in customer.fields] == [
        ("name", "NAME", Direction.BOTH, Policy.CRM),
        ("country", "COUNTRY", Direction.TO_CRM, None),
    ]
    assert config.list_mappings == {"country": countries}
    assert config.defaults[ActorType.CUSTOMER] == {
        "name": FieldDefault(ask_user=True, mandatory=True),  # the sample ERP requires a name
        "currency": FieldDefault(value="DKK"),
    }
    assert (config.policy, config.no_blank_overwrite) == (Policy.ERP, True)
    assert config.mappings[ActorType.PERSON].active is False  # auto-mapped on create, switched off


def test_auto_mapping_again_adds_only_what_is_new_and_keeps_edits(world: World) -> None:
    with world.database.session() as session:
        connection = world.connection(session)
        edited = _customer(FieldMapping(erp_field="email", crm_field="NAME", direction=Direction.TO_CRM))
        configuration.save_mapping(session, connection, edited, erp_lists={})
        configuration.auto_map_connection(session, connection)
        fields = configuration_loading.mapping_of(session, connection, ActorType.CUSTOMER).fields
    by_key = {row.erp_field: row for row in fields}
    assert len(fields) == len(by_key)
    assert by_key["email"].crm_field == "NAME"
    assert by_key["name"].crm_field is None  # NAME is taken by the edited row
    assert by_key["org_number"].crm_field == "NUMBER1"
    assert {row.direction for key, row in by_key.items() if key != "email"} == {Direction.NONE}


def test_a_refused_save_writes_nothing(world: World) -> None:
    with world.database.session() as session:
        connection = world.connection(session)
        before = configuration_loading.load_config(session, connection)
        broken = _customer(FieldMapping(erp_field="created", crm_field="NAME", direction=Direction.BOTH))
        with pytest.raises(ConfigurationRefusedError) as refused:
            configuration.save_mapping(session, connection, broken, erp_lists={})
        assert [problem.field for problem in refused.value.problems] == ["created", "created"]
    with world.database.read_session() as session:
        assert configuration_loading.load_config(session, world.connection(session)) == before


def test_the_parsed_configuration_is_kept_until_a_change_another_process_makes_is_seen_at_once(world: World) -> None:
    with world.database.read_session() as session:
        first = configuration_loading.load_config(session, world.connection(session))
        offered = configuration_loading.offered_fields(world.connection(session))
    with world.database.read_session() as session:
        assert (
            configuration_loading.load_config(session, world.connection(session)) is first
        )  # parsed once, not per request
        assert configuration_loading.offered_fields(world.connection(session)) == offered
    # Another process (as a second web process or a Dramatiq worker would) changes the policy and a mapping.
    script = """
import sys
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncActorMapping
from erpsync.sync import configuration
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction, Policy
database = Database(sys.argv[1])
with database.session() as session:
    connection = session.get_one(ErpConnection, int(sys.argv[2]))
    configuration.save_policy(session, connection, policy=Policy.ERP, no_blank_overwrite=True)
    row = FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH)
    mapping = ActorTypeMapping(actor_type="customer", active=True, fields=(row,))
    configuration.save_mapping(session, connection, mapping, erp_lists={})
database.dispose()
"""
    subprocess.run(
        [sys.executable, "-c", script, world.database.url, str(world.connection_id)], check=True, timeout=120
    )
    with world.database.read_session() as session:
        changed = configuration_loading.load_config(session, world.connection(session))
    assert (changed.policy, changed.no_blank_overwrite) == (Policy.ERP, True)
    assert [(row.erp_field, row.crm_field) for row in changed.mappings[ActorType.CUSTOMER].fields] == [("name", "NAME")]
    assert (first.policy, first.mappings[ActorType.CUSTOMER].active) == (Policy.NEWEST, False)  # kept as it was


def test_a_change_rolled_back_leaves_the_configuration_it_found(world: World) -> None:
    with world.database.read_session() as session:
        before = configuration_loading.load_config(session, world.connection(session))
    with world.database.session() as session:
        connection = world.connection(session)
        with configuration.changing(connection):
            session.get_one(SyncActorMapping, (connection.id, "customer")).active = True
            halfway = configuration_loading.load_config(session, connection)  # read in the middle of a change
        configuration.save_policy(session, connection, policy=Policy.CRM, no_blank_overwrite=True)
        assert (
            configuration_loading.load_config(session, connection).policy is Policy.CRM
        )  # its own change, seen at once
        assert halfway.mappings[ActorType.CUSTOMER].active is True
        session.rollback()
    with world.database.read_session() as session:
        assert configuration_loading.load_config(session, world.connection(session)) == before
    with world.database.session() as session:
        configuration.save_policy(session, world.connection(session), policy=Policy.ERP, no_blank_overwrite=False)
    with world.database.read_session() as session:
        after = configuration_loading.load_config(session, world.connection(session))
    assert after == before.model_copy(update={"policy": Policy.ERP})


def test_lists_are_read_from_the_connector_and_a_list_left_unread_refuses_the_save(world: World) -> None:
    erp_lists = world.erp_lists()
    assert set(erp_lists) == set(LISTS)
    assert [item.key for item in erp_lists["country"]] == [item.key for item in LISTS["country"]]
    countries = ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items={"DK": None})
    with world.database.session() as session, pytest.raises(ConfigurationRefusedError, match="unknown ERP item 'DK'"):
        configuration.save_list_mappings(session, world.connection(session), {"country": countries}, erp_lists={})
    with world.database.read_session() as session:
        assert configuration_loading.load_config(session, world.connection(session)).list_mappings == {}


def test_a_connector_that_cannot_answer_gives_a_clear_error(world: World) -> None:
    with world.database.session() as session:
        world.connection(session).connector.url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(ValidationError, match="did not answer with its list items"):
        world.erp_lists()


def test_a_mapping_for_a_type_the_connector_stopped_offering_stays_with_its_rows_missing(world: World) -> None:
    with world.database.session() as session:
        connection = world.connection(session)
        connection.actor_fields = [row for row in connection.actor_fields if row.actor_type != "project"]
    with world.database.session() as session:
        connection = world.connection(session)
        assert configuration_loading.erp_fields_of(session, connection, "project") == []
        stale = ActorTypeMapping(actor_type=ActorType.PROJECT, fields=(FieldMapping(erp_field="name"),))
        with pytest.raises(ConfigurationRefusedError, match="unknown ERP field 'name'"):
            configuration.save_mapping(session, connection, stale, erp_lists={})
        configuration.save_mapping(session, connection, ActorTypeMapping(actor_type=ActorType.PROJECT), erp_lists={})
    with world.database.read_session() as session:
        assert (
            configuration_loading.load_config(session, world.connection(session)).mappings[ActorType.PROJECT].fields
            == ()
        )
