"""Fixtures: the hub (API and pages) over real HTTP on a SQLite copy, and cookie-keeping clients for its pages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import accounts
from erpsync.api.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.db import sqlite_template
from erpsync.testing.sample import RunningSample, running_sample
from erpsync.testing.server import serve_in_thread

__all__ = ["PASSWORD", "Browser", "Site", "sample", "site", "sqlite_template"]

PASSWORD = "a good password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An HTTP client that keeps the session cookie and posts forms with the page's CSRF token, as a browser does."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def csrf_token(self) -> str:
        match = _CSRF.search(self.http.get("/login").text)
        assert match, "the login page carries the session's CSRF token"
        return match.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf_token(), **(data or {})}, **kwargs)

    def close(self) -> None:
        self.http.close()


@dataclass
class Site:
    url: str
    database: Database
    browsers: list[Browser] = field(default_factory=list)

    def add_user(self, login: str, *, is_admin: bool = False, licences: tuple[str, ...] = ()) -> int:
        with self.database.session() as session:
            user = accounts.create_user(
                session, login=login, password=PASSWORD, name=login.title(), is_admin=is_admin, licences=licences
            )
            return user.id

    def browser(self) -> Browser:
        browser = Browser(self.url)
        self.browsers.append(browser)
        return browser

    def signed_in(self, login: str) -> Browser:
        browser = self.browser()
        answer = browser.post("/login", {"username": login, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        return browser


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[Site]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    try:
        with serve_in_thread(create_app(Settings(data_dir=tmp_path / "data"), database=database)) as url:
            running = Site(url, database)
            yield running
            for browser in running.browsers:
                browser.close()
    finally:
        database.dispose()


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running
