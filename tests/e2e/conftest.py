"""Browser tests: Playwright (sync API) drives Debian's chromium, headless, against the hub served on loopback.

Screenshots of every screen, at desktop and phone widths, go to test-artifacts/screenshots/.

Every page runs under the hub's Content-Security-Policy: a violation (a blocked inline script or style, eval, a foreign
resource) or htmx refusing to eval is reported by the browser and fails the test that caused it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from erpsync import accounts
from erpsync.app import create_app
from erpsync.crypto import cipher_for
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.sync import connection_visibility, connections, connectors
from erpsync.sync.connections import hub_clients
from erpsync.testing.db import sqlite_template
from erpsync.testing.sample import RunningSample, running_sample
from erpsync.testing.server import serve_in_thread

__all__ = ["PASSWORD", "Hub", "browser", "hub", "page", "playwright", "sqlite_template"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
PASSWORD = "a good password"
CSP_VIOLATION = "CSP violation"
# Runs in every page before its own scripts (Playwright injects it outside the page's CSP); the console carries it out.
REPORT_VIOLATIONS = f"""
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `{CSP_VIOLATION}: ${{e.effectiveDirective}} blocked ${{e.blockedURI || "inline"}}`
  + ` at ${{e.sourceFile}}:${{e.lineNumber}}`));
document.addEventListener("htmx:evalDisallowedError", (e) => console.error(
  `{CSP_VIOLATION}: htmx needed eval for ${{e.target.outerHTML.slice(0, 200)}}`));
"""


@dataclass
class Hub:
    url: str
    sample: RunningSample
    database: Database
    settings: Settings

    def add_connection(self, *, visible_to: tuple[int, ...]) -> int:
        """A Sync Connector for the sample ERP and an inactive connection "Main", through the service layer."""
        clients = hub_clients(self.database, cipher_for(self.settings))
        try:
            with self.database.session() as session:
                connector = connectors.add_connector(
                    session, clients, name="Sample ERP", url=self.sample.url, secret=self.sample.secret
                )
                draft = connections.ConnectionDraft(
                    name="Main",
                    connector_id=connector.id,
                    config=dict(self.sample.config),
                    visibility=connection_visibility.Visibility(everyone=False, users=visible_to),
                    description="Head office",
                )
                return connections.create_connection(session, clients, draft).id
        finally:
            clients.close()

    def add_user(self, login: str, *, licences: tuple[str, ...] = ()) -> int:
        with self.database.session() as session:
            return accounts.create_user(
                session, login=login, name=login.title(), password=PASSWORD, licences=licences
            ).id

    def sign_in(self, page: Page, login: str) -> None:
        page.goto(f"{self.url}/login")
        page.locator("#login-username").fill(login)
        page.locator("#login-password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(f"{self.url}/companies")


def screenshot(page: Page, name: str) -> None:
    """Save the screen at both widths, then go back to the desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


def _is_violation(message: ConsoleMessage) -> bool:
    return message.type == "error" and (
        message.text.startswith(CSP_VIOLATION) or "Content Security Policy" in message.text
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser page; the test fails if any page it opened broke the Content-Security-Policy."""
    context = browser.new_context(viewport={"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})
    context.add_init_script(REPORT_VIOLATIONS)
    violations: list[str] = []
    context.on("console", lambda message: violations.append(message.text) if _is_violation(message) else None)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def hub(sqlite_template: Path, tmp_path: Path) -> Iterator[Hub]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        accounts.create_user(session, login="admin", name="Ada Admin", password=PASSWORD, is_admin=True)
        accounts.create_user(session, login="carla", name="Carla CRM", password=PASSWORD, licences=("erp",))
    settings = Settings(data_dir=tmp_path / "data")
    try:
        with (
            running_sample(tmp_path / "sample") as sample,
            serve_in_thread(create_app(settings, database=database)) as url,
        ):
            yield Hub(url, sample, database, settings)
    finally:
        database.dispose()
