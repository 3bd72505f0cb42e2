"""The API docs work without internet and under the Content-Security-Policy: every request that leaves loopback is
blocked, and Swagger UI still lists the API's operations (a CSP violation fails the test, see conftest)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from .conftest import Hub, screenshot

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _offline(page: Page) -> list[str]:
    """Abort every request to another host, as on a network without internet; returns what was tried."""
    tried: list[str] = []

    def route(handled: Route) -> None:
        host = urlsplit(handled.request.url).hostname or ""
        if host in LOOPBACK or handled.request.url.startswith(("data:", "blob:")):
            handled.continue_()
        else:
            tried.append(handled.request.url)
            handled.abort()

    page.route("**/*", route)
    return tried


def test_swagger_ui_lists_the_operations_offline(page: Page, hub: Hub) -> None:
    tried = _offline(page)
    page.goto(f"{hub.url}/api/v1/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/companies").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    screenshot(page, "api-docs-swagger")
    assert tried == []
