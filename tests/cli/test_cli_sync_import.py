"""``erpsync import`` and ``erpsync sync`` on the embedded default against the sample connector over loopback."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import read_record
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpConnection, ErpLink, SyncConnector
from erpsync.sync import configuration
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY, RunningSample
from erpsync.testing.server import free_port

from .conftest import run_cli

CUSTOMER = ActorType.CUSTOMER


def _active_connection(data_dir: Path, tmp_path: Path, sample: RunningSample) -> Database:
    """A connection added through the CLI, mapped (name and email both ways) and activated through the service."""
    code, output = run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    assert code == 0, output
    (tmp_path / "config.json").write_text(json.dumps(sample.config))
    code, output = run_cli(
        "connections", "add", "Main", "--connector", "Sample", "--config", str(tmp_path / "config.json")
    )
    assert code == 0, output
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    rows = (
        FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
        FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
    )
    with database.session() as session:
        connection = session.scalars(select(ErpConnection)).one()
        mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)
        configuration.save_mapping(session, connection, mapping, erp_lists={})
        configuration.activate(session, connection, erp_lists={})
    return database


def test_import_then_sync_from_the_command_line(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    keys = [
        sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord({"name": f"Fjord {n}", "email": f"f{n}@fjord.example"}))
        for n in range(5)
    ]
    database = _active_connection(data_dir, tmp_path, sample)
    code, output = run_cli("import", "Main", "customer")
    assert code == 0, output
    code, output = run_cli("import", "Main", "customer")  # a re-run links, never duplicates
    assert code == 0, output
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 5
        link = session.scalars(select(ErpLink).where(ErpLink.erp_key == keys[0])).one()
        company_id = link.entity_id

    sample.erp.update_actor(COMPANY, CUSTOMER, keys[0], {"email": "new@fjord.example"})
    code, output = run_cli("sync")
    assert code == 0, output
    assert "connection 1: ok" in output
    with database.read_session() as session:
        assert read_record(session, EntityType.COMPANY, company_id).values["EMAIL"] == "new@fjord.example"
    database.dispose()


def test_import_of_an_unknown_connection_or_type_is_one_clear_line(
    data_dir: Path, tmp_path: Path, sample: RunningSample
) -> None:
    _active_connection(data_dir, tmp_path, sample).dispose()
    code, output = run_cli("import", "Nope", "customer")
    assert code == 1
    assert "no ERP connection named 'Nope'" in output
    code, output = run_cli("import", "Main", "supplier")
    assert code == 1
    assert "supplier" in output


def _synced_pair(data_dir: Path, tmp_path: Path, sample: RunningSample) -> tuple[Database, str]:
    """An active connection whose one ERP customer is imported and linked; returns the database and its ERP key."""
    key = sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord({"name": "Fjord", "email": "f@fjord.example"}))
    database = _active_connection(data_dir, tmp_path, sample)
    code, output = run_cli("import", "Main", "customer")
    assert code == 0, output
    return database, key


def test_sync_exits_non_zero_when_a_run_is_partial(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    database, key = _synced_pair(data_dir, tmp_path, sample)
    sample.erp.update_actor(COMPANY, CUSTOMER, key, {"email": "f\x00@fjord.example"})  # the CRM refuses NUL
    code, output = run_cli("sync")
    assert code == 1, output
    assert "connection 1: partial" in output
    assert "1 of 1 runs did not succeed: connection 1 partial" in output
    with database.read_session() as session:
        link = session.scalars(select(ErpLink)).one()
        assert link.state == "failing"
    database.dispose()


def test_sync_exits_non_zero_when_the_connector_cannot_be_reached(
    data_dir: Path, tmp_path: Path, sample: RunningSample
) -> None:
    database, _key = _synced_pair(data_dir, tmp_path, sample)
    with database.session() as session:  # the connector moved away: every call of the run fails
        session.scalars(select(SyncConnector)).one().url = f"http://127.0.0.1:{free_port()}"
    code, output = run_cli("sync")
    assert code == 1, output
    assert "could not reach the connector" in output
    assert "1 of 1 runs did not succeed" in output
    database.dispose()


def test_sync_exits_zero_only_when_every_run_succeeded(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    database, key = _synced_pair(data_dir, tmp_path, sample)
    sample.erp.update_actor(COMPANY, CUSTOMER, key, {"email": "new@fjord.example"})
    code, output = run_cli("sync")
    assert code == 0, output
    assert "connection 1: ok" in output
    assert "did not succeed" not in output
    database.dispose()
