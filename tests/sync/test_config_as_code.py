"""Configuration as code (``sync.config_export``, ``config_plan``, ``config_apply``) on real hubs with the sample
connector over HTTP: a hub configured through the use cases, exported, applied to an empty hub whose ids differ, and
exported again gives the same file; applying again changes nothing; an invalid file changes nothing."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from erpsync import administration, audit
from erpsync.connectors.sample.fields import LISTS
from erpsync.crm.fields import CrmList
from erpsync.crypto import Cipher, key_from_secret
from erpsync.protocol.models import ActorType, Config, Operator
from erpsync.sdk.connector import ConnectionStore
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, ErpConnection, SyncActorMapping
from erpsync.sync import (
    auto_config,
    config_file,
    configuration_loading,
    configure,
    connection_visibility,
    connections,
    filter_config,
    setup,
)
from erpsync.sync.config_apply import apply_plan
from erpsync.sync.config_export import export_config
from erpsync.sync.config_file import FileRefusedError
from erpsync.sync.config_plan import make_plan
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import (
    ActorTypeMapping,
    AutoCreate,
    AutoDirection,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    FilterRestriction,
    ListMapping,
    SyncFilter,
)
from erpsync.sync.merge import Direction, Policy
from erpsync.testing.db import database, postgres_database, postgres_url, sqlite_template
from erpsync.testing.sample import RunningSample, running_sample

__all__ = ["database", "postgres_url", "sqlite_template"]

WHOLESALE = SyncFilter(
    erp=(FilterRestriction(field="customer_group", operator=Operator.ONE_OF, values=("WHOLESALE",)),),
    crm=(FilterRestriction(field="NUMBER1", operator=Operator.IS_NOT, values=("",)),),
)
AUTO = AutoCreate(direction=AutoDirection.BOTH, match=("org_number", "email"))
ANNA_PASSWORD = "Lighthouse-Kettle-Orbit-42"


@dataclass
class Hub:
    database: Database
    clients: ConnectorClients

    def export(self) -> str:
        with self.database.read_session() as session:
            return config_file.dump(export_config(session, self.clients.cipher))

    def apply(self, text: str, environ: dict[str, str], *, dry_run: bool = False) -> list[str]:
        plan = make_plan(self.database, self.clients, config_file.load(text), environ=environ)
        try:
            changes = plan.changes if dry_run else apply_plan(self.database, self.clients, plan)
        finally:
            plan.close()
        lines = []
        for c in changes:
            lines.append(f"{c.kind} {c.what} {c.name}" + (f": {', '.join(c.fields)}" if c.fields else ""))
            lines += [f"  {detail}" for detail in c.details]
        return lines

    def count(self, table: type[ErpConnection] | type[AuditEntry]) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _hub(database: Database, secret: str) -> Iterator[Hub]:
    clients = connections.hub_clients(database, Cipher(key_from_secret(secret * 2)), timeout=5)
    try:
        yield Hub(database, clients)
    finally:
        clients.close()


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


@pytest.fixture
def hub_a(database: Database) -> Iterator[Hub]:
    yield from _hub(database, "hub A key material ")


@pytest.fixture
def hub_b(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Hub]:
    """An empty hub on a database of its own on the same backend as hub A, with its own encryption key."""
    with ExitStack() as stack:
        if database.dialect == "postgresql":
            url = stack.enter_context(postgres_database())
        else:
            path = tmp_path / "hub-b.sqlite"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        other = Database(url)
        stack.callback(other.dispose)
        yield from _hub(other, "hub B key material ")


def _environ(sample: RunningSample) -> dict[str, str]:
    password = str(sample.config["password"])
    return {
        "ERPSYNC_SECRET_CONNECTOR_SAMPLE": sample.secret,
        "ERPSYNC_SECRET_MAIN_PASSWORD": password,
        "ERPSYNC_SECRET_SECOND_PASSWORD": password,
        "ERPSYNC_SECRET_USER_ANNA": ANNA_PASSWORD,
    }


def _configure(hub: Hub, sample: RunningSample) -> None:
    """Hub A configured through the use cases, after objects it then deletes, so its ids differ from a new hub's."""
    database, clients = hub.database, hub.clients
    with database.sessions() as session:
        temp = administration.create_user(session, login="temp", password="Temporary-Person-Gone-7", by=None)
        admin = administration.create_user(
            session, login="admin", password="Harbour-Lantern-Mosaic-8", is_admin=True, by=None
        )
        anna = administration.create_user(
            session, login="anna", password=ANNA_PASSWORD, name="Anna Berg", licences=["erp"], by=None
        )
        administration.delete_user(session, temp.id, by=admin.id)
        sales = administration.create_group(
            session, name="Sales", description="Sales team", member_ids=[anna.id], by=None
        )
        gone = administration.add_list_item(session, "country", label="Gone", by=admin.id)
        administration.update_list_item(session, "country", gone.id, {"deleted": True}, by=admin.id)
        denmark = administration.add_list_item(session, "country", label="Denmark", by=admin.id)
        sweden = administration.add_list_item(session, "country", label="Sweden", by=admin.id)
        connector = setup.add_connector(session, clients, name="Sample", url=sample.url, secret=sample.secret, by=None)
        draft = connections.ConnectionDraft(name="Temp", connector_id=connector.id, config=sample.config)
        temp_connection = setup.create_connection(session, clients, draft, by=None)
        draft = connections.ConnectionDraft(name="Main", connector_id=connector.id, config=sample.config)
        main = setup.create_connection(session, clients, draft, by=None)
        draft = connections.ConnectionDraft(
            name="Second",
            connector_id=connector.id,
            config={**sample.config, "page_size": 50},
            visibility=connection_visibility.Visibility(everyone=False, users=(anna.id,), groups=(sales.id,)),
            description="Second line",
        )
        second = setup.create_connection(session, clients, draft, by=None)
        setup.delete_connection(session, clients, temp_connection.id, user=admin)
        main_id, second_id = main.id, second.id
        countries = {"DK": denmark.id, "SE": sweden.id}
        _configure_main(hub, main_id, countries, by=admin.id)
        configure.set_priority(session, [second_id, main_id], by=admin.id)


