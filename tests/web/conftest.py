"""Fixtures: the hub (API and pages) over real HTTP on a SQLite copy, and cookie-keeping clients for its pages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import accounts
from erpsync.app import create_app
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.db import sqlite_template
from erpsync.testing.sample import RunningSample, running_sample
from erpsync.testing.server import serve_in_thread

__all__ = [
    "CUSTOMER_ROWS",
    "PASSWORD",
    "Browser",
    "Site",
    "add_connection",
    "configure_customers",
    "crm_countries",
    "mapping_form",
    "sample",
    "site",
    "sqlite_template",
]

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


@contextmanager
def served_site(sqlite_template: Path, tmp_path: Path, **settings: Any) -> Iterator[Site]:
    """A hub on a copy of the migrated template database, served over loopback with ``settings``; its browsers are
    closed and its database disposed at the end."""
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    try:
        with serve_in_thread(create_app(Settings(data_dir=tmp_path / "data", **settings), database=database)) as url:
            running = Site(url, database)
            yield running
            for browser in running.browsers:
                browser.close()
    finally:
        database.dispose()


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[Site]:
    with served_site(sqlite_template, tmp_path) as running:
        yield running


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


def add_connection(admin: Browser, sample: RunningSample, *, name: str = "Main", **form: Any) -> int:
    """A Sync Connector for ``sample`` (added once) and an inactive connection through the Sync tab's dialogs."""
    page = admin.get("/settings/sync").text
    match = re.search(r"/settings/sync/connectors/(\d+)/edit", page)
    if match is None:
        added = admin.post(
            "/settings/sync/connectors/new", {"name": "Sample", "url": sample.url, "secret": sample.secret}
        )
        assert added.status_code == 303, added.text
        assert added.headers["location"] == "/settings/sync?saved=connector", "the Sync tab says it is saved"
        match = re.search(r"/settings/sync/connectors/(\d+)/edit", admin.get("/settings/sync").text)
        assert match
    body = {"name": name, "connector_id": match.group(1), "visibility": "everyone", **form}
    body.update({f"config.{key}": value for key, value in sample.config.items()})
    saved = admin.post("/settings/sync/connections/new", body)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/settings/sync?saved=connection", "the Sync tab says it is saved"
    ids = re.findall(
        rf'id="select-connection-(\d+)"></td>\s*<th scope="row"><label[^>]*>{name}<', admin.get("/settings/sync").text
    )
    assert ids, "the new connection is listed"
    return int(ids[0])


def crm_countries(site: Site, *labels: str) -> list[int]:
    with site.database.session() as session:
        return [crm_lists.add_item(session, CrmList.COUNTRY, label=label).id for label in labels]


def mapping_form(active: bool, rows: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The Mappings form with one row per ERP field of ``rows`` ({erp_field: {"crm_field": ..., "direction": ...,
    "show_in_search": "on", ...}})."""
    form: dict[str, Any] = {"erp_field": list(rows)}
    if active:
        form["active"] = "on"
    for key, row in rows.items():
        form.update({f"{part}.{key}": value for part, value in row.items()})
    return form


CUSTOMER_ROWS = {
    "name": {"crm_field": "NAME", "direction": "both", "show_in_search": "on", "show_in_tab": "on"},
    "email": {"crm_field": "EMAIL", "direction": "both", "show_in_search": "on", "show_in_tab": "on"},
    "country": {"crm_field": "COUNTRY", "direction": "both", "show_in_tab": "on"},
}
COUNTRY_KEYS = ("DK", "SE", "NO", "FI", "IS", "DE", "NL", "GB", "US")


def configure_customers(admin: Browser, connection_id: int, denmark: int) -> None:
    """Customers mapped (name, e-mail, country both ways), the country list paired, currency asked on create."""
    base = f"/settings/sync/connections/{connection_id}"
    saved = admin.post(f"{base}/mappings?actor_type=customer", mapping_form(True, CUSTOMER_ROWS))
    assert saved.status_code == 303, saved.text
    items = {f"item.country.{key}": "" for key in COUNTRY_KEYS} | {"item.country.DK": str(denmark)}
    assert admin.post(f"{base}/list-mapping", items).status_code == 303
    defaults = {"ask.currency": "on", "mandatory.currency": "on", "value.payment_terms": "NET30"}
    assert admin.post(f"{base}/defaults?actor_type=customer", defaults).status_code == 303
