"""``/runs/{id}/progress`` and ``/runs/{id}/cancel`` over real HTTP for a sync run: progress while it runs (no total:
an ERP pass cannot know it), a cancel that stops it at the next page boundary, and the next run finishing the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.sdk.app import create_app
from erpsync.testing.sample import COMPANY, RunningSample, running_sample
from erpsync.testing.server import serve_in_thread
from support.linking import link_company

from .conftest import Hub

PAGE = 2
RECORDS = 5  # three pages of ERP changes: 2, 2, 1

Asgi = Callable[..., Any]


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@dataclass
class PageTrap:
    """An ASGI app in front of a connector: calls ``hook`` when the ``page``-th ``changes`` request arrives."""

    app: Asgi
    page: int = 0
    hook: Callable[[], None] = field(default=lambda: None)
    asked: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Asgi, send: Asgi) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/changes":
            self.asked += 1
            if self.asked == self.page:
                self.hook()
        await self.app(scope, receive, send)


@dataclass
class Paged:
    """An active connection whose ERP answers changes PAGE at a time, behind a trap; RECORDS linked companies."""

    hub: Hub
    admin: httpx.Client
    sample: RunningSample
    trap: PageTrap
    connection_id: int
    companies: dict[str, int]  # erp_key -> company id

    def sync(self) -> httpx.Response:
        return self.admin.post(f"/connections/{self.connection_id}/sync")


def _link_companies(hub: Hub, admin: httpx.Client, sample: RunningSample, connection_id: int) -> dict[str, int]:
    companies = {}
    for n in range(RECORDS):
        values = {"name": f"Acme {n}", "email": f"old{n}@acme.example"}
        company_id = _ok(admin.post("/companies", json=values), 201)["id"]
        erp_key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values=values))
        link_company(hub.database, connection_id, company_id, erp_key, values)
        companies[erp_key] = company_id
    return companies


@pytest.fixture
def paged(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Paged]:
    with running_sample(tmp_path / "sample") as sample:
        trap = PageTrap(create_app(sample.connector, secret=sample.secret))
        with serve_in_thread(trap) as url:
            connector = _ok(admin.post("/connectors", json={"name": "S", "url": url, "secret": sample.secret}), 201)
            config = {**sample.config, "page_size": PAGE}
            body = {"name": "Main", "connector_id": connector["id"], "config": config}
            connection_id = _ok(admin.post("/connections", json=body), 201)["id"]
            rows = [
                {"erp_field": "name", "crm_field": "NAME", "direction": "both"},
                {"erp_field": "email", "crm_field": "EMAIL", "direction": "both"},
            ]
            _ok(admin.put(f"/connections/{connection_id}/mappings/customer", json={"active": True, "fields": rows}))
            _ok(admin.post(f"/connections/{connection_id}/activate"))
            companies = _link_companies(hub, admin, sample, connection_id)
            paged = Paged(hub, admin, sample, trap, connection_id, companies)
            assert _ok(paged.sync())["status"] == "ok"  # the watermark now stands past the links' creation
            yield paged


def test_a_sync_run_shows_its_progress_and_stops_at_the_next_page_on_cancel(paged: Paged) -> None:
    for n, erp_key in enumerate(paged.companies):
        paged.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, erp_key, {"email": f"new{n}@acme.example"})
    seen: dict[str, Any] = {}

    def cancel_over_http() -> None:  # asked for page 2 of this run: page 1 is stored
        with paged.hub.sign_in("admin") as other:
            [running] = [r for r in _ok(other.get("/runs")) if r["status"] == "running"]
            seen["progress"] = _ok(other.get(f"/runs/{running['id']}/progress"))
            seen["cancel"] = _ok(other.post(f"/runs/{running['id']}/cancel"), 202)

    paged.trap.page, paged.trap.hook = paged.trap.asked + 2, cancel_over_http
    first = _ok(paged.sync())

    progress, cancel = seen["progress"], seen["cancel"]
    assert (progress["id"], progress["kind"], progress["status"]) == (first["id"], "connection", "running")
    assert (progress["progress_done"], progress["progress_total"], progress["counts"]["crm_writes"]) == (
        PAGE,
        None,
        PAGE,
    )
    assert (progress["percentage"], progress["eta_seconds"], progress["cancel_requested"]) == (None, None, False)
    assert (cancel["status"], cancel["cancel_requested"], cancel["job"]) == ("running", True, None)
    assert (first["status"], first["counts"]["records"], first["counts"]["crm_writes"]) == (
        "cancelled",
        2 * PAGE,
        2 * PAGE,
    )
    ended = _ok(paged.admin.get(f"/runs/{first['id']}/progress"))
    assert (ended["status"], ended["progress_done"], ended["percentage"], ended["finished_at"]) == (
        "cancelled",
        2 * PAGE,
        None,
        first["finished_at"],
    )
    assert paged.admin.post(f"/runs/{first['id']}/cancel").status_code == 409

    second = _ok(paged.sync())
    assert (second["status"], second["counts"]["crm_writes"]) == ("ok", RECORDS - 2 * PAGE)
    assert _ok(paged.admin.get(f"/runs/{second['id']}/progress"))["percentage"] == 100.0
    events = [e for run in (first, second) for e in _ok(paged.admin.get(f"/runs/{run['id']}/events"))]
    assert Counter(event["erp_key"] for event in events) == dict.fromkeys(paged.companies, 1)
    for n, company_id in enumerate(paged.companies.values()):
        assert _ok(paged.admin.get(f"/companies/{company_id}"))["email"] == f"new{n}@acme.example"


def test_progress_and_cancel_refuse_unknown_runs_and_non_admins(paged: Paged, user: httpx.Client) -> None:
    [run] = _ok(paged.admin.get("/runs"))
    assert paged.admin.get("/runs/999999/progress").status_code == 404
    assert paged.admin.post("/runs/999999/cancel").status_code == 404
    assert user.get(f"/runs/{run['id']}/progress").status_code == 403
    assert user.post(f"/runs/{run['id']}/cancel").status_code == 403
    assert _ok(paged.admin.get(f"/runs/{run['id']}/progress"))["cancel_requested"] is False