def _configure_main(hub: Hub, main_id: int, countries: dict[str, int], *, by: int) -> None:
    """Main's configuration through the use cases of ``sync.configure``, each its own unit of work."""
    customer = ActorTypeMapping(
        actor_type=ActorType.CUSTOMER,
        active=True,
        fields=(
            FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH, show_in_tab=True),
            FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH, show_in_search=True),
            FieldMapping(erp_field="country", crm_field="COUNTRY", direction=Direction.TO_CRM, policy=Policy.ERP),
        ),
        erp_delete=ErpDeletePolicy.DELETE,
        crm_delete=CrmDeletePolicy.DEACTIVATE_IN_ERP,
    )
    items: dict[str, int | None] = {item.key: countries.get(item.key) for item in LISTS["country"]}
    lists = {"country": ListMapping(list_name="country", crm_list=CrmList.COUNTRY, items=items)}
    defaults = {"currency": FieldDefault(value="DKK"), "phone": FieldDefault(ask_user=True)}
    clients = hub.clients
    with hub.database.sessions() as session:
        main = session.get(ErpConnection, main_id)
        assert main is not None
        configure.save_mapping(session, clients, main, customer, by=by)
        configure.save_ranks(session, main, ActorType.CUSTOMER, ["country", "email", "name"], by=by)
        configure.save_list_mappings(session, clients, main, lists, by=by)
        configure.save_defaults(session, clients, main, ActorType.CUSTOMER, defaults, by=by)
        configure.save_policy(session, main, policy=Policy.CRM, no_blank_overwrite=True, by=by)
        filter_config.save_filter(session, main, ActorType.CUSTOMER, WHOLESALE, by=by)
        auto_config.save_auto_create(session, main, ActorType.CUSTOMER, AUTO, by=by)
        configure.activate(session, clients, main, by=by)


def test_export_names_everything_and_holds_no_secret(hub_a: Hub, sample: RunningSample) -> None:
    _configure(hub_a, sample)
    text = hub_a.export()
    assert sample.secret not in text
    assert str(sample.config["password"]) not in text
    config = config_file.load(text)
    assert [c.name for c in config.connections] == ["Second", "Main"]
    assert config.priority == ("Second", "Main")
    main = config.connections[1]
    assert main.active
    assert main.policy is Policy.CRM
    assert main.no_blank_overwrite
    assert main.config["password"] == config_file.SecretRef(env="ERPSYNC_SECRET_MAIN_PASSWORD")
    customer = main.mappings[ActorType.CUSTOMER]
    assert [row.erp for row in customer.fields[:3]] == ["country", "email", "name"]
    assert customer.defaults["currency"].value == "DKK"
    assert customer.filter == WHOLESALE
    assert customer.auto_create == AUTO
    assert main.list_mappings["country"].items["DK"] == "Denmark"
    assert main.list_mappings["country"].items["FI"] is None
    second = config.connections[0]
    assert second.visibility == config_file.VisibilitySpec(everyone=False, users=("anna",), groups=("Sales",))
    assert second.description == "Second line"
    assert second.config["page_size"] == 50
    assert config.crm_lists == {CrmList.COUNTRY: ("Denmark", "Sweden")}
    assert [(u.login, u.admin, u.licences) for u in config.users] == [("admin", True, ()), ("anna", False, ("erp",))]
    assert config.groups[0].members == ("anna",)
    for deleted in ("Temp", "temp", "Gone"):
        assert deleted not in text


