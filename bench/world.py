"""What every scenario stands on: a sample ERP with N synthetic customers, the sample connector in its own process, a
hub database with active connections configured through the product's own functions, and (as setup, never measured)
N linked CRM companies inserted in bulk.

A ``Site`` is plain JSON, so the child process that measures a scenario can open the same files and URLs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import insert, select, update

from bench.connector_proc import CALLS_PATH
from erpsync.connectors.sample import ERP_FILE, SampleErp
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER, generate_synthetic
from erpsync.crm import lists
from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.crm.validation import clean_attrs
from erpsync.crypto import Cipher, key_from_secret
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.storage.tables import ChangeCounter, Company, ErpConnection, ErpLink, SyncWatermark, utcnow
from erpsync.sync import configuration, configuration_loading
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine, Pass, passes
from erpsync.testing.server import free_port

CUSTOMER = m.ActorType.CUSTOMER
PAGE_SIZE = 500  # records per page of changes: the import's page, and the largest the sample connector is set to
FAST_PASSWORD_ITERATIONS = 1_000  # the ERP login hash is not what we measure
CONNECTOR_START_SECONDS = 30.0
SETUP_ORIGIN = "bench:setup"

MAPPED = {
    "name": "NAME",
    "org_number": "NUMBER1",
    "email": "EMAIL",
    "phone": "PHONE",
    "postal_address1": "POSTALAD1",
    "postal_zip": "POSTALZIP",
    "postal_city": "POSTALCITY",
    "country": "COUNTRY",
}
"""The customer fields a benchmark connection syncs both ways (the synthetic customers fill all but the phone)."""


@dataclass(frozen=True)
class Site:
    """A benchmark's ERP folder, connector, hub database and connections."""

    folder: str
    connector_url: str
    connector_secret: str
    database_url: str
    cipher_key: str
    connection_ids: list[int]
    erp_companies: list[str]

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: Path) -> Site:
        return cls(**json.loads(path.read_text()))

    def database(self) -> Database:
        return Database(self.database_url)

    def clients(self, database: Database) -> ConnectorClients:
        return hub_clients(database, Cipher(key_from_secret(self.cipher_key)), timeout=120)

    def erp(self) -> SampleErp:
        return SampleErp(Path(self.folder) / ERP_FILE)

    def calls(self) -> dict[str, int]:
        """How many times the connector answered each operation so far."""
        counts: dict[str, int] = httpx.get(self.connector_url + CALLS_PATH, timeout=10).json()
        return counts


# --- the ERP and its connector --------------------------------------------------------------------------------------


def seed_erp(folder: Path, customers: Mapping[str, int]) -> None:
    """An ERP with one company per key of ``customers``, each with that many synthetic customers."""
    folder.mkdir(parents=True, exist_ok=True)
    erp = SampleErp(folder / ERP_FILE)
    try:
        erp.add_user(DEMO_USER, DEMO_PASSWORD, iterations=FAST_PASSWORD_ITERATIONS)
        first = 0
        for company, count in customers.items():
            erp.add_company(company, f"Benchmark company {company}")
            generate_synthetic(erp, count, company=company, first=first)
            first += count  # companies share no customer, so each connection's import creates all of its own
    finally:
        erp.close()


