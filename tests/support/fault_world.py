"""A hub, the sample connector behind a fault proxy (real TCP on loopback), one active connection whose mapping is
stored in the database (so a separate process can run its cycles), the scenarios the fault tests share and the checks
that a run has converged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record, write_record
from erpsync.crypto import Cipher
from erpsync.protocol.models import Actor, ActorType, Value
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpLink, SyncEvent, SyncLock, SyncRun, utcnow
from erpsync.sync import configuration, creates, links
from erpsync.sync import engine as sync_engine
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine
from erpsync.testing.fault_proxy import FaultProxy, running_fault_proxy
from erpsync.testing.sample import COMPANY, RunningSample, running_sample
from support.linking import link_company

CUSTOMER = ActorType.CUSTOMER
CLIENT_TIMEOUT = 1.0  # short, so a delayed answer times out quickly
SYNCED = {"name": "NAME", "email": "EMAIL", "phone": "PHONE"}

Tally = Callable[[int], None]
"""The ``tally`` fixture of tests/faults: called with the number of faults a test injected, once it converged."""


def customer_mapping() -> ActorTypeMapping:
    rows = tuple(FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH) for erp, crm in SYNCED.items())
    return ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)


@dataclass(frozen=True)
class Pair:
    company_id: int
    erp_key: str
    link_id: int


@dataclass
class FaultWorld:
    database: Database
    sample: RunningSample
    proxy: FaultProxy
    clients: ConnectorClients
    cipher_key: str
    connection_id: int

    @property
    def engine(self) -> Engine:
        return Engine(self.database, self.clients)

    def cycle(self) -> list[sync_engine.RunSummary]:
        return sync_engine.run_cycle(self.engine)

    # --- the ERP side ---------------------------------------------------------------------------------------------

    def erp_customer(self, **values: Value) -> str:
        return self.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values=values))

    def erp_update(self, key: str, **values: Value) -> None:
        self.sample.erp.update_actor(COMPANY, CUSTOMER, key, values)

    def erp_values(self, key: str) -> dict[str, Value]:
        actor = self.sample.erp.fetch(COMPANY, CUSTOMER, [key], list(ORGANISATION.fields))[key]
        return {field: actor.fields.get(field) for field in SYNCED}

    def erp_count(self) -> int:
        return self.sample.erp.count(CUSTOMER, COMPANY)

    # --- the CRM side ---------------------------------------------------------------------------------------------

    def crm_company(self, **values: Any) -> int:
        with self.database.session() as session:
            return create_record(session, EntityType.COMPANY, values, changed_by="user:1").id

    def crm_update(self, company_id: int, **values: Any) -> None:
        with self.database.session() as session:
            write_record(session, EntityType.COMPANY, company_id, values, changed_by="user:1")

    def crm_values(self, company_id: int) -> dict[str, Any]:
        with self.database.read_session() as session:
            values = read_record(session, EntityType.COMPANY, company_id).values
        return {crm: values.get(crm) for crm in SYNCED.values()}

    # --- links ----------------------------------------------------------------------------------------------------

    def linked_pairs(self, count: int) -> list[Pair]:
        """``count`` CRM companies and ERP customers with the same values, linked, agreed, and a first cycle."""
        pairs = []
        for n in range(count):
            values: dict[str, Value] = {"name": f"Acme {n}", "email": f"{n}@acme.example", "phone": f"+45 {n:04}"}
            erp_key = self.erp_customer(**values)
            company_id = self.crm_company(**{SYNCED[key]: value for key, value in values.items()})
            link_id = link_company(self.database, self.connection_id, company_id, erp_key, values)
            pairs.append(Pair(company_id, erp_key, link_id))
        self.cycle()
        return pairs

    def failing_links(self) -> list[ErpLink]:
        with self.database.read_session() as session:
            return links.failing_links(session, self.connection_id)

    def settle(self, *, cycles: int = 3) -> None:
        """What an operator does after an outage: a few cycles, and *retry* on every record parked as failing."""
        for _ in range(cycles):
            self.cycle()
            for link in self.failing_links():
                sync_engine.retry_link(self.engine, self.connection_id, link.id)

    def expire_leases(self) -> None:
        """Fast-forward past the lease TTL: a holder killed with ``kill -9`` never releases its lease."""
        with self.database.session() as session:
            session.execute(update(SyncLock).values(expires_at=utcnow() - timedelta(seconds=1)))

    # --- what the history shows -----------------------------------------------------------------------------------

    def error_reasons(self, *, after_run: int = 0) -> list[str]:
        """The typed reasons of every failure recorded after ``after_run``: runs' reasons and records' errors."""
        with self.database.read_session() as session:
            runs = session.scalars(select(SyncRun.error_reason).where(SyncRun.id > after_run)).all()
            events = session.scalars(select(SyncEvent.errors_json).where(SyncEvent.run_id > after_run)).all()
        return [reason for reason in runs if reason] + [error["reason"] for errors in events for error in errors]

    def last_run_id(self) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(func.max(SyncRun.id))) or 0)

    def counts(self) -> tuple[int, int, int]:
        """(ERP customers, CRM companies, links): what must never grow under faults."""
        with self.database.read_session() as session:
            companies = int(session.scalar(select(func.count()).select_from(Company)) or 0)
            link_count = int(session.scalar(select(func.count()).select_from(ErpLink)) or 0)
        return self.erp_count(), companies, link_count


@contextmanager
def fault_world(database: Database, folder: Path) -> Iterator[FaultWorld]:
    with running_sample(folder / "sample") as sample, running_fault_proxy(sample.url) as proxy:
        key = Fernet.generate_key()
        clients = hub_clients(database, Cipher(key), timeout=CLIENT_TIMEOUT)
        try:
            connection_id = _active_connection(database, clients, sample, proxy.url)
            yield FaultWorld(database, sample, proxy, clients, key.decode(), connection_id)
        finally:
            clients.close()


def _active_connection(database: Database, clients: ConnectorClients, sample: RunningSample, url: str) -> int:
    with database.session() as session:
        connector = add_connector(session, clients, name="Sample", url=url, secret=sample.secret)
        draft = ConnectionDraft(name="Main", connector_id=connector.id, config=sample.config)
        connection = create_connection(session, clients, draft)
        configuration.save_mapping(session, connection, customer_mapping(), erp_lists={})
        connection.active = True
        return connection.id


# --- scenarios and checks shared by the fault tests ------------------------------------------------------------


def change_both_sides(world: FaultWorld, pairs: list[Pair]) -> dict[int, dict[str, str]]:
    """ERP changes on the first two pairs, CRM changes on the other two; the values every side must end with."""
    world.erp_update(pairs[0].erp_key, email="0@erp.example")
    world.erp_update(pairs[1].erp_key, phone="+46 1111")
    world.crm_update(pairs[2].company_id, EMAIL="2@crm.example")
    world.crm_update(pairs[3].company_id, PHONE="+47 3333")
    expected = {
        n: {"name": f"Acme {n}", "email": f"{n}@acme.example", "phone": f"+45 {n:04}"} for n in range(len(pairs))
    }
    expected[0]["email"], expected[1]["phone"] = "0@erp.example", "+46 1111"
    expected[2]["email"], expected[3]["phone"] = "2@crm.example", "+47 3333"
    return expected


def assert_converged(world: FaultWorld, pairs: list[Pair], expected: dict[int, dict[str, str]]) -> None:
    for n, pair in enumerate(pairs):
        assert world.erp_values(pair.erp_key) == expected[n]
        crm = world.crm_values(pair.company_id)
        assert crm == {"NAME": expected[n]["name"], "EMAIL": expected[n]["email"], "PHONE": expected[n]["phone"]}
    assert world.failing_links() == []


def create_newco(world: FaultWorld, company_id: int) -> creates.Created:
    """*Create in ERP* of the CRM company ``company_id`` as the customer "Newco"."""
    return creates.create_actor(
        world.database,
        world.clients,
        connection_id=world.connection_id,
        entity_type=EntityType.COMPANY,
        entity_id=company_id,
        actor=Actor(actor_type=CUSTOMER, fields={"name": "Newco", "email": "hi@newco.example"}),
        agreed={"name": "Newco", "email": "hi@newco.example"},
    )