def test_round_trip_to_an_empty_hub(hub_a: Hub, hub_b: Hub, sample: RunningSample) -> None:
    _configure(hub_a, sample)
    exported = hub_a.export()
    environ = _environ(sample) | {"ERPSYNC_SECRET_USER_ADMIN": "Harbour-Lantern-Mosaic-8"}

    dry = hub_b.apply(exported, environ, dry_run=True)
    assert hub_b.count(ErpConnection) == 0  # a dry run writes nothing
    assert "added connection Main" in dry
    assert "added connector Sample" in dry

    changes = hub_b.apply(exported, environ)
    assert changes == dry
    assert hub_b.export() == exported
    with hub_b.database.read_session() as session:
        main = session.scalar(select(ErpConnection).where(ErpConnection.name == "Main"))
        assert main is not None
        assert main.active
        assert connections.full_config(hub_b.clients.cipher, main)["password"] == sample.config["password"]
        assert sample.connector.connections.get(main.uuid) is not None  # registered at the connector under B's own UUID
        assert session.scalar(select(func.count()).select_from(SyncActorMapping)) > 0
        customer = configuration_loading.mapping_of(session, main, ActorType.CUSTOMER)
        assert (customer.erp_delete, customer.crm_delete) == ("delete", "deactivate_in_erp")
        assert customer.auto_create == AUTO

    audited = hub_b.count(AuditEntry)
    again = hub_b.apply(exported, environ)
    assert all(line.startswith("unchanged") for line in again), again
    assert hub_b.count(AuditEntry) == audited  # nothing written
    assert hub_b.export() == exported


def _file_for_b(hub_a: Hub, sample: RunningSample) -> str:
    _configure(hub_a, sample)
    return hub_a.export()


def _b_environ(sample: RunningSample) -> dict[str, str]:
    return _environ(sample) | {"ERPSYNC_SECRET_USER_ADMIN": "Harbour-Lantern-Mosaic-8"}


def _edited(text: str) -> str:
    """The file with Main signing in as another ERP user, Second's description and Anna's name changed."""
    config = config_file.load(text)
    second, main = config.connections
    other = {**main.config, "user": "other", "password": config_file.SecretRef(env="ERPSYNC_SECRET_OTHER")}
    anna = config.users[1].model_copy(update={"name": "Anna Berg-Holm"})
    edited = config.model_copy(
        update={
            "connections": (
                second.model_copy(update={"description": "The second line"}),
                main.model_copy(update={"config": other}),
            ),
            "users": (config.users[0], anna),
        }
    )
    return config_file.dump(edited)


def test_a_change_is_shown_by_object_and_field_never_by_value(hub_a: Hub, hub_b: Hub, sample: RunningSample) -> None:
    exported = _file_for_b(hub_a, sample)
    hub_b.apply(exported, _b_environ(sample))
    sample.erp.add_user("other", "other-secret-pw", iterations=1000)
    edited = _edited(exported)
    environ = _b_environ(sample) | {"ERPSYNC_SECRET_OTHER": "other-secret-pw"}

    changes = hub_b.apply(edited, environ)
    assert "changed connection Second: description" in changes
    assert "changed connection Main: config.password, config.user" in changes
    assert "changed user anna: name" in changes
    assert "unchanged connector Sample" in changes
    assert "  description: 'Second line' -> 'The second line'" in changes
    assert "  config.user: 'erpsync' -> 'other'" in changes
    assert "  config.password: another secret" in changes
    assert "  name: 'Anna Berg' -> 'Anna Berg-Holm'" in changes
    assert not any("other-secret-pw" in line or "demo" in line for line in changes)
    text = hub_b.export()
    assert "description: The second line" in text
    with hub_b.database.read_session() as session:
        main = session.scalar(select(ErpConnection).where(ErpConnection.name == "Main"))
        assert main is not None
        assert sample.connector.connections.get(main.uuid) == {**main.config_json, "password": "other-secret-pw"}
    assert all(line.startswith("unchanged") for line in hub_b.apply(edited, environ))

    moved = sample.url.replace("127.0.0.1", "localhost")  # the same connector at another address
    changes = hub_b.apply(edited.replace(f"url: {sample.url}", f"url: {moved}"), environ)
    assert "changed connector Sample: url" in changes
    assert f"  url: '{sample.url}' -> '{moved}'" in changes
    assert f"url: {moved}" in hub_b.export()


