"""A fresh hub and a company's Tryton: country syncs both ways with no list mapped by hand, the ERP's countries paired
with the hub's ISO 3166-1 country list by their codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from erpsync import administration
from erpsync.crm import lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import read_record, user_origin, write_record
from erpsync.crypto import Cipher
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configure, imports, links
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import add_connector
from erpsync.sync.engine import run_cycle
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine

from .tryton_world import SECRET, TrytonDesk

pytestmark = pytest.mark.tryton
CUSTOMER = ActorType.CUSTOMER


def test_a_fresh_hub_syncs_a_partys_country_without_a_list_mapped_by_hand(
    sqlite_template: Path, tmp_path: Path, tryton: TrytonDesk, connector_url: str
) -> None:
    path = tmp_path / "fresh.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    clients = hub_clients(database, Cipher(Fernet.generate_key()), timeout=30)
    try:
        with database.sessions() as session:
            administration.fill_countries(session, by=None)  # as `erpsync db upgrade` does on a fresh hub
        with database.session() as session:
            connector = add_connector(session, clients, name="Tryton", url=connector_url, secret=SECRET)
            draft = ConnectionDraft(name="Tryton", connector_id=connector.id, config=tryton.server.config())
            connection_id = create_connection(session, clients, draft).id
        rows = tuple(
            FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH)
            for erp, crm in (("name", "NAME"), ("country", "COUNTRY"))
        )
        with database.sessions() as session:
            connection = session.get(ErpConnection, connection_id)
            assert connection is not None
            mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)
            configure.save_mapping(session, clients, connection, mapping, by=None)
            configure.activate(session, clients, connection, by=None)
            crm_countries = {item.label: item.id for item in lists.list_items(session, CrmList.COUNTRY)}
        key = tryton.create_customer("Hamburg Handel GmbH", country="DE")
        engine = Engine(database, clients)
        job = imports.start_import(engine, connection_id, CUSTOMER, erp_keys=[key])
        assert imports.run_import(engine, job.id) is not None
        with database.read_session() as session:
            company = links.links_by_erp_key(session, connection_id, CUSTOMER, [key])[key].entity_id
            assert read_record(session, EntityType.COMPANY, company).values["COUNTRY"] == crm_countries["Germany"]
        with database.session() as session:
            values = {"COUNTRY": crm_countries["Sweden"]}
            write_record(session, EntityType.COMPANY, company, values, changed_by=user_origin(1))
        run_cycle(engine)
        assert tryton.party(key).country == "SE"
    finally:
        clients.close()
        database.dispose()
