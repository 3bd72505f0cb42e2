"""``erpsync connections sync|resync|health``, ``engine``, ``runs``, ``imports`` and ``problems`` against the sample
connector over loopback: ``sync.operations``' use cases here and now, the API's JSON, refusals that change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import run_cli, run_json


def _activate(name: str) -> None:
    """Customers synced both ways by the auto-mapping, every ERP country paired or explicitly not, switched on."""
    assert run_cli("mappings", "auto", name, "customer", "--direction", "both", "--on")[0] == 0
    country = run_json("list-mappings", "show", name)["lists"]["country"]
    crm = {item["label"]: item["id"] for item in country["crm_items"]}
    items = {
        item["key"]: crm.get({"DK": "Denmark", "SE": "Sweden"}.get(item["key"], "")) for item in country["erp_items"]
    }
    body = json.dumps({"lists": {"country": {"crm_list": "country", "items": items}}})
    assert run_cli("list-mappings", "set", name, stdin=body)[0] == 0
    code, output = run_cli("connections", "activate", name)
    assert code == 0, output


def _customer(sample: RunningSample, name: str, email: str) -> str:
    return sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord({"name": name, "email": email}))


def test_engine_show_on_off_interval(data_dir: object) -> None:
    assert run_json("engine", "show") == {"running": True, "interval_seconds": 300}
    assert run_json("engine", "off") == {"running": False, "interval_seconds": 300}
    assert run_json("engine", "interval", "60") == {"running": False, "interval_seconds": 60}
    assert run_cli("engine", "on") == (0, "automatic sync on, every 60 seconds\n")
    code, output = run_cli("engine", "interval", "0")
    assert code == 1
    assert output.startswith("error: refused: interval_seconds:")
    assert run_cli("engine", "interval", "soon")[0] == 2
    assert run_json("engine", "show") == {"running": True, "interval_seconds": 60}


def test_sync_now_health_and_runs(main_connection: str, sample: RunningSample) -> None:
    key = _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    code, output = run_cli("import", "Main", "customer")
    assert code == 0, output
    assert "1 created" in output

    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "new@fjord.example"})
    run = run_json("connections", "sync", "Main")
    assert (run["kind"], run["status"], run["connection_id"]) == ("connection", "ok", 1)
    code, output = run_cli("connections", "sync", "Main")
    assert code == 0, output
    assert "(connection): ok" in output
    health = run_json("connections", "health", "Main")
    assert (health["in_sync"], health["failing"], health["broken"]) == (1, 0, 0)
    assert "in sync" in run_cli("connections", "health", "Main")[1]

    listed = run_json("runs", "list", "--connection", "Main")
    assert [r["kind"] for r in listed] == ["connection", "connection", "import"]
    assert health["last_run"] == listed[0]
    assert run_json("runs", "list", "--limit", "1", "--offset", "1") == listed[1:2]
    shown = run_json("runs", "show", str(listed[-1]["id"]))
    assert (shown["kind"], shown["job"]["kind"], shown["cancel_requested"]) == ("import", "import", False)
    (event,) = run_json("runs", "events", str(run["id"]))
    assert (event["actor_type"], event["erp_key"]) == ("customer", key)
    code, output = run_cli("runs", "events", str(run["id"]))
    assert code == 0
    assert key in output
    code, output = run_cli("runs", "list")
    assert code == 0
    assert "import" in output

    code, output = run_cli("runs", "cancel", str(run["id"]))
    assert code == 1
    assert len(output.splitlines()) == 1
    assert run_json("runs", "show", str(run["id"]))["cancel_requested"] is False
    assert run_cli("runs", "show", "999") == (1, "error: no run with id 999\n")


def test_imports_list_resume_undo_cancel(main_connection: str, sample: RunningSample) -> None:
    for n in range(3):
        _customer(sample, f"Fjord {n}", f"f{n}@fjord.example")
    _activate(main_connection)
    done = run_json("import", "Main", "customer")
    assert (done["status"], done["created"]) == ("done", 3)
    assert run_json("imports", "list", "Main") == [done]
    assert str(done["id"]) in run_cli("imports", "list", "Main")[1]

    code, output = run_cli("imports", "resume", "Main", str(done["id"]))
    assert code == 1
    assert output.startswith("error: ")
    code, output = run_cli("imports", "cancel", "Main", str(done["id"]))
    assert code == 1
    assert output.startswith("error: ")
    assert run_cli("imports", "undo", "Main", str(done["id"])) == (
        0,
        f"import {done['id']} undone: 3 records deleted\n",
    )
    code, output = run_cli("imports", "undo", "Main", str(done["id"]))
    assert code == 1
    assert run_cli("imports", "undo", "Main", "999")[0] == 1
    assert run_json("imports", "list", "Main")[0]["undone_at"] is not None


def test_resync_runs_here_with_its_result(main_connection: str, sample: RunningSample) -> None:
    _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    assert run_cli("import", "Main", "customer")[0] == 0
    job = run_json("connections", "resync", "Main", "--no-blank-overwrite")
    assert (job["kind"], job["status"], job["processed"]) == ("resync", "done", 1)


def _problems(name: str) -> list[dict[str, Any]]:
    return run_json("problems", "list", name)


def test_problems_list_and_retry(main_connection: str, sample: RunningSample) -> None:
    key = _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    assert run_cli("import", "Main", "customer")[0] == 0
    assert _problems("Main") == []
    assert run_json("problems", "retry", "Main", "--all") == []

    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "f\x00@fjord.example"})  # the CRM refuses NUL
    assert run_cli("connections", "sync", "Main")[0] == 1
    (problem,) = _problems("Main")
    assert (problem["state"], problem["erp_key"]) == ("failing", key)
    code, output = run_cli("problems", "list", "Main")
    assert code == 0
    assert "failing" in output
    code, output = run_cli("problems", "retry", "Main", str(problem["id"]))
    assert code == 1
    assert f"link {problem['id']}: failing" in output

    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "new@fjord.example"})
    (result,) = run_json("problems", "retry", "Main", "--all")
    assert (result["link_id"], result["state"]) == (problem["id"], "ok")
    assert _problems("Main") == []
    assert run_cli("problems", "retry", "Main")[0] == 2
    assert run_cli("problems", "retry", "Main", "999")[0] == 1


def test_imports_preview_and_criteria(main_connection: str, sample: RunningSample, tmp_path: Path) -> None:
    _customer(sample, "Fjord", "f@fjord.example")
    _customer(sample, "Skagen", "s@skagen.example")
    _activate(main_connection)
    preview = run_json("imports", "preview", "Main", "customer")
    assert sorted((row["label"], row["action"]) for row in preview) == [("Fjord", "create"), ("Skagen", "create")]
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps([{"field": "name", "operator": "=", "values": ["Skagen"]}]))
    (row,) = run_json("imports", "preview", "Main", "customer", "--criteria", str(criteria))
    assert row["label"] == "Skagen"
    assert "Skagen" in run_cli("imports", "preview", "Main", "customer")[1]
    done = run_json("import", "Main", "customer", "--criteria", str(criteria))
    assert done["created"] == 1

    criteria.write_text(json.dumps([{"field": "name", "colour": "red"}]))
    code, output = run_cli("imports", "preview", "Main", "customer", "--criteria", str(criteria))
    assert code == 1
    assert output.startswith("error: refused:")
    criteria.write_text("[{")
    code, output = run_cli("import", "Main", "customer", "--criteria", str(criteria))
    assert code == 1
    assert output.startswith("error: cannot read JSON")
    assert len(run_json("imports", "list", "Main")) == 1


def test_a_queued_import_is_cancelled_then_resumed_to_its_end(main_connection: str, sample: RunningSample) -> None:
    from erpsync.cli import common
    from erpsync.sync import imports
    from erpsync.sync.work import Engine

    _customer(sample, "Fjord", "f@fjord.example")
    _activate(main_connection)
    with common.hub_and_clients() as (database, clients):  # queued as the API queues it, for the workers
        job_id = imports.start_import(Engine(database, clients), 1, ActorType.CUSTOMER).id
    assert [job["status"] for job in run_json("imports", "list", "Main")] == ["queued"]
    assert run_cli("imports", "cancel", "Main", str(job_id)) == (0, f"import {job_id}: cancelled\n")
    assert run_cli("imports", "cancel", "Main", "999")[0] == 1
    done = run_json("imports", "resume", "Main", str(job_id))
    assert (done["id"], done["status"], done["created"]) == (job_id, "done", 1)
