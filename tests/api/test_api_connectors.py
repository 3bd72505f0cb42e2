"""``/connectors`` over real HTTP: the hub asks the sample connector's ``info`` before it registers it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from erpsync.storage.tables import SyncConnector
from erpsync.testing.fault_proxy import Fault, running_fault_proxy
from erpsync.testing.sample import RunningSample, running_sample
from erpsync.testing.server import free_port, serve_in_thread

from .conftest import Hub


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


def _add(admin: httpx.Client, sample: RunningSample, name: str = "Sample ERP") -> httpx.Response:
    return admin.post("/connectors", json={"name": name, "url": sample.url, "secret": sample.secret})


def test_add_asks_info_and_never_returns_the_secret(hub: Hub, admin: httpx.Client, sample: RunningSample) -> None:
    response = _add(admin, sample)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["info"]["name"] == "sample"
    assert body["info"]["protocol_version"] == "1"
    assert sample.secret not in response.text
    assert sample.secret not in admin.get("/connectors").text
    with hub.database.session() as session:
        stored = session.scalar(select(SyncConnector.secret_encrypted))
    assert stored
    assert sample.secret not in stored


def _html_app() -> Starlette:
    async def page(_request: object) -> HTMLResponse:
        return HTMLResponse("<html>not a connector</html>")

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])


def test_a_url_that_is_no_connector_is_refused_with_the_reason(admin: httpx.Client, sample: RunningSample) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    answer = admin.post("/connectors", json={"name": "x", "url": unreachable, "secret": sample.secret})
    assert answer.status_code == 422
    assert "does not answer as an erpsync connector" in answer.json()["detail"]

    with serve_in_thread(_html_app()) as html_url:
        answer = admin.post("/connectors", json={"name": "x", "url": html_url, "secret": sample.secret})
    assert answer.status_code == 422
    assert html_url in answer.json()["detail"]

    wrong_secret = admin.post("/connectors", json={"name": "x", "url": sample.url, "secret": "w" * 32})
    assert wrong_secret.status_code == 422
    assert admin.get("/connectors").json() == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "url": "ftp://host", "secret": "s" * 20}, "http(s) URL"),
        ({"name": "x", "url": "not a url", "secret": "s" * 20}, "http(s) URL"),
        ({"name": "   ", "url": "http://127.0.0.1:1", "secret": "s" * 20}, "needs a name"),
    ],
)
def test_bad_bodies_are_refused(admin: httpx.Client, body: dict[str, str], fragment: str) -> None:
    answer = admin.post("/connectors", json=body)
    assert answer.status_code == 422
    assert fragment in answer.text


def test_short_secret_and_duplicate_name(admin: httpx.Client, sample: RunningSample) -> None:
    short = admin.post("/connectors", json={"name": "x", "url": sample.url, "secret": "short"})
    assert short.status_code == 422
    assert "at least 16 characters" in short.json()["detail"]
    assert _add(admin, sample).status_code == 201
    duplicate = _add(admin, sample, name="sample erp")
    assert duplicate.status_code == 409


def test_edit_probes_a_new_url_before_saving(admin: httpx.Client, sample: RunningSample) -> None:
    connector = _add(admin, sample).json()
    moved = admin.patch(f"/connectors/{connector['id']}", json={"url": f"http://127.0.0.1:{free_port()}"})
    assert moved.status_code == 422
    assert admin.get(f"/connectors/{connector['id']}").json()["url"] == sample.url
    renamed = admin.patch(f"/connectors/{connector['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"


def test_config_form_lists_fields_and_list_items(admin: httpx.Client, sample: RunningSample) -> None:
    connector = _add(admin, sample).json()
    form = admin.get(f"/connectors/{connector['id']}/config-form").json()
    types = {field["key"]: field["type"] for field in form["fields"]}
    assert types["password"] == "password"
    assert types["company"] == "list"
    assert [item["key"] for item in form["lists"]["erp_company"]] == ["NORDIC"]


def test_delete_is_refused_while_a_connection_uses_it(admin: httpx.Client, sample: RunningSample) -> None:
    connector = _add(admin, sample).json()
    connection = admin.post(
        "/connections", json={"name": "Main", "connector_id": connector["id"], "config": sample.config}
    )
    assert connection.status_code == 201, connection.text
    refused = admin.delete(f"/connectors/{connector['id']}")
    assert refused.status_code == 409
    assert "used by 1 connection" in refused.json()["detail"]


def test_delete_and_unknown_ids(admin: httpx.Client, sample: RunningSample) -> None:
    connector = _add(admin, sample).json()
    assert admin.delete(f"/connectors/{connector['id']}").status_code == 204
    assert admin.get(f"/connectors/{connector['id']}").status_code == 404
    assert admin.delete(f"/connectors/{connector['id']}").status_code == 404


def test_only_admins(hub: Hub, anon: httpx.Client, user: httpx.Client, sample: RunningSample) -> None:
    body = {"name": "x", "url": sample.url, "secret": sample.secret}
    assert anon.post("/connectors", json=body).status_code == 401
    assert user.post("/connectors", json=body).status_code == 403
    assert user.get("/connectors").status_code == 403


@pytest.mark.parametrize("change", ["add", "edit"])
def test_a_slow_connector_probe_holds_up_no_other_write(
    admin: httpx.Client, user: httpx.Client, sample: RunningSample, change: str
) -> None:
    """The hub asks a new URL's info with no transaction open: other users' writes go on meanwhile."""
    slow = 3.0
    existing = admin.post("/connectors", json={"name": "First", "url": sample.url, "secret": sample.secret})
    assert existing.status_code == 201, existing.text
    with running_fault_proxy(sample.url) as proxy, ThreadPoolExecutor(max_workers=1) as pool:
        proxy.inject(Fault.DELAY, operation="info", times=1, delay=slow)
        started = time.monotonic()
        if change == "add":
            body = {"name": "Slow", "url": proxy.url, "secret": sample.secret}
            probing = pool.submit(admin.post, "/connectors", json=body)
        else:
            probing = pool.submit(admin.patch, f"/connectors/{existing.json()['id']}", json={"url": proxy.url})
        time.sleep(0.5)  # the probe is under way
        written = user.post("/companies", json={"name": "Written meanwhile"})
        written_after = time.monotonic() - started
        assert written.status_code == 201, written.text
        assert written_after < slow
        assert probing.result().status_code in (200, 201)
