"""The composition root: one app serving the API and the pages, and its own answer when the database is busy."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from erpsync import accounts
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import ApiToken, WebSession
from erpsync.testing.db import sqlite_template  # noqa: F401
from erpsync.testing.server import serve_in_thread

PASSWORD = "a good password"
SHORT_BUSY_TIMEOUT_MS = 10  # so a write meets "database is locked" at once instead of after the product's 30 s


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_TIMEOUT_MS}")


@pytest.fixture
def hub(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, Path, Database]]:  # noqa: F811
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    event.listen(database.engine, "connect", _short_busy_timeout)  # after the product's own pragmas
    with database.session() as session:
        accounts.create_user(session, login="anna", password=PASSWORD)
    try:
        with serve_in_thread(create_app(Settings(data_dir=tmp_path / "data"), database=database)) as url:
            yield url, path, database
    finally:
        database.dispose()


def _count(database: Database, table: type[ApiToken] | type[WebSession]) -> int:
    with database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_locked_database_answers_503_with_retry_after_as_a_page_on_the_web_and_as_json_on_the_api(
    hub: tuple[str, Path, Database],
) -> None:
    url, path, database = hub
    with httpx.Client(base_url=url, timeout=30) as client:
        login_page = client.get("/login")
        assert login_page.status_code == 200
        csrf = login_page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        locker = sqlite3.connect(path, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
            page = client.post("/login", data={"csrf_token": csrf, "username": "anna", "password": PASSWORD})
            api = client.post("/api/v1/auth/token", data={"username": "anna", "password": PASSWORD})
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "The hub is busy right now" in page.text
        assert int(page.headers["Retry-After"]) >= 1
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert api.status_code == 503, api.text
        assert api.json() == {"detail": "the hub is busy; try again in a moment"}
        assert int(api.headers["Retry-After"]) >= 1
        assert (_count(database, WebSession), _count(database, ApiToken)) == (0, 0), "nothing was written"
        signed_in = client.post("/login", data={"csrf_token": csrf, "username": "anna", "password": PASSWORD})
        assert signed_in.status_code == 303, "once the lock is gone the same sign-in goes through"
        assert client.post("/api/v1/auth/token", data={"username": "anna", "password": PASSWORD}).status_code == 200


def test_every_page_names_an_icon_that_loads_and_the_usual_icon_address_answers(
    hub: tuple[str, Path, Database],
) -> None:
    url = hub[0]
    for path in ("/login", "/api/v1/docs"):
        page = httpx.get(f"{url}{path}", timeout=30)
        assert page.status_code == 200, path
        icon = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
        href = icon.group(1) if icon else "/favicon.ico"  # a page naming none: the browser asks for this one
        answer = httpx.get(f"{url}{href}", timeout=30)
        assert (answer.status_code, answer.headers["content-type"]) == (200, "image/svg+xml"), (path, href)
        assert answer.content.startswith(b"<svg")
    assert httpx.get(f"{url}/favicon.ico", timeout=30).status_code == 200
