"""The demo environment: users, CRM data, the sample connector registered and a connection tested over HTTP."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from erpsync import accounts
from erpsync.crm.fields import EntityType
from erpsync.crypto import Cipher, key_from_secret
from erpsync.demo import CONNECTION_NAME, DEMO_LINKED, DEMO_USERS, connector_secret, prepare_demo
from erpsync.protocol.documents import DocumentKind
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.storage.tables import Company, ErpConnection, ErpLink, Person, Project, SyncConnector
from erpsync.sync import erp_tab
from erpsync.sync.configuration_loading import load_config
from erpsync.sync.connections import hub_clients
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.work import Engine
from erpsync.testing.sample import running_sample


def test_prepare_demo_twice_gives_one_ready_environment(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    upgrade(database.engine)
    clients = hub_clients(database, Cipher(key_from_secret("a test key that is long enough")))
    with running_sample(tmp_path / "erp", demo_data=True) as sample:
        first = prepare_demo(database, clients, sample.erp, connector_url=sample.url, secret=sample.secret)
        second = prepare_demo(database, clients, sample.erp, connector_url=sample.url, secret=sample.secret)
        _the_linked_companies_show_documents_at_once(database, clients)
        with database.session() as session:
            connection = session.scalars(select(ErpConnection)).one()
            assert connection.name == CONNECTION_NAME
            assert connection.active, "mapped and activated, so the ERP tab works at once"
            mapping = load_config(session, connection).mappings[ActorType.CUSTOMER]
            assert {row.crm_field for row in mapping.fields if row.synced} == {"NAME", "EMAIL", "PHONE", "COUNTRY"}
            config = load_config(session, connection)
            assert config.mappings[ActorType.PROJECT].active, "projects sync too, their status through its list"
            assert set(config.list_mappings["project_status"].items.values()) - {None}
            assert sample.connector.connections.get(connection.uuid) is not None
            assert session.scalar(select(func.count()).select_from(Company)) == first.companies
            assert session.scalar(select(func.count()).select_from(Person)) == first.companies
            assert session.scalar(select(func.count()).select_from(Project)) == 9, "a project for every fifth company"
            assert session.scalar(select(func.count()).select_from(Person).where(Person.phone_mobile.is_not(None)))
            numbered = select(func.count()).select_from(Company).where(Company.number1.is_not(None))
            assert session.scalar(numbered) == first.companies, "every company has a customer number"
            assert session.scalar(select(func.count()).select_from(Company).where(Company.phone.is_(None))) == 0
            for login, password, _name, is_admin, licences in DEMO_USERS:
                user = accounts.authenticate(session, login, password)
                assert user.is_admin is is_admin
                assert accounts.has_licence(user, accounts.Licence.ERP) is bool(licences)
    clients.close()
    assert first == second
    assert first.companies == 45


def _the_linked_companies_show_documents_at_once(database: Database, clients: ConnectorClients) -> None:
    with database.read_session() as session:
        linked = session.scalars(select(ErpLink)).all()
        admin = accounts.find_user(session, "admin")
        assert admin is not None
        admin_id = admin.id
    assert len(linked) == DEMO_LINKED, "linked once, however often the demo starts"
    engine = Engine(database, clients)
    for link in linked:
        entity = erp_tab.EntityRef(EntityType.COMPANY, link.entity_id)
        view = erp_tab.documents(engine, admin_id, entity, link.connection_id)
        assert {row.kind for row in view.documents} >= {DocumentKind.QUOTE, DocumentKind.ORDER, DocumentKind.INVOICE}
        assert view.balance is not None


def test_connector_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    secret = connector_secret(tmp_path)
    assert len(secret) >= 32
    assert connector_secret(tmp_path) == secret
    assert (tmp_path / "demo-connector.secret").stat().st_mode & 0o077 == 0


def test_the_demo_runs_again_on_another_connector_port(tmp_path: Path) -> None:
    """`erpsync demo --connector-port` on a hub prepared before: the connector is re-pointed (probed with no
    transaction open), not refused."""
    database = Database(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    upgrade(database.engine)
    clients = hub_clients(database, Cipher(key_from_secret("a test key that is long enough")))
    with running_sample(tmp_path / "erp", demo_data=True) as sample:
        first = prepare_demo(database, clients, sample.erp, connector_url=sample.url, secret=sample.secret)
    with running_sample(tmp_path / "erp-again", demo_data=True) as moved:
        assert moved.url != sample.url
        second = prepare_demo(database, clients, moved.erp, connector_url=moved.url, secret=moved.secret)
        with database.read_session() as session:
            connector = session.scalars(select(SyncConnector)).one()
            assert connector.url == moved.url
    clients.close()
    assert first == second
