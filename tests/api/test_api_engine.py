"""``/engine`` and per-connection Sync now, health, failing records and retry, over real HTTP with the sample ERP."""

from __future__ import annotations

import httpx

from erpsync.errors import ErrorCode
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import utcnow
from erpsync.sync import links, locks
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok


def test_sync_now_runs_the_connection_and_answers_the_run(synced: Synced) -> None:
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "erp@acme.example"})
    run = ok(synced.sync())
    assert (run["kind"], run["status"], run["connection_id"]) == ("connection", "ok", synced.connection_id)
    assert run["counts"]["crm_writes"] == 1
    assert run["finished_at"] is not None
    assert synced.company()["email"] == "erp@acme.example"
    health = ok(synced.admin.get(f"{synced.base}/health"))
    assert (health["in_sync"], health["failing"], health["broken"]) == (1, 0, 0)
    assert health["last_run"]["id"] == run["id"]


def test_sync_now_is_refused_while_a_run_of_the_connection_is_under_way(synced: Synced) -> None:
    with locks.held(synced.hub.database, locks.connection_lock(synced.connection_id)):
        busy = synced.sync()
    assert busy.status_code == 409
    assert "busy" in busy.json()["detail"]


def test_sync_now_of_an_inactive_connection_is_refused(synced: Synced) -> None:
    ok(synced.admin.post(f"{synced.base}/deactivate"))
    assert synced.sync().status_code == 422


def test_a_parked_record_is_listed_and_retried(synced: Synced) -> None:
    with synced.hub.database.session() as session:
        links.mark_failed(links.get_link(session, synced.link_id), ErrorCode.VALIDATION, "refused", now=utcnow())
    failing = ok(synced.admin.get(f"{synced.base}/failing"))
    assert [(r["id"], r["error_reason"], r["next_attempt_at"]) for r in failing] == [
        (synced.link_id, "validation", None)
    ]
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "fixed@acme.example"})
    result = ok(synced.admin.post(f"{synced.base}/failing/{synced.link_id}/retry"))
    assert result == {
        "link_id": synced.link_id,
        "state": "ok",
        "changed": {"crm": ["EMAIL"], "erp": []},
        "conflicts": [],
        "errors": [],
    }
    assert ok(synced.admin.get(f"{synced.base}/failing")) == []


def test_engine_settings_default_save_and_refuse_a_bad_interval(admin: httpx.Client, user: httpx.Client) -> None:
    assert ok(admin.get("/engine")) == {"running": True, "interval_seconds": 300}
    assert ok(admin.put("/engine", json={"running": False, "interval_seconds": 60})) == {
        "running": False,
        "interval_seconds": 60,
    }
    assert ok(admin.get("/engine")) == {"running": False, "interval_seconds": 60}
    assert admin.put("/engine", json={"running": True, "interval_seconds": 0}).status_code == 422
    assert ok(admin.get("/engine"))["interval_seconds"] == 60
    assert user.get("/engine").status_code == 403
    assert user.put("/engine", json={"running": True, "interval_seconds": 60}).status_code == 403


def test_sync_endpoints_need_an_administrator(synced: Synced, user: httpx.Client) -> None:
    assert user.post(f"{synced.base}/sync").status_code == 403
    assert user.get(f"{synced.base}/health").status_code == 403
    assert user.get(f"{synced.base}/failing").status_code == 403
