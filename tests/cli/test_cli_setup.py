"""``erpsync connectors show|update`` and ``connections show|update|refresh|delete|restore`` against the sample
connector over loopback: ``sync.setup``'s use cases, the API's JSON, refusals that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from erpsync import audit
from erpsync.storage.db import Database
from erpsync.testing.sample import RunningSample

from .conftest import run_cli, run_json


def test_connector_show_and_update(main_connection: str, sample: RunningSample) -> None:
    shown = run_json("connectors", "show", "Sample")
    assert (shown["name"], shown["url"], shown["info"]["name"]) == ("Sample", sample.url, "sample")
    assert sample.secret not in json.dumps(shown)
    code, output = run_cli("connectors", "show", "Sample")
    assert code == 0
    assert sample.url in output

    assert run_cli("connectors", "update", "Sample", "--name", "Sample ERP") == (0, "connector Sample ERP updated\n")
    assert run_json("connectors", "list")[0]["name"] == "Sample ERP"
    code, output = run_cli("connectors", "update", "Sample ERP", "--url", "http://127.0.0.1:1")
    assert code == 1
    assert "does not answer as an erpsync connector" in output
    code, output = run_cli("connectors", "update", "Sample ERP", "--secret-stdin", stdin="a wrong secret\n")
    assert code == 1
    assert run_json("connectors", "show", "Sample ERP")["url"] == sample.url
    assert run_cli("connectors", "show", "Nope") == (1, "error: no sync connector named 'Nope'\n")
    assert run_cli("connections", "test", main_connection)[0] == 0


def test_connection_show_update_and_refresh(main_connection: str, tmp_path: Path, sample: RunningSample) -> None:
    shown = run_json("connections", "show", main_connection)
    assert (shown["name"], shown["connector_name"], shown["active"]) == ("Main", "Sample", False)
    assert shown["secrets_set"] == ["password"]
    assert sample.config["password"] not in json.dumps(shown)
    assert run_json("connections", "list") == [shown]

    (tmp_path / "visibility.json").write_text(json.dumps({"everyone": False, "users": [], "groups": []}))
    updated = run_json(
        "connections",
        "update",
        "Main",
        "--description",
        "the main ERP",
        "--visibility",
        str(tmp_path / "visibility.json"),
    )
    assert (updated["description"], updated["visibility"]["everyone"]) == ("the main ERP", False)

    (tmp_path / "wrong.json").write_text(json.dumps({**sample.config, "password": "wrong"}))
    code, output = run_cli("connections", "update", "Main", "--config", str(tmp_path / "wrong.json"))
    assert code == 1
    assert "The ERP refused the user name or password." in output
    (tmp_path / "odd.json").write_text(json.dumps({"everyone": "perhaps", "colour": "blue"}))
    code, output = run_cli("connections", "update", "Main", "--visibility", str(tmp_path / "odd.json"))
    assert code == 1
    assert output.startswith("error: refused:")
    assert len(output.splitlines()) == 1
    assert run_json("connections", "show", "Main") == updated

    code, output = run_cli("connections", "refresh", "Main")
    assert code == 0, output
    assert "connection Main refreshed" in output


def test_connection_delete_and_restore(main_connection: str, data_dir: Path) -> None:
    code, output = run_cli("connections", "delete", "Main")
    assert code == 0, output
    assert run_json("connections", "list") == []
    assert [c["name"] for c in run_json("connections", "list", "--deleted")] == ["Main"]
    assert run_json("connections", "show", "Main", "--deleted")["deleted"] is True
    assert run_cli("connections", "delete", "Main") == (1, "error: no ERP connection named 'Main'\n")
    assert run_cli("connections", "restore", "Main") == (0, "connection Main restored (inactive)\n")
    assert run_json("connections", "show", "Main")["deleted"] is False
    assert run_cli("connections", "restore", "Main") == (1, "error: no deleted ERP connection named 'Main'\n")
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    with database.read_session() as session:
        actions = [
            (e.action, e.user_id, e.detail_json.get("via")) for e in audit.entries(session, target_type="connection")
        ]
    database.dispose()
    assert actions[:2] == [("restore", None, "cli"), ("delete", None, "cli")]


def test_connector_config_form(main_connection: str) -> None:
    form = run_json("connectors", "form", "Sample")
    keys = [field["key"] for field in form["fields"]]
    assert {"company", "user", "password"} <= set(keys)
    assert "NORDIC" in [item["key"] for item in form["lists"]["erp_company"]]
    code, output = run_cli("connectors", "form", "Sample")
    assert code == 0
    assert "password" in output
    assert run_cli("connectors", "form", "Nope") == (1, "error: no sync connector named 'Nope'\n")
