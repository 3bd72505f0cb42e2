"""The demo environment behind ``make demo``: users, a seeded CRM, the sample connector registered and a connection.

Every step is idempotent, so the demo can be started again on the same data folder.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.connectors.sample import SampleErp
from erpsync.connectors.sample.erp import Where
from erpsync.connectors.sample.fields import KIND_OF
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER
from erpsync.crm import lists, service
from erpsync.crm.fields import CrmList, EntityType
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.files import write_private
from erpsync.storage.tables import Company, ErpConnection, SyncConnector
from erpsync.sync import configuration, connections, connectors
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping
from erpsync.sync.merge import Direction

CONNECTOR_NAME = "Sample ERP"
CONNECTION_NAME = "Nordic Trading"
SECRET_FILE = "demo-connector.secret"
DEMO_ORIGIN = "system"
CRM_COMPANIES_FROM_ERP = 40

DEMO_USERS = (
    # login, password, name, admin, licences
    ("admin", "erpsync-admin", "Astrid Admin", True, ("erp",)),
    ("anna", "erpsync-user", "Anna Andersen", False, ("erp",)),
    ("bo", "erpsync-guest", "Bo Berg (no ERP licence)", False, ()),
)

CRM_LISTS = {
    CrmList.COUNTRY: ("Denmark", "Sweden", "Norway", "Finland"),
    CrmList.BUSINESS: ("Manufacturing", "Retail", "Wholesale", "Services", "IT"),
    CrmList.CATEGORY: ("Customer", "Supplier", "Partner", "Prospect"),
    CrmList.PROJECT_STATUS: ("Planned", "Running", "Finished"),
}

CRM_ONLY_COMPANIES = (
    ("Kastrup Kaffe ApS", "Kastrup"),
    ("Aarhus Cykler A/S", "Aarhus"),
    ("Malmö Design AB", "Malmö"),
    ("Bergen Fisk AS", "Bergen"),
    ("Tampere Tech Oy", "Tampere"),
)


@dataclass(frozen=True)
class DemoSummary:
    users: tuple[tuple[str, str, str], ...]  # login, password, what the user can do
    companies: int
    connection_name: str


def connector_secret(data_dir: Path) -> str:
    """The demo connector's shared secret, generated once into the data folder."""
    path = data_dir / SECRET_FILE
    write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def _ensure_users(session: Session) -> None:
    for login, password, name, is_admin, licences in DEMO_USERS:
        if accounts.find_user(session, login) is None:
            accounts.create_user(
                session, login=login, password=password, name=name, is_admin=is_admin, licences=licences
            )


def _ensure_lists(session: Session) -> dict[CrmList, dict[str, int]]:
    ids: dict[CrmList, dict[str, int]] = {}
    for list_name, labels in CRM_LISTS.items():
        existing = {item.label: item.id for item in lists.list_items(session, list_name)}
        for label in labels:
            if label not in existing:
                existing[label] = lists.add_item(session, list_name, label=label).id
        ids[list_name] = existing
    return ids


def _seed_crm(session: Session, erp: SampleErp, list_ids: dict[CrmList, dict[str, int]]) -> None:
    """Companies, some named like ERP customers (to link), some CRM-only (to create in the ERP), with persons."""
    if session.scalar(select(func.count()).select_from(Company)):
        return
    rng = random.Random(7)
    fields = [f for f in KIND_OF[ActorType.CUSTOMER].fields if f.key in ("name", "postal_city")]
    erp_customers = erp.query("NORDIC", ActorType.CUSTOMER, Where(), fields, limit=CRM_COMPANIES_FROM_ERP).values()
    names = [(str(actor.fields["name"]), str(actor.fields.get("postal_city") or "")) for actor in erp_customers]
    for name, city in [*names, *CRM_ONLY_COMPANIES]:
        company = service.create_record(
            session,
            EntityType.COMPANY,
            {
                "NAME": name,
                "POSTALCITY": city or None,
                "COUNTRY": list_ids[CrmList.COUNTRY]["Denmark"],
                "CATEGORY": rng.choice(list(list_ids[CrmList.CATEGORY].values())),
            },
            changed_by=DEMO_ORIGIN,
        )
        first, last = rng.choice(("Mette", "Lars", "Sofie", "Jonas")), rng.choice(("Hansen", "Nielsen", "Lund"))
        service.create_record(
            session,
            EntityType.PERSON,
            {"FIRSTNAME": first, "LASTNAME": last, "EMAIL": f"{first.lower()}.{last.lower()}@example.com"},
            changed_by=DEMO_ORIGIN,
            company_id=company.id,
        )


