"""Fixtures: the hub served over real HTTP on a free loopback port, on SQLite and PostgreSQL, with signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from erpsync import accounts
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.db import database, postgres_url, sqlite_template
from erpsync.testing.server import serve_in_thread

__all__ = ["admin", "anon", "database", "hub", "postgres_url", "sqlite_template", "user"]

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
