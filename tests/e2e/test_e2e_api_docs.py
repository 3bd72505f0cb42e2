"""The API docs work without internet and under the Content-Security-Policy: every request that leaves loopback is
blocked, and Swagger UI still lists the API's operations (a CSP violation fails the test, see conftest)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from .conftest import SCREENSHOTS, Hub, screenshot

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


def test_redoc_shows_the_reference_offline_under_a_policy_of_its_own(page: Page, hub: Hub) -> None:
    tried = _offline(page)
    answer = page.goto(f"{hub.url}/api/v1/redoc")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert "style-src 'self' 'nonce-" in policy
    assert "script-src 'self';" in policy  # scripts stay the hub's own
    expect(page.get_by_text("erpsync (").first).to_be_visible(timeout=30_000)  # it reads the whole spec first
    expect(page.locator("[data-section-id^='tag/']").first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() > 20
    page.screenshot(path=SCREENSHOTS / "api-docs-redoc-desktop.png")  # the screen only: the whole reference is huge
    assert all(url.startswith("https://cdn.redoc.ly/") for url in tried), tried  # its footer's logo, nothing else
    again = page.request.get(f"{hub.url}/api/v1/redoc")
    assert again.headers["content-security-policy"] != policy  # a nonce per answer