def test_an_invalid_file_is_refused_with_every_reason_and_changes_nothing(
    hub_a: Hub, hub_b: Hub, sample: RunningSample
) -> None:
    exported = _file_for_b(hub_a, sample)
    broken = exported.replace("direction: to_crm", "direction: sideways")
    broken = broken.replace("everyone: false", "everyone: maybe")
    with pytest.raises(FileRefusedError) as refused:
        config_file.load(broken)
    assert len(refused.value.problems) == 2
    assert any(
        p.startswith("connections[Main].mappings.customer.fields[country].direction") for p in refused.value.problems
    )
    assert any(p.startswith("connections[Second].visibility.everyone") for p in refused.value.problems)

    wrong = exported.replace("connector: Sample", "connector: Elsewhere", 1)
    wrong = wrong.replace("    - Sales\n", "    - Nobody\n", 1)
    wrong = wrong.replace("    FI: null", "    FI: Finland")
    wrong = wrong.replace("- Second\n- Main", "- Second\n- Main\n- Third")
    environ = _b_environ(sample)
    del environ["ERPSYNC_SECRET_USER_ANNA"]
    with pytest.raises(FileRefusedError) as refused:
        hub_b.apply(wrong, environ)
    problems = refused.value.problems
    assert "connections[Second].connector: no connector 'Elsewhere' in the file or the hub" in problems
    assert "connections[Second].visibility.groups: no group 'Nobody'" in problems
    assert "connections[Main].list_mappings.country.items.FI: no item 'Finland' in the CRM list country" in problems
    assert "priority: no connection 'Third' in the file or the hub" in problems
    assert "users[anna].password: the environment variable ERPSYNC_SECRET_USER_ANNA is not set" in problems
    assert hub_b.export() == "erpsync_config: 1\n"


class RecordingStore:
    """The sample connector's own connection store, noting which connections the hub sent it."""

    def __init__(self, inner: ConnectionStore, on_put: Callable[[], None] | None = None) -> None:
        self.inner, self.sent, self.on_put = inner, [], on_put

    def get(self, connection_id: str) -> Config | None:
        return self.inner.get(connection_id)

    def put(self, connection_id: str, config: Config) -> None:
        self.sent.append(connection_id)
        self.inner.put(connection_id, config)
        if self.on_put is not None:
            self.on_put()

    def delete(self, connection_id: str) -> None:
        self.inner.delete(connection_id)


def test_a_part_refused_in_the_transaction_undoes_everything(hub_a: Hub, hub_b: Hub, sample: RunningSample) -> None:
    exported = _file_for_b(hub_a, sample)
    # email is a text field: it cannot pair with the CRM's country list field; only the mapping rules see that.
    refused_mapping = exported.replace(
        "- erp: email\n        crm: EMAIL\n        direction: both",
        "- erp: email\n        crm: COUNTRY\n        direction: both",
    )
    assert refused_mapping != exported
    store = RecordingStore(sample.connector.connections)
    sample.connector.connections = store
    with pytest.raises(FileRefusedError) as refused:
        hub_b.apply(refused_mapping, _b_environ(sample))
    assert any(p.startswith("connections[Main].mappings.customer") for p in refused.value.problems), refused.value
    assert hub_b.export() == "erpsync_config: 1\n"
    assert hub_b.count(ErpConnection) == 0
    assert len(store.sent) == 2  # both connections were registered before the transaction ...
    assert [store.get(connection_id) for connection_id in store.sent] == [None, None]  # ... and forgotten again


