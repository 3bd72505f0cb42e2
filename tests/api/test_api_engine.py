"""``/engine`` and per-connection Sync now, health, failing records and retry, over real HTTP with the sample ERP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.errors import ErrorCode
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import utcnow
from erpsync.sync import links, locks
from erpsync.testing.sample import COMPANY, RunningSample, running_sample

from .conftest import Hub


@dataclass
class Synced:
    """An active connection mapping customer name and email both ways, and one linked company."""

    hub: Hub
    admin: httpx.Client
    sample: RunningSample
    connection_id: int
    company_id: int
    erp_key: str
    link_id: int

    @property
    def base(self) -> str:
        return f"/connections/{self.connection_id}"

    def sync(self) -> httpx.Response:
        return self.admin.post(f"{self.base}/sync")

    def company(self) -> dict[str, Any]:
        answer = self.admin.get(f"/companies/{self.company_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def synced(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Synced]:
    with running_sample(tmp_path / "sample") as sample:
        connector = _ok(admin.post("/connectors", json={"name": "S", "url": sample.url, "secret": sample.secret}), 201)
        body = {"name": "Main", "connector_id": connector["id"], "config": sample.config}
        connection_id = _ok(admin.post("/connections", json=body), 201)["id"]
        rows = [
            {"erp_field": "name", "crm_field": "NAME", "direction": "both"},
            {"erp_field": "email", "crm_field": "EMAIL", "direction": "both"},
        ]
        _ok(admin.put(f"/connections/{connection_id}/mappings/customer", json={"active": True, "fields": rows}))
        _ok(admin.post(f"/connections/{connection_id}/activate"))
        company_id = _ok(admin.post("/companies", json={"name": "Acme", "email": "a@acme.example"}), 201)["id"]
        values = {"name": "Acme", "email": "a@acme.example"}
        erp_key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values=values))
        with hub.database.session() as session:
            link = links.create_link(
                session,
                connection_id=connection_id,
                entity_type=EntityType.COMPANY,
                entity_id=company_id,
                actor_type=ActorType.CUSTOMER,
                erp_key=erp_key,
                agreed=values,
            )
        yield Synced(hub, admin, sample, connection_id, company_id, erp_key, link.id)


def test_sync_now_runs_the_connection_and_answers_the_run(synced: Synced) -> None:
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "erp@acme.example"})
    run = _ok(synced.sync())
    assert (run["kind"], run["status"], run["connection_id"]) == ("connection", "ok", synced.connection_id)
    assert run["counts"]["crm_writes"] == 1
    assert run["finished_at"] is not None
    assert synced.company()["email"] == "erp@acme.example"
    health = _ok(synced.admin.get(f"{synced.base}/health"))
    assert (health["in_sync"], health["failing"], health["broken"]) == (1, 0, 0)
    assert health["last_run"]["id"] == run["id"]


def test_sync_now_is_refused_while_a_run_of_the_connection_is_under_way(synced: Synced) -> None:
    with locks.held(synced.hub.database, locks.connection_lock(synced.connection_id)):
        busy = synced.sync()
    assert busy.status_code == 409
    assert "busy" in busy.json()["detail"]


def test_sync_now_of_an_inactive_connection_is_refused(synced: Synced) -> None:
    _ok(synced.admin.post(f"{synced.base}/deactivate"))
    assert synced.sync().status_code == 422


def test_a_parked_record_is_listed_and_retried(synced: Synced) -> None:
    with synced.hub.database.session() as session:
        links.mark_failed(links.get_link(session, synced.link_id), ErrorCode.VALIDATION, "refused", now=utcnow())
    failing = _ok(synced.admin.get(f"{synced.base}/failing"))
    assert [(r["id"], r["error_reason"], r["next_attempt_at"]) for r in failing] == [
        (synced.link_id, "validation", None)
    ]
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "fixed@acme.example"})
    result = _ok(synced.admin.post(f"{synced.base}/failing/{synced.link_id}/retry"))
    assert result == {
        "link_id": synced.link_id,
        "state": "ok",
        "changed": {"crm": ["EMAIL"], "erp": []},
        "conflicts": [],
        "errors": [],
    }
    assert _ok(synced.admin.get(f"{synced.base}/failing")) == []


def test_engine_settings_default_save_and_refuse_a_bad_interval(admin: httpx.Client, user: httpx.Client) -> None:
    assert _ok(admin.get("/engine")) == {"running": True, "interval_seconds": 300}
    assert _ok(admin.put("/engine", json={"running": False, "interval_seconds": 60})) == {
        "running": False,
        "interval_seconds": 60,
    }
    assert _ok(admin.get("/engine")) == {"running": False, "interval_seconds": 60}
    assert admin.put("/engine", json={"running": True, "interval_seconds": 0}).status_code == 422
    assert _ok(admin.get("/engine"))["interval_seconds"] == 60
    assert user.get("/engine").status_code == 403
    assert user.put("/engine", json={"running": True, "interval_seconds": 60}).status_code == 403


def test_sync_endpoints_need_an_administrator(synced: Synced, user: httpx.Client) -> None:
    assert user.post(f"{synced.base}/sync").status_code == 403
    assert user.get(f"{synced.base}/health").status_code == 403
    assert user.get(f"{synced.base}/failing").status_code == 403
