"""The Node.js connector (examples/node-connector), written from docs/protocol.md alone: it passes the whole
conformance kit, deletions included, and the hub syncs a customer through it both ways."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record, write_record
from erpsync.crypto import Cipher
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.sync import engine as sync_engine
from erpsync.sync import links
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import add_connector
from erpsync.sync.mapping import ActorTypeMapping, ConnectionConfig, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.conformance import ConformanceHooks, Outcome, as_text, delete_by_command, run_conformance
from erpsync.testing.conformance.wire import Wire

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-connector"
SECRET = "node-connector-secret-0123456789"
CONFIG: m.Config = {"api_key": "demo-api-key", "region": "north"}


@dataclass(frozen=True)
class RunningNode:
    url: str
    node: str


def _node() -> str:
    node = shutil.which("node")
    if node is None:  # `make test` checks this first; a missing Node is a failure, never a skip
        pytest.fail("Node.js 20 or later is needed (`node` on PATH) for the Node.js example connector")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node.js 20 or later is needed, found {version}"
    return node


@pytest.fixture
def node_connector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RunningNode]:
    node = _node()
    monkeypatch.setenv("ERPSYNC_CONNECTOR_SECRET", SECRET)  # for the connector, and for delete.js run by the kit
    log = tmp_path / "node-connector.log"
    with (
        log.open("w") as errors,
        subprocess.Popen(
            [node, str(EXAMPLE / "server.js"), "--port", "0"], stdout=subprocess.PIPE, stderr=errors, text=True
        ) as process,
    ):
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("listening on "), f"the connector did not start: {line!r} {log.read_text()}"
            yield RunningNode(url=line.removeprefix("listening on "), node=node)
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_node_connector_passes_the_whole_kit(node_connector: RunningNode) -> None:
    delete = delete_by_command(f"{node_connector.node} {EXAMPLE / 'delete.js'} {node_connector.url}")
    report = run_conformance(node_connector.url, secret=SECRET, config=CONFIG, hooks=ConformanceHooks(delete))
    assert report.conforms, as_text(report)
    assert report.exit_code == 0
    assert report.outcome("changes_deleted") == Outcome.PASS


def test_the_hub_syncs_a_customer_through_the_node_connector(node_connector: RunningNode, database: Database) -> None:
    clients = hub_clients(database, Cipher(Fernet.generate_key()), timeout=5)
    erp = Wire(node_connector.url, SECRET)
    try:
        with database.session() as session:
            connector = add_connector(session, clients, name="Node", url=node_connector.url, secret=SECRET)
            draft = ConnectionDraft(name="Node ERP", connector_id=connector.id, config=CONFIG)
            connection = create_connection(session, clients, draft)
            connection.active = True
            connection_id = connection.id
            company_id = create_record(
                session, EntityType.COMPANY, {"NAME": "Fjord AS", "EMAIL": "post@fjord.example"}, changed_by="user:1"
            ).id
        erp_key = _erp_customer(erp, name="Fjord AS", email="post@fjord.example")
        with database.session() as session:
            links.create_link(
                session,
                connection_id=connection_id,
                entity_type=EntityType.COMPANY,
                entity_id=company_id,
                actor_type=m.ActorType.CUSTOMER,
                erp_key=erp_key,
                agreed={"name": "Fjord AS", "email": "post@fjord.example"},
            )
        mapping = ActorTypeMapping(
            actor_type=m.ActorType.CUSTOMER,
            active=True,
            fields=(
                FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
                FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
            ),
        )
        config = ConnectionConfig(mappings={m.ActorType.CUSTOMER: mapping})
        engine = sync_engine.Engine(database, clients, load_config=lambda _session, _connection: config)
        sync_engine.run_cycle(engine)

        _erp_save(erp, erp_key, email="billing@fjord.example")  # edited in the ERP ...
        with database.session() as session:  # ... and in the CRM, another field
            write_record(session, EntityType.COMPANY, company_id, {"NAME": "Fjord Shipping AS"}, changed_by="user:1")
        sync_engine.run_cycle(engine)

        with database.read_session() as session:
            crm = read_record(session, EntityType.COMPANY, company_id).values
        assert crm["EMAIL"] == "billing@fjord.example"
        assert _erp_read(erp, erp_key) == {"name": "Fjord Shipping AS", "email": "billing@fjord.example"}
    finally:
        erp.close()
        clients.close()


ERP_SIDE = "erp-side-connection"  # the ERP's records are the ERP's, whatever connection reads them


def _erp_call(erp: Wire, operation: str, payload: dict[str, object]) -> dict[str, object]:
    answer = erp.call(operation, {"connection_id": ERP_SIDE, **payload})
    if not answer.ok and answer.error_code == "unknown_connection":
        assert erp.call("save_connection", {"connection_id": ERP_SIDE, "config": CONFIG}).ok
        answer = erp.call(operation, {"connection_id": ERP_SIDE, **payload})
    assert answer.ok, answer.describe()
    assert answer.document is not None
    return answer.document


def _erp_customer(erp: Wire, **fields: m.Value) -> str:
    actor = {"actor_type": "customer", "fields": fields}
    created = _erp_call(erp, "create_actor", {"actor": actor, "idempotency_key": "fjord"})["actor"]
    assert isinstance(created, dict)
    return str(created["erp_key"])


def _erp_save(erp: Wire, erp_key: str, **fields: m.Value) -> None:
    answer = _erp_call(
        erp, "save_actors", {"actors": [{"actor_type": "customer", "erp_key": erp_key, "fields": fields}]}
    )
    assert answer["errors"] == []


def _erp_read(erp: Wire, erp_key: str) -> dict[str, m.Value]:
    payload = {"actor_type": "customer", "erp_keys": [erp_key], "field_keys": ["name", "email"]}
    actors = _erp_call(erp, "get_actors", payload)["actors"]
    assert isinstance(actors, list)
    return dict(actors[0]["fields"])