@contextmanager
def connector_process(folder: Path, secret: str) -> Iterator[str]:
    """The sample connector on ``folder`` served by a child process on a free loopback port; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "bench.connector_proc", str(folder), str(port), secret])
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + CONNECTOR_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the connector process exited with {process.returncode}")
        try:
            httpx.get(url + CALLS_PATH, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the connector at {url} did not start within {CONNECTOR_START_SECONDS:g} s")


# --- the hub --------------------------------------------------------------------------------------------------------


def new_site(folder: Path, database_url: str, connector_url: str, connector_secret: str, companies: list[str]) -> Site:
    """Migrate the hub database and add one active connection per ERP company, with automatic sync off."""
    database = Database(database_url)
    upgrade(database.engine)
    cipher_key = Fernet.generate_key().decode()
    site = Site(str(folder), connector_url, connector_secret, database_url, cipher_key, [], companies)
    clients = site.clients(database)
    try:
        with database.session() as session:
            save_engine_settings(session, EngineSettings(running=False))
            connector = add_connector(session, clients, name="Sample", url=connector_url, secret=connector_secret)
            connector_id = connector.id
        ids = [_add_connection(database, clients, connector_id, company) for company in companies]
    finally:
        clients.close()
        database.dispose()
    return Site(str(folder), connector_url, connector_secret, database_url, cipher_key, ids, companies)


def _add_connection(database: Database, clients: ConnectorClients, connector_id: int, company: str) -> int:
    config: dict[str, m.Value] = {"company": company, "user": DEMO_USER, "password": DEMO_PASSWORD}
    config["page_size"] = PAGE_SIZE
    with database.session() as session:
        draft = ConnectionDraft(name=f"ERP {company}", connector_id=connector_id, config=config)
        connection_id = create_connection(session, clients, draft).id
    with database.read_session() as session:
        erp_lists = configuration_loading.read_erp_lists(
            clients, session.get_one(ErpConnection, connection_id), {"country"}
        )
    with database.session() as session:
        connection = session.get_one(ErpConnection, connection_id)
        countries = {item.key: _crm_item(session, item.label) for item in erp_lists["country"]}
        fields = tuple(FieldMapping(erp_field=k, crm_field=v, direction=Direction.BOTH) for k, v in MAPPED.items())
        mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=fields)
        configuration.save_mapping(session, connection, mapping, erp_lists=erp_lists)
        country = ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items=countries)
        configuration.save_list_mappings(session, connection, {"country": country}, erp_lists=erp_lists)
        configuration.activate(session, connection, erp_lists=erp_lists)
        return connection.id


def _crm_item(session: Any, label: str) -> int:
    existing = {item.label: item.id for item in lists.list_items(session, CrmList.COUNTRY)}
    return existing.get(label) or lists.add_item(session, CrmList.COUNTRY, label=label).id


def engine_pass(engine: Engine, connection_id: int) -> Pass:
    with engine.database.read_session() as session:
        [p] = passes(engine, session, session.get_one(ErpConnection, connection_id))
        return p


# --- linked records, in bulk (setup) --------------------------------------------------------------------------------


def link_everything(site: Site, connection_id: int) -> int:
    """Link every ERP customer to a new CRM company with the same values, in ONE transaction of bulk inserts, and set
    the connection's watermarks to now on both sides: the state a finished import and cycle leave. Returns N."""
    database = site.database()
    clients = site.clients(database)
    try:
        p = engine_pass(Engine(database, clients), connection_id)
        pages = list(
            p.client.iter_changes(
                connection_id=p.connection_uuid, actor_type=CUSTOMER, since=None, field_keys=p.field_keys
            )
        )
        actors = [actor for page in pages for actor in page.actors]
        _store_links(database, p, actors, erp_since=pages[-1].next_since)
        return len(actors)
    finally:
        clients.close()
        database.dispose()


def _store_links(database: Database, p: Pass, actors: list[m.Actor], *, erp_since: str | None) -> None:
    fields = CRM_FIELDS[EntityType.COMPANY]
    agreed = [p.from_erp(actor.fields).values for actor in actors]
    now = utcnow()
    with database.session() as session:
        rows = [
            clean_attrs(session, EntityType.COMPANY, {fields[k].attr: v for k, v in p.to_crm(values).values.items()})
            for values in agreed
        ]
        bump = update(ChangeCounter).values(value=ChangeCounter.value + len(rows)).returning(ChangeCounter.value)
        last = int(session.execute(bump).scalar_one())
        first = last - len(rows) + 1
        stamped = [
            {**row, "change_seq": first + n, "changed_by": SETUP_ORIGIN, "updated_at": now}
            for n, row in enumerate(rows)
        ]
        ids = list(session.scalars(insert(Company).returning(Company.id, sort_by_parameter_order=True), stamped))
        session.execute(
            insert(ErpLink),
            [
                _link_row(p, entity_id, actor, values, now)
                for entity_id, actor, values in zip(ids, actors, agreed, strict=True)
            ],
        )
        session.add(
            SyncWatermark(connection_id=p.connection_id, actor_type=CUSTOMER.value, crm_seq=last, erp_since=erp_since)
        )


def _link_row(p: Pass, entity_id: int, actor: m.Actor, agreed: Mapping[str, m.Value], now: Any) -> dict[str, Any]:
    return {
        "connection_id": p.connection_id,
        "entity_type": EntityType.COMPANY.value,
        "entity_id": entity_id,
        "actor_type": CUSTOMER.value,
        "erp_key": actor.erp_key,
        "agreed_json": dict(agreed),
        "state": "ok",
        "attempts": 0,
        "last_sync_at": now,
        "created_at": now,
    }


def linked_pairs(database: Database, connection_id: int) -> list[tuple[int, int, str]]:
    """(link id, company id, ERP key) of every link of the connection, in link order."""
    with database.read_session() as session:
        rows = session.execute(
            select(ErpLink.id, ErpLink.entity_id, ErpLink.erp_key)
            .where(ErpLink.connection_id == connection_id)
            .order_by(ErpLink.id)
        )
        return [(row[0], row[1], row[2]) for row in rows]


def environment(site: Site, **extra: str) -> dict[str, str]:
    """The environment of an ``erpsync`` process that works on the site's hub."""
    return {**os.environ, "ERPSYNC_DATABASE_URL": site.database_url, "ERPSYNC_SECRET_KEY": site.cipher_key, **extra}
