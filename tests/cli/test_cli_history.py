"""``erpsync history show|revert|keep|purge`` and ``erpsync runs undo`` against the sample connector over loopback."""

from __future__ import annotations

from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import run_cli, run_json
from .test_cli_operations import _activate, _customer


def test_history_show_revert_undo_and_retention(main_connection: str, sample: RunningSample) -> None:
    key = _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    assert run_cli("import", "Main", "customer")[0] == 0
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "new@fjord.example"})
    run = run_json("connections", "sync", "Main")
    [change] = run_json("history", "show", "company", "1")
    assert (change["side"], change["field"], change["new_value"], change["run_id"]) == (
        "crm",
        "email",
        "new@fjord.example",
        run["id"],
    )
    code, output = run_cli("history", "show", "company", "1")
    assert code == 0, output
    assert "new@fjord.example" in output
    reverted = run_json("history", "revert", str(change["id"]))
    assert [(w["field"], w["value"]) for w in reverted["written"]] == [("email", "f@fjord.example")]
    again = run_json("runs", "undo", str(reverted["run_id"]))  # undo the revert: the new value comes back
    assert [(w["field"], w["value"]) for w in again["written"]] == [("email", "new@fjord.example")]
    code, output = run_cli("runs", "undo", str(reverted["run_id"]))
    assert code == 1
    assert "undone already" in output
    assert run_cli("history", "keep", "30") == (0, "the field history is kept 30 days\n")
    assert run_cli("history", "keep", "0")[0] == 1
    code, output = run_cli("history", "purge")
    assert code == 0, output
    assert output.startswith("0 changes older than")


def test_resync_from_the_erp_for_chosen_records_dry_run_first(main_connection: str, sample: RunningSample) -> None:
    key = _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    assert run_cli("import", "Main", "customer")[0] == 0
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "erp@fjord.example"})
    scope = ("--from", "erp", "--type", "customer", "--record", "1")
    preview = run_json("connections", "resync", "Main", *scope, "--dry-run")
    assert (preview["records"], preview["changed"]) == (1, 1)
    assert preview["rows"][0]["fields"][0] == {
        "field": "email",
        "side": "crm",
        "old": "f@fjord.example",
        "new": "erp@fjord.example",
    }
    code, output = run_cli("connections", "resync", "Main", *scope, "--dry-run")
    assert code == 0, output
    assert "1 of 1 records would change" in output
    assert run_json("history", "show", "company", "1") == []  # a dry run writes nothing
    job = run_json("connections", "resync", "Main", *scope)
    assert (job["kind"], job["status"], job["processed"]) == ("resync", "done", 1)
    [change] = run_json("history", "show", "company", "1")
    assert (change["source"], change["new_value"]) == ("resync", "erp@fjord.example")
    code, output = run_cli("connections", "resync", "Main", "--record", "1")
    assert code == 1
    assert "actor type" in output
