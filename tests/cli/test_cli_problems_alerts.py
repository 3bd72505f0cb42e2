"""``erpsync problems groups|retry --cause|unlink``, ``alerts``, ``audit`` and ``connections purge`` against the
sample connector over loopback: the service layer's use cases here and now, refusals that change nothing."""

from __future__ import annotations

from pathlib import Path

from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY, RunningSample
from erpsync.testing.server import free_port

from .conftest import run_cli, run_json
from .test_cli_operations import _activate, _customer


def _failing_record(sample: RunningSample) -> str:
    key = _customer(sample, "Fjord", "f@fjord.example")
    _activate("Main")
    assert run_cli("import", "Main", "customer")[0] == 0
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "f\x00@fjord.example"})  # the CRM refuses NUL
    assert run_cli("connections", "sync", "Main")[0] == 1
    return key


def test_problems_grouped_by_cause_and_a_cause_retried(main_connection: str, sample: RunningSample) -> None:
    key = _failing_record(sample)
    found = run_json("problems", "groups", "Main")
    (group,) = found["groups"]
    assert (group["records"], len(group["examples"]), found["broken"]) == (1, 1, [])
    code, output = run_cli("problems", "groups", "Main")
    assert code == 0
    assert group["cause"] in output
    assert run_cli("problems", "retry", "Main", "--cause", "no-such-cause")[0] == 1
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "new@fjord.example"})
    assert run_json("problems", "retry", "Main", "--cause", group["cause"]) == {"records": 1}
    assert run_cli("connections", "sync", "Main")[0] == 0
    assert run_json("problems", "groups", "Main")["groups"] == []
    assert run_cli("problems", "retry", "Main", "1", "--cause", group["cause"])[0] == 2
    assert run_cli("problems", "unlink", "Main", "999")[0] == 1


def test_alert_settings_recipients_and_a_failed_delivery_recorded(
    main_connection: str, sample: RunningSample, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text("p4ss\n")
    settings = run_json(
        "alerts", "set", "--smtp-host", "127.0.0.1", "--smtp-port", str(free_port()), "--from", "hub@example.com",
        "--smtp-password-file", str(tmp_path / "password"),
    )  # fmt: skip
    assert (settings["smtp_host"], settings["smtp_password_set"]) == ("127.0.0.1", True)
    assert "p4ss" not in run_cli("alerts", "show")[1]
    assert run_json("alerts", "set", "--timeout", "3")["smtp_password_set"] is True
    assert run_cli("alerts", "add", "Main", "not an address")[0] == 1
    assert run_cli("alerts", "add", "Main", "ops@example.com", "--no-recoveries")[0] == 0
    (recipient,) = run_json("alerts", "recipients", "Main")
    assert (recipient["target"], recipient["on_alert"], recipient["on_recovery"]) == ("ops@example.com", True, False)

    _failing_record(sample)
    code, output = run_cli("alerts", "check")
    assert code == 0
    assert "1 new cause(s), 0 recovered, 0 of 1 notice(s) delivered" in output
    assert run_cli("alerts", "check")[1] == ""  # told once
    (delivery,) = run_json("alerts", "deliveries", "Main")
    assert (delivery["kind"], delivery["ok"]) == ("alert", False)
    assert run_cli("alerts", "remove", "Main", str(recipient["id"]))[0] == 0
    assert run_json("alerts", "recipients", "Main") == []


def test_audit_log_and_purge_with_confirmation(main_connection: str) -> None:
    assert run_cli("connections", "purge", "Main", "--yes")[0] == 1  # not deleted
    assert run_cli("connections", "delete", "Main")[0] == 0
    code, output = run_cli("connections", "purge", "Main", stdin="n\n")
    assert code == 1
    assert "Aborted" in output
    assert run_json("connections", "list", "--deleted")[0]["name"] == "Main"
    code, output = run_cli("connections", "purge", "Main", "--yes")
    assert code == 0
    assert "purged with 0 link(s)" in output
    assert run_json("connections", "list", "--deleted") == []
    log = run_json("audit", "--who", "system", "--what", "connection")
    assert [entry["action"] for entry in log["entries"]] == ["purge", "delete", "create"]
    assert run_json("audit", "--action", "purge", "--since", "2000-01-01")["total"] == 1
    assert run_json("audit", "--until", "2000-01-01")["entries"] == []
    assert run_cli("audit", "--who", "nobody")[0] == 1
