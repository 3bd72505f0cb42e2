"""The administrator's commands on PostgreSQL: set up, configure by round trip, activate, import, sync, fix a failing
record and change users, all from the command line against the sample connector over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync import audit
from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.testing.db import postgres_database
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import run_cli, run_json

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_hub(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hub's database on a fresh PostgreSQL database of this test's own."""
    with postgres_database() as url:
        monkeypatch.setenv("ERPSYNC_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url
        get_settings.cache_clear()


def test_an_administrator_runs_a_connection_from_the_command_line(
    postgres_hub: str, tmp_path: Path, sample: RunningSample
) -> None:
    key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord({"name": "Fjord", "email": "f@fjord.example"}))
    assert run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")[0] == 0
    (tmp_path / "config.json").write_text(json.dumps(sample.config))
    assert (
        run_cli("connections", "add", "Main", "--connector", "Sample", "--config", str(tmp_path / "config.json"))[0]
        == 0
    )

    mapping = run_json("mappings", "auto", "Main", "customer", "--direction", "both", "--on")
    assert run_json("mappings", "set", "Main", "customer", stdin=json.dumps(mapping)) == mapping
    country = run_json("list-mappings", "show", "Main")["lists"]["country"]
    items = {item["key"]: None for item in country["erp_items"]}
    lists = run_json(
        "list-mappings",
        "set",
        "Main",
        stdin=json.dumps({"lists": {"country": {"crm_list": "country", "items": items}}}),
    )
    assert run_json("list-mappings", "set", "Main", stdin=json.dumps(lists)) == lists
    assert run_cli("connections", "activate", "Main") == (0, "connection Main active\n")
    assert run_json("import", "Main", "customer")["created"] == 1

    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "f\x00@fjord.example"})
    assert run_json("connections", "sync", "Main", expect=1)["status"] == "partial"
    (problem,) = run_json("problems", "list", "Main")
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "new@fjord.example"})
    assert [r["state"] for r in run_json("problems", "retry", "Main", "--all")] == ["ok"]
    assert run_json("connections", "health", "Main")["in_sync"] == 1
    assert run_json("problems", "list", "Main") == []

    assert run_cli("users", "add", "ann", "--password-stdin", stdin="ann password\n")[0] == 0
    assert run_json("users", "update", "ann", "--licence", "erp")["licences"] == ["erp"]
    assert run_json("engine", "interval", "120")["interval_seconds"] == 120
    database = Database(postgres_hub)
    with database.read_session() as session:
        entries = audit.entries(session)
    database.dispose()
    assert {entry.detail_json.get("via") for entry in entries if entry.user_id is None} == {"cli"}
    assert problem["state"] == "failing"