def test_the_example_in_the_operations_guide_is_a_valid_file() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    example = guide.split("\n```yaml\n", 1)[1].split("```", 1)[0]  # the first unindented YAML block
    config = config_file.load(example)
    main = config.connections[0]
    assert [row.erp for row in main.mappings[ActorType.CUSTOMER].fields] == ["country", "name", "email"]
    assert main.config["password"] == config_file.SecretRef(env="ERPSYNC_SECRET_MAIN_PASSWORD")
    assert main.list_mappings["country"].items == {"DK": "Denmark", "SE": "Sweden", "FI": None}


def test_load_refuses_what_no_hub_could_apply() -> None:
    text = (
        "erpsync_config: 1\n"
        "connectors:\n- {name: Sample, url: 'http://127.0.0.1:1', secret: {env: A, file: b}}\n"
        "connections:\n"
        '- name: "Ma\\tin"\n  connector: Sample\n'
        "  mappings: {customer: {filter: {erp: [{field: country, operator: like}]}}, robot: {}}\n"
        "- {name: main, connector: Sample}\n"
        "users:\n- {login: anna, licences: [gold]}\n"
    )
    with pytest.raises(FileRefusedError) as refused:
        config_file.load(text)
    problems = "\n".join(refused.value.problems)
    assert "connectors[Sample].secret: a secret reference names exactly one of env or file" in problems
    assert "connections[0].name: must not contain control characters" in problems
    assert "connections[0].mappings.customer.filter.erp[0].operator" in problems
    assert "connections[0].mappings.robot" in problems
    assert "users[anna].licences[0]" in problems
    with pytest.raises(FileRefusedError, match=r"connections\[main\]: named 2 times"):
        config_file.load("erpsync_config: 1\nconnections:\n- {name: Main, connector: S}\n- {name: main, connector: S}")
    for not_a_file in ("", "- a list", "erpsync_config: 2", "key: [unclosed", "erpsync_config: 1\nx: \0"):
        with pytest.raises(FileRefusedError, match=r"^the configuration file is refused"):
            config_file.load(not_a_file)


def test_no_transaction_is_open_while_the_connectors_answer(hub_a: Hub, hub_b: Hub, sample: RunningSample) -> None:
    """While the connector stores a connection sent by the apply, another writer gets the hub's database at once."""
    exported = _file_for_b(hub_a, sample)
    waits: list[float] = []

    def write_meanwhile() -> None:
        started = time.monotonic()
        with hub_b.database.session() as session:
            audit.record(session, user_id=None, action="probe", target_type="test")
        waits.append(time.monotonic() - started)

    sample.connector.connections = RecordingStore(sample.connector.connections, on_put=write_meanwhile)
    hub_b.apply(exported, _b_environ(sample))
    assert len(waits) == 2
    assert max(waits) < 1.0, waits
    assert hub_b.export() == exported


def test_secret_files_are_read_bounded_and_missing_ones_named(hub_b: Hub, tmp_path: Path) -> None:
    (tmp_path / "huge").write_bytes(b"x" * 70_000)
    text = (
        "erpsync_config: 1\nusers:\n"
        "- {login: anna, password: {file: huge}}\n"
        "- {login: bo, password: {file: /dev/zero}}\n"
        "- {login: cy, password: {file: nowhere}}\n"
        "- {login: di, password: {env: ERPSYNC_TEST_EMPTY}}\n"
    )
    plan_file = config_file.load(text)
    with pytest.raises(FileRefusedError) as refused:
        make_plan(hub_b.database, hub_b.clients, plan_file, environ={"ERPSYNC_TEST_EMPTY": ""}, base=tmp_path)
    assert refused.value.problems == (
        f"users[anna].password: the secret file {tmp_path / 'huge'} is larger than 65536 bytes",
        "users[bo].password: the secret file /dev/zero is larger than 65536 bytes",
        f"users[cy].password: cannot read the secret file {tmp_path / 'nowhere'}: FileNotFoundError",
        "users[di].password: the environment variable ERPSYNC_TEST_EMPTY is empty",
    )
    assert hub_b.export() == "erpsync_config: 1\n"


def test_a_file_cannot_take_away_the_last_administrator(hub_a: Hub, hub_b: Hub, sample: RunningSample) -> None:
    exported = _file_for_b(hub_a, sample)
    hub_b.apply(exported, _b_environ(sample))
    demoted = exported.replace("- login: admin\n  admin: true\n", "- login: admin\n")
    assert demoted != exported
    with pytest.raises(FileRefusedError, match="the hub would have no active administrator left"):
        hub_b.apply(demoted, _b_environ(sample))
    assert hub_b.export() == exported
