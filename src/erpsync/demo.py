"""The demo environment behind ``make demo``: users, a seeded CRM, the sample connector registered and a connection.

Every step is idempotent, so the demo can be started again on the same data folder.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.connectors.sample import SampleErp
from erpsync.connectors.sample.erp import Where
from erpsync.connectors.sample.fields import KIND_OF
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER
from erpsync.crm import countries, lists, service
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import CrmRecord
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.files import write_private
from erpsync.storage.tables import Company, ErpConnection, ErpLink, SyncConnector
from erpsync.sync import configuration, configuration_loading, connections, erp_tab, setup
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping
from erpsync.sync.merge import Direction, Side
from erpsync.sync.work import Engine

CONNECTOR_NAME = "Sample ERP"
CONNECTION_NAME = "Nordic Trading"
SECRET_FILE = "demo-connector.secret"
DEMO_ORIGIN = "system"
CRM_COMPANIES_FROM_ERP = 40
DEMO_LINKED = 3  # of them linked at once: the ERP tab shows their live fields, documents and balance

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
    countries.fill_countries(session)  # a fresh hub's ISO 3166-1 countries, as `erpsync db upgrade` gives it
    ids: dict[CrmList, dict[str, int]] = {}
    for list_name, labels in CRM_LISTS.items():
        existing = {item.label: item.id for item in lists.list_items(session, list_name)}
        for label in labels:
            if label not in existing:
                existing[label] = lists.add_item(session, list_name, label=label).id
        ids[list_name] = existing
    return ids


def _seed_crm(session: Session, erp: SampleErp, list_ids: dict[CrmList, dict[str, int]]) -> None:
    """Companies with customer number, phone and email, some named like ERP customers (to link), some CRM-only (to
    create in the ERP), each with a person who has an email and phones; projects for some of them."""
    if session.scalar(select(func.count()).select_from(Company)):
        return
    rng = random.Random(7)
    keys = ("name", "postal_city", "phone", "email", "number")
    fields = [f for f in KIND_OF[ActorType.CUSTOMER].fields if f.key in keys]
    erp_customers = erp.query("NORDIC", ActorType.CUSTOMER, Where(), fields, limit=CRM_COMPANIES_FROM_ERP).values()
    known = [{key: str(actor.fields.get(key) or "") for key in keys} for actor in erp_customers]
    crm_only = [
        {"name": name, "postal_city": city, "phone": f"+45 70 20 {30 + i:02} {40 + i:02}", "number": f"K-{1001 + i}"}
        for i, (name, city) in enumerate(CRM_ONLY_COMPANIES)
    ]
    for index, company_values in enumerate([*known, *crm_only]):
        company = _demo_company(session, company_values, list_ids, rng)
        _demo_person(session, company.id, rng)
        if index % 5 == 0:
            _demo_project(session, company_values["name"], list_ids, rng)


def _demo_company(
    session: Session, values: dict[str, str], list_ids: dict[CrmList, dict[str, int]], rng: random.Random
) -> CrmRecord:
    name = values["name"]
    email = values.get("email") or f"info@{''.join(c for c in name.lower() if c.isalnum())[:20]}.example"
    return service.create_record(
        session,
        EntityType.COMPANY,
        {
            "NAME": name,
            "NUMBER1": values.get("number") or None,
            "PHONE": values.get("phone") or None,
            "EMAIL": email,
            "POSTALCITY": values.get("postal_city") or None,
            "COUNTRY": list_ids[CrmList.COUNTRY]["Denmark"],
            "CATEGORY": rng.choice(list(list_ids[CrmList.CATEGORY].values())),
        },
        changed_by=DEMO_ORIGIN,
    )


def _demo_person(session: Session, company_id: int, rng: random.Random) -> None:
    first, last = rng.choice(("Mette", "Lars", "Sofie", "Jonas")), rng.choice(("Hansen", "Nielsen", "Lund"))
    service.create_record(
        session,
        EntityType.PERSON,
        {
            "FIRSTNAME": first,
            "LASTNAME": last,
            "EMAIL": f"{first.lower()}.{last.lower()}@example.com",
            "PHONE_DIRECT": f"+45 33 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}",
            "PHONE_MOBILE": f"+45 {rng.randrange(20, 60)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} 00",
        },
        changed_by=DEMO_ORIGIN,
        company_id=company_id,
    )


def _demo_project(
    session: Session, company_name: str, list_ids: dict[CrmList, dict[str, int]], rng: random.Random
) -> None:
    topic = rng.choice(("web shop", "ERP roll-out", "warehouse move", "price list 2025"))
    status = rng.choice(list(list_ids[CrmList.PROJECT_STATUS].values()))
    service.create_record(
        session,
        EntityType.PROJECT,
        {"NAME": f"{company_name.split()[0]} {topic}", "TEXT": f"Project for {company_name}.", "STATUS": status},
        changed_by=DEMO_ORIGIN,
    )


def _ensure_connector(database: Database, clients: ConnectorClients, *, url: str, secret: str) -> int:
    """The demo connector's id, registered, or re-pointed when the demo runs on another port this time (its probe runs
    with no transaction open, as the use case does it)."""
    with database.sessions() as session:
        connector = session.scalar(select(SyncConnector).where(SyncConnector.name == CONNECTOR_NAME))
        if connector is None:
            connector = setup.add_connector(session, clients, name=CONNECTOR_NAME, url=url, secret=secret, by=None)
        elif connector.url != url:
            setup.update_connector(session, clients, connector.id, url=url, secret=secret, by=None)
        return connector.id


def _ensure_connection(
    session: Session, clients: ConnectorClients, connector: SyncConnector, list_ids: dict[CrmList, dict[str, int]]
) -> None:
    if session.scalar(_live_connection()) is not None:
        return
    draft = connections.ConnectionDraft(
        name=CONNECTION_NAME,
        connector_id=connector.id,
        config={"company": "NORDIC", "user": DEMO_USER, "password": DEMO_PASSWORD},
        description="The sample ERP's Danish company, with demo data.",
    )
    _map_and_activate(session, clients, connections.create_connection(session, clients, draft), list_ids)


_DEMO_ROWS = {
    ActorType.CUSTOMER: (("name", "NAME"), ("email", "EMAIL"), ("phone", "PHONE"), ("country", "COUNTRY")),
    ActorType.PERSON: (
        ("first_name", "FIRSTNAME"),
        ("last_name", "LASTNAME"),
        ("email", "EMAIL"),
        ("phone_direct", "PHONE_DIRECT"),
        ("phone_mobile", "PHONE_MOBILE"),
    ),
    ActorType.PROJECT: (("name", "NAME"), ("description", "TEXT"), ("status", "STATUS")),
}
_PROJECT_STATUSES = {"PLANNED": "Planned", "ACTIVE": "Running", "DONE": "Finished"}


def _map_and_activate(
    session: Session, clients: ConnectorClients, connection: ErpConnection, list_ids: dict[CrmList, dict[str, int]]
) -> None:
    """Customers, persons and projects sync both ways, so the ERP tab works at once on each."""
    erp_lists = configuration_loading.read_erp_lists(
        clients, connection, configuration_loading.erp_list_names(connection)
    )
    countries, statuses = list_ids[CrmList.COUNTRY], list_ids[CrmList.PROJECT_STATUS]
    by_label = {item.key: countries.get(item.label) for item in erp_lists["country"]}
    by_key = {item.key: statuses.get(_PROJECT_STATUSES.get(item.key, "")) for item in erp_lists["project_status"]}
    list_mappings = {
        "country": ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items=by_label),
        "project_status": ListMapping(list_name="project_status", crm_list=CrmList.PROJECT_STATUS, items=by_key),
    }
    configuration.save_list_mappings(session, connection, list_mappings, erp_lists=erp_lists)
    for actor_type, pairs in _DEMO_ROWS.items():
        rows = tuple(
            FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH, show_in_search=True, show_in_tab=True)
            for erp, crm in pairs
        )
        mapping = ActorTypeMapping(actor_type=actor_type, active=True, fields=rows)
        configuration.save_mapping(session, connection, mapping, erp_lists=erp_lists)
    configuration.activate(session, connection, erp_lists=erp_lists)


def _link_demo_companies(database: Database, clients: ConnectorClients, erp: SampleErp) -> None:
    """The first CRM companies named like ERP customers, linked as a user links them (Connect, the ERP's values
    winning), so the ERP tab shows live fields, documents and the balance at once; once, on a new connection."""
    name_field = [KIND_OF[ActorType.CUSTOMER].by_key["name"]]
    customers = erp.query("NORDIC", ActorType.CUSTOMER, Where(), name_field, limit=DEMO_LINKED)
    with database.read_session() as session:
        connection = session.scalar(_live_connection())
        admin = accounts.find_user(session, "admin")
        if connection is None or admin is None or session.scalar(select(ErpLink.id).limit(1)) is not None:
            return
        pairs = [
            (company_id, erp_key)
            for erp_key, actor in customers.items()
            if (company_id := session.scalar(select(Company.id).where(Company.name == actor.fields["name"])))
        ]
        connection_id, admin_id = connection.id, admin.id
    engine = Engine(database, clients)
    for company_id, erp_key in pairs:
        entity = erp_tab.EntityRef(EntityType.COMPANY, company_id)
        compared = erp_tab.compare(
            engine, admin_id, entity, connection_id, actor_type=ActorType.CUSTOMER, erp_key=erp_key
        )
        winners = {row.crm_field: Side.ERP for row in compared if row.choice_needed}
        erp_tab.connect_actor(
            engine, admin_id, entity, connection_id, actor_type=ActorType.CUSTOMER, erp_key=erp_key, winners=winners
        )


def _live_connection() -> Select[ErpConnection]:
    return select(ErpConnection).where(ErpConnection.name == CONNECTION_NAME, ErpConnection.deleted_at.is_(None))


def prepare_demo(
    database: Database, clients: ConnectorClients, erp: SampleErp, *, connector_url: str, secret: str
) -> DemoSummary:
    """Users, CRM data, connector and connection; the connection's test runs for real over HTTP."""
    with database.session() as session:
        _ensure_users(session)
        list_ids = _ensure_lists(session)
        _seed_crm(session, erp, list_ids)
    connector_id = _ensure_connector(database, clients, url=connector_url, secret=secret)
    with database.session() as session:
        connector = session.get_one(SyncConnector, connector_id)
        _ensure_connection(session, clients, connector, list_ids)
        companies = session.scalar(select(func.count()).select_from(Company)) or 0
    _link_demo_companies(database, clients, erp)
    roles = {True: "administrator", False: "CRM user"}
    users = tuple(
        (login, password, roles[is_admin] + (", ERP licence" if licences else ", no ERP licence"))
        for login, password, _name, is_admin, licences in DEMO_USERS
    )
    return DemoSummary(users=users, companies=companies, connection_name=CONNECTION_NAME)
