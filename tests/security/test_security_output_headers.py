"""Every answer of the hub, web page or API, carries the Content-Security-Policy and the other security headers; the
API docs page is served from the hub itself and keeps to the policy."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from erpsync.app import create_app
from erpsync.http.security_headers import SecurityHeaders
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.server import serve_in_thread

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


@pytest.fixture
def hub_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    try:
        with serve_in_thread(create_app(Settings(data_dir=tmp_path / "data"), database=database)) as url:
            yield url
    finally:
        database.dispose()


def assert_secured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    directives = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    for name, value in REQUIRED_DIRECTIVES.items():
        assert directives.get(name) == value, (response.request.url, name, directives.get(name))
    assert not any("unsafe" in value for value in directives.values()), directives


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),
        ("GET", "/companies", 303),
        ("GET", "/no-such-page", 404),
        ("GET", "/static/app.js", 200),
        ("GET", "/api/v1/openapi.json", 200),
        ("GET", "/api/v1/companies", 401),
        ("POST", "/api/v1/auth/token", 422),
        ("GET", "/api/v1/docs", 200),
        ("GET", "/api/v1/docs/assets/swagger-ui-bundle.js", 200),
    ],
)
def test_every_answer_carries_the_security_headers(hub_url: str, method: str, path: str, status: int) -> None:
    response = httpx.request(method, f"{hub_url}{path}", timeout=30)
    assert response.status_code == status
    assert_secured(response)


def test_a_refused_oversized_body_carries_them_too(hub_url: str) -> None:
    response = httpx.post(f"{hub_url}/api/v1/auth/token", content=b"x" * (2 * 1024 * 1024), timeout=30)
    assert response.status_code == 413
    assert_secured(response)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.styles: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "style" or any(name == "style" or name.startswith("on") for name, _ in attrs):
            self.styles.append(tag)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_docs_page_loads_everything_from_the_hub_and_nothing_inline(hub_url: str) -> None:
    page = httpx.get(f"{hub_url}/api/v1/docs", timeout=30)
    tags = _Tags()
    tags.feed(page.text)
    sources = [str(script.get("src")) for script in tags.scripts]
    assert sources == ["/api/v1/docs/assets/swagger-ui-bundle.js", "/static/api-docs/swagger-init.js"]
    assert tags.inline == []
    assert tags.styles == []
    assert "http" not in page.text  # no CDN or other site
    for source in sources:
        assert httpx.get(f"{hub_url}{source}", timeout=30).status_code == 200


def test_the_middleware_leaves_streaming_and_background_tasks_alone() -> None:
    finished = threading.Event()

    async def chunks() -> AsyncIterator[bytes]:
        for number in range(3):
            yield f"chunk {number}\n".encode()

    async def stream(_request: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/plain", background=BackgroundTask(finished.set))

    app = SecurityHeaders(Starlette(routes=[Route("/stream", stream)]))
    with serve_in_thread(app) as url, httpx.stream("GET", f"{url}/stream", timeout=30) as response:
        assert_secured(response)
        assert [line for line in response.iter_lines() if line] == ["chunk 0", "chunk 1", "chunk 2"]
    assert finished.wait(10)
