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
from erpsync.storage.tables import Company, ErpConnection, ErpLink
from erpsync.sync import configuration
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY, RunningSample

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
