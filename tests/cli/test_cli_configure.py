"""``erpsync mappings``, ``list-mappings``, ``defaults``, ``ranks``, ``policy``, ``priority`` and ``connections
activate|deactivate`` against the sample connector over loopback: ``show --json`` prints the API's answer, ``set``
takes it back unchanged, and a refused save changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from erpsync import audit
from erpsync.storage.db import Database
from erpsync.testing.sample import RunningSample

from .conftest import run_cli, run_json


def _round_trip(*show: str, set_args: tuple[str, ...] | None = None) -> Any:
    """``show --json | set`` changes nothing: the set answers what show printed, and show prints it again."""
    shown = run_json(*show)
    command = set_args or (show[0], "set", *show[2:])
    assert run_json(*command, stdin=json.dumps(shown)) == shown
    assert run_json(*show) == shown
    return shown


def _rows(mapping: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["erp_field"]: row for row in mapping["fields"]}


def test_mappings_show_set_and_auto(main_connection: str) -> None:
    shown = _round_trip("mappings", "show", "Main", "customer")
    assert (shown["actor_type"], shown["entity"], shown["active"]) == ("customer", "company", False)
    assert _rows(shown)["name"]["crm_field"] == "NAME"
    code, output = run_cli("mappings", "show", "Main", "customer")
    assert code == 0, output
    assert "Name" in output

    auto = run_json("mappings", "auto", "Main", "customer", "--direction", "both", "--on")
    rows = _rows(auto)
    assert auto["active"] is True
    assert (rows["name"]["crm_field"], rows["name"]["direction"]) == ("NAME", "both")
    assert rows["number"]["direction"] in ("to_crm", "none")
    assert {row["direction"] for row in auto["fields"] if row["crm_field"] is None} == {"none"}
    _round_trip("mappings", "show", "Main", "customer")

    refused = {"active": True, "fields": [{"erp_field": "colour", "crm_field": "NAME", "direction": "both"}]}
    code, output = run_cli("mappings", "set", "Main", "customer", stdin=json.dumps(refused))
    assert code == 1
    assert output == "error: customer.colour: unknown ERP field 'colour'\n"
    code, output = run_cli("mappings", "set", "Main", "customer", stdin='{"active": true, "colour": 1}')
    assert code == 1
    assert output.startswith("error: refused: colour:")
    code, output = run_cli("mappings", "set", "Main", "customer", stdin="{not json")
    assert code == 1
    assert output.startswith("error: cannot read JSON from standard input")
    assert run_json("mappings", "show", "Main", "customer") == auto
    assert run_cli("mappings", "show", "Main", "spaceship")[0] == 1
    assert run_cli("mappings", "show", "Nope", "customer") == (1, "error: no ERP connection named 'Nope'\n")


def _country_items(view: dict[str, Any]) -> dict[str, int | None]:
    """Denmark and Sweden paired with the CRM's items, every other ERP country explicitly not."""
    country = view["lists"]["country"]
    crm = {item["label"]: item["id"] for item in country["crm_items"]}
    pairs = {"DK": crm.get("Denmark"), "SE": crm.get("Sweden")}
    return {item["key"]: pairs.get(item["key"]) for item in country["erp_items"]}


def test_list_mappings_defaults_ranks_and_policy_round_trip(main_connection: str, tmp_path: Path) -> None:
    assert run_cli("mappings", "auto", "Main", "customer", "--direction", "both")[0] == 0
    unsaved = _round_trip("list-mappings", "show", "Main")
    assert unsaved["lists"]["country"]["saved"] is False
    body = {"lists": {"country": {"crm_list": "country", "items": _country_items(unsaved)}}}
    (tmp_path / "lists.json").write_text(json.dumps(body))
    saved = run_json("list-mappings", "set", "Main", str(tmp_path / "lists.json"))
    assert saved["lists"]["country"]["saved"] is True
    assert _round_trip("list-mappings", "show", "Main") == saved
    twice = {"lists": {"country": {"crm_list": "country", "items": {"DK": 1, "SE": 1}}}}
    code, output = run_cli("list-mappings", "set", "Main", stdin=json.dumps(twice))
    assert code == 1
    assert "is paired with both 'DK' and 'SE'" in output
    assert run_json("list-mappings", "show", "Main") == saved
    assert run_cli("list-mappings", "show", "Main")[0] == 0

    defaults = run_json("defaults", "set", "Main", "customer", stdin='{"defaults": {"currency": {"value": "DKK"}}}')
    assert defaults["defaults"]["currency"] == {"value": "DKK", "ask_user": False, "mandatory": False}
    assert _round_trip("defaults", "show", "Main", "customer") == defaults
    code, output = run_cli("defaults", "set", "Main", "customer", stdin='{"defaults": {"number": {"value": "X1"}}}')
    assert (code, output) == (1, "error: customer.number: this ERP field cannot be given a value\n")
    assert run_cli("defaults", "show", "Main", "customer")[0] == 0

    order = run_json("ranks", "show", "Main", "customer")["order"]
    ranks = run_json("ranks", "set", "Main", "customer", stdin=json.dumps({"order": list(reversed(order))}))
    assert ranks["order"] == list(reversed(order))
    assert _round_trip("ranks", "show", "Main", "customer") == ranks
    assert run_cli("ranks", "set", "Main", "customer", stdin='{"order": ["name"]}')[0] == 1
    assert run_json("ranks", "show", "Main", "customer") == ranks
    assert run_cli("ranks", "show", "Main", "customer")[0] == 0

    assert run_json("policy", "show", "Main") == {"policy": "newest", "no_blank_overwrite": False}
    policy = run_json("policy", "set", "Main", stdin='{"policy": "crm", "no_blank_overwrite": true}')
    assert _round_trip("policy", "show", "Main") == policy == {"policy": "crm", "no_blank_overwrite": True}
    assert run_cli("policy", "set", "Main", stdin='{"policy": "loudest"}')[0] == 1
    assert run_json("policy", "show", "Main") == policy
    assert "no_blank_overwrite" in run_cli("policy", "show", "Main")[1]