def _ensure_connector(session: Session, clients: ConnectorClients, *, url: str, secret: str) -> SyncConnector:
    connector = session.scalar(select(SyncConnector).where(SyncConnector.name == CONNECTOR_NAME))
    if connector is None:
        return connectors.add_connector(session, clients, name=CONNECTOR_NAME, url=url, secret=secret, by=None)
    if connector.url != url:  # the demo may run on another port this time
        connectors.update_connector(session, clients, connector, url=url, secret=secret, by=None)
    return connector


def _ensure_connection(
    session: Session, clients: ConnectorClients, connector: SyncConnector, countries: dict[str, int]
) -> None:
    live = select(ErpConnection).where(ErpConnection.name == CONNECTION_NAME, ErpConnection.deleted_at.is_(None))
    if session.scalar(live) is not None:
        return
    draft = connections.ConnectionDraft(
        name=CONNECTION_NAME,
        connector_id=connector.id,
        config={"company": "NORDIC", "user": DEMO_USER, "password": DEMO_PASSWORD},
        description="The sample ERP's Danish company, with demo data.",
    )
    _map_and_activate(session, clients, connections.create_connection(session, clients, draft), countries)


def _map_and_activate(
    session: Session, clients: ConnectorClients, connection: ErpConnection, countries: dict[str, int]
) -> None:
    """Customers sync name, email, phone and country both ways, so the ERP tab works at once."""
    erp_lists = configuration.read_erp_lists(clients, connection, configuration.erp_list_names(connection))
    by_label = {item.key: countries.get(item.label) for item in erp_lists["country"]}
    country_list = ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items=by_label)
    configuration.save_list_mappings(session, connection, {"country": country_list}, erp_lists=erp_lists)
    rows = tuple(
        FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH, show_in_search=True, show_in_tab=True)
        for erp, crm in (("name", "NAME"), ("email", "EMAIL"), ("phone", "PHONE"), ("country", "COUNTRY"))
    )
    mapping = ActorTypeMapping(actor_type=ActorType.CUSTOMER, active=True, fields=rows)
    configuration.save_mapping(session, connection, mapping, erp_lists=erp_lists)
    configuration.activate(session, connection, erp_lists=erp_lists)


def prepare_demo(
    database: Database, clients: ConnectorClients, erp: SampleErp, *, connector_url: str, secret: str
) -> DemoSummary:
    """Users, CRM data, connector and connection; the connection's test runs for real over HTTP."""
    with database.session() as session:
        _ensure_users(session)
        list_ids = _ensure_lists(session)
        _seed_crm(session, erp, list_ids)
        connector = _ensure_connector(session, clients, url=connector_url, secret=secret)
        _ensure_connection(session, clients, connector, list_ids[CrmList.COUNTRY])
        companies = session.scalar(select(func.count()).select_from(Company)) or 0
    roles = {True: "administrator", False: "CRM user"}
    users = tuple(
        (login, password, roles[is_admin] + (", ERP licence" if licences else ", no ERP licence"))
        for login, password, _name, is_admin, licences in DEMO_USERS
    )
    return DemoSummary(users=users, companies=companies, connection_name=CONNECTION_NAME)
