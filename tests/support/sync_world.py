"""The sync world: a hub database, the sample ERP behind real HTTP, one active connection and a mutable mapping
config, with the reads and writes on both sides that the engine's tests use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import create_record, read_record, write_record
from erpsync.crypto import Cipher
from erpsync.protocol.models import ActorType, Value
from erpsync.storage.db import Database
from erpsync.storage.tables import ChangeCounter, ErpLink, SyncEvent, SyncRun
from erpsync.sync import engine as sync_engine
from erpsync.sync import links
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.mapping import ActorTypeMapping, ConnectionConfig, FieldMapping, ListMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine
from erpsync.testing.sample import COMPANY, RunningSample, running_sample
from support.linking import link_company

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
    def engine(self) -> Engine:
        return Engine(self.database, self.clients, load_config=lambda _session, _connection: self.config)

    def cycle(self) -> list[sync_engine.RunSummary]:
        return sync_engine.run_cycle(self.engine)

    def erp_customer(self, **values: Value) -> str:
        return self.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values={"name": "Acme", **values}))

    def erp_update(self, key: str, **values: Value) -> None:
        self.sample.erp.update_actor(COMPANY, CUSTOMER, key, values)

    def erp_values(self, key: str) -> dict[str, Value]:
        kind_fields = self.sample.connector.erp  # the ERP's own read, not the connector protocol
        actor = kind_fields.fetch(COMPANY, CUSTOMER, [key], organisation_fields())[key]
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
        return link_company(self.database, self.connection_id, company_id, erp_key, agreed)

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


def organisation_fields() -> list[Any]:
    from erpsync.connectors.sample.fields import ORGANISATION

    return list(ORGANISATION.fields)


def build_world(database: Database, tmp_path: Path, **config: Value) -> Iterator[World]:
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