def test_priority_show_and_set(main_connection: str, tmp_path: Path, sample: RunningSample) -> None:
    (tmp_path / "second.json").write_text(json.dumps(sample.config))
    code, output = run_cli(
        "connections", "add", "Second", "--connector", "Sample", "--config", str(tmp_path / "second.json")
    )
    assert code == 0, output
    assert [c["name"] for c in run_json("priority", "show")["connections"]] == ["Main", "Second"]
    priority = run_json("priority", "set", "--connection", "Second", "--connection", "Main")
    assert [c["name"] for c in priority["connections"]] == ["Second", "Main"]
    assert _round_trip("priority", "show", set_args=("priority", "set", "-")) == priority
    code, output = run_cli("priority", "set", "--connection", "Main")
    assert code == 1
    assert output.startswith("error: ")
    assert run_cli("priority", "set")[0] == 2
    assert run_json("priority", "show") == priority
    assert "Second" in run_cli("priority", "show")[1]


def test_activate_is_refused_with_every_reason_then_succeeds(main_connection: str, data_dir: Path) -> None:
    code, output = run_cli("connections", "activate", "Main")
    assert (code, output) == (1, "error: no actor type is switched on: switch on the mapping of at least one\n")
    assert run_cli("mappings", "auto", "Main", "customer", "--direction", "both", "--on")[0] == 0
    code, output = run_cli("connections", "activate", "Main")
    assert code == 1
    assert "customer.country: list 'country' has no list mapping" in output
    assert len(output.splitlines()) == 1
    assert run_json("connections", "show", "Main")["active"] is False

    items = _country_items(run_json("list-mappings", "show", "Main"))
    body = json.dumps({"lists": {"country": {"crm_list": "country", "items": items}}})
    assert run_cli("list-mappings", "set", "Main", stdin=body)[0] == 0
    assert run_cli("connections", "activate", "Main") == (0, "connection Main active\n")
    assert run_json("connections", "show", "Main")["active"] is True
    assert run_cli("connections", "deactivate", "Main") == (0, "connection Main inactive\n")
    assert run_json("connections", "show", "Main")["active"] is False
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    with database.read_session() as session:
        entries = audit.entries(session, target_type="connection")
        assert [(e.action, e.user_id, e.detail_json["via"]) for e in entries[:2]] == [
            ("deactivate", None, "cli"),
            ("activate", None, "cli"),
        ]
    database.dispose()


def test_delete_policies_are_set_shown_refused_and_previewed(main_connection: str) -> None:
    shown = run_json("mappings", "show", "Main", "customer")
    assert (shown["erp_delete"], shown["crm_delete"]) == ("keep", "unlink")
    preview = run_json("mappings", "delete-preview", "Main", "customer")
    assert preview == {"erp_delete": "delete", "broken": 0, "deleted": 0, "deactivated": 0}
    code, output = run_cli("mappings", "delete-preview", "Main", "customer", "--erp-delete", "keep")
    assert (code, output) == (
        0,
        "0 broken links (ERP record deleted or missing); under keep: 0 CRM records deleted, 0 deactivated\n",
    )
    body = {**shown, "erp_delete": "delete", "crm_delete": "deactivate_in_erp"}
    saved = run_json("mappings", "set", "Main", "customer", stdin=json.dumps(body))
    assert (saved["erp_delete"], saved["crm_delete"]) == ("delete", "deactivate_in_erp")
    code, output = run_cli("mappings", "show", "Main", "customer")
    assert "ERP deletion: delete; CRM deletion: deactivate_in_erp" in output
    refused = {"crm_delete": "deactivate_in_erp"}
    code, output = run_cli("mappings", "set", "Main", "project", stdin=json.dumps(refused))
    assert code == 1
    assert "project.crm_delete: the connector offers no writable 'active' checkbox for a project" in output
    deactivate = run_json("mappings", "set", "Main", "project", stdin=json.dumps({"erp_delete": "deactivate"}))
    assert deactivate["erp_delete"] == "deactivate"
