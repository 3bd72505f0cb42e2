"""Fixtures: the hub served over real HTTP on a free loopback port, on SQLite and PostgreSQL, with signed-in clients,
and ``synced``: an active connection to the sample connector with one linked company."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import accounts
from erpsync.app import create_app
from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.sample import COMPANY, RunningSample, running_sample
from erpsync.testing.server import serve_in_thread
from support.linking import link_company

PASSWORD = "a good password"


@dataclass
class Hub:
    url: str
    database: Database

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def add_user(self, login: str, *, is_admin: bool = False, licences: tuple[str, ...] = ()) -> int:
        with self.database.session() as session:
            return accounts.create_user(
                session, login=login, password=PASSWORD, is_admin=is_admin, licences=licences
            ).id

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Client:
        with self.client() as client:
            response = client.post("/auth/token", data={"username": login, "password": password})
        assert response.status_code == 200, response.text
        return self.client(response.json()["access_token"])


@pytest.fixture
def hub(database: Database, tmp_path: Path) -> Iterator[Hub]:
    settings = Settings(data_dir=tmp_path / "data")
    with serve_in_thread(create_app(settings, database=database)) as url:
        yield Hub(url, database)


@pytest.fixture
def admin(hub: Hub) -> Iterator[httpx.Client]:
    hub.add_user("admin", is_admin=True, licences=("erp",))
    with hub.sign_in("admin") as client:
        yield client


@pytest.fixture
def user(hub: Hub) -> Iterator[httpx.Client]:
    hub.add_user("user", licences=("erp",))
    with hub.sign_in("user") as client:
        yield client


@pytest.fixture
def anon(hub: Hub) -> Iterator[httpx.Client]:
    with hub.client() as client:
        yield client


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


def ok(answer: httpx.Response, status: int = 200) -> Any:
    """The JSON body of ``answer``, once its status is ``status``."""
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def synced(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Synced]:
    with running_sample(tmp_path / "sample") as sample:
        connector = ok(admin.post("/connectors", json={"name": "S", "url": sample.url, "secret": sample.secret}), 201)
        body = {"name": "Main", "connector_id": connector["id"], "config": sample.config}
        connection_id = ok(admin.post("/connections", json=body), 201)["id"]
        rows = [
            {"erp_field": "name", "crm_field": "NAME", "direction": "both"},
            {"erp_field": "email", "crm_field": "EMAIL", "direction": "both"},
        ]
        ok(admin.put(f"/connections/{connection_id}/mappings/customer", json={"active": True, "fields": rows}))
        ok(admin.post(f"/connections/{connection_id}/activate"))
        company_id = ok(admin.post("/companies", json={"name": "Acme", "email": "a@acme.example"}), 201)["id"]
        values = {"name": "Acme", "email": "a@acme.example"}
        erp_key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values=values))
        link_id = link_company(hub.database, connection_id, company_id, erp_key, values)
        yield Synced(hub, admin, sample, connection_id, company_id, erp_key, link_id)
