"""Secrets at rest and in answers, request limits, CSRF, and connector signatures (sign-ins: test_security_logins*)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from erpsync.app import create_app
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import EntityType
from erpsync.crm.service import write_record
from erpsync.crypto import cipher_for
from erpsync.errors import ValidationError
from erpsync.http.limits import DEFAULT_MAX_BODY_BYTES
from erpsync.protocol.signing import signed_headers, signed_headers_v2
from erpsync.storage.tables import ErpConnection
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import NOT_A_CONNECTOR, add_connector, check_secret, check_url
from erpsync.testing.server import free_port, serve_in_thread

from .conftest import PASSWORD, SecurityWorld
from .web import Browser


def _answered(response: httpx.Response, status: int = 200) -> httpx.Response:
    """``response``, once it has the expected status: a check on its body means nothing on an error page."""
    assert response.status_code == status, (response.request.method, str(response.request.url), response.text[:300])
    return response


def _secrets(world: SecurityWorld) -> list[str]:
    return [world.sample.secret, str(world.sample.config["password"])]


def test_connector_secrets_and_password_fields_are_encrypted_at_rest(world: SecurityWorld) -> None:
    with world.database.engine.connect() as connection:
        stored = " ".join(
            str(row)
            for table in ("sync_connectors", "erp_connections", "audit_log")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    for secret in _secrets(world):
        assert secret not in stored


def test_secrets_never_appear_in_answers_logs_or_run_history(
    world: SecurityWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = []
    with world.client("admin") as admin:
        main = world.ids["main"]
        for path in ("/connectors", f"/connectors/{world.ids['connector']}", "/connections", f"/connections/{main}"):
            seen.append(_answered(admin.get(path)).text)
        seen.append(_answered(admin.post(f"/connections/{main}/sync")).text)
        listed = _answered(admin.get("/runs"))
        seen.append(listed.text)
        runs = listed.json()
        assert runs, "the sync left a run whose events are read below"
        seen += [_answered(admin.get(f"/runs/{run['id']}/events")).text for run in runs]
        bad = admin.post("/connections/test", json={"connector_id": world.ids["connector"], "config": {"password": 1}})
        assert (_answered(bad).json()["ok"], bad.json()["error_code"]) == (False, "validation")  # a failed test
        seen.append(bad.text)
    seen.append(caplog.text)
    for secret in _secrets(world):
        assert all(secret not in page for page in seen)


def test_request_bodies_over_the_limit_are_refused(world: SecurityWorld) -> None:
    with world.client("admin") as admin:
        response = admin.post("/companies", content=b"{" + b" " * DEFAULT_MAX_BODY_BYTES + b"}")
    assert response.status_code == 413


def test_pages_are_bounded(world: SecurityWorld) -> None:
    with world.client("inside") as client:
        assert client.get("/companies", params={"limit": 10**6}).status_code == 422
        assert client.get("/companies", params={"limit": -1}).status_code == 422


def test_web_forms_refuse_a_request_without_a_valid_csrf_token(world: SecurityWorld) -> None:
    with httpx.Client(base_url=world.url) as browser:
        _answered(browser.get("/login"))
        missing = browser.post("/login", data={"login": "admin", "password": PASSWORD})
        wrong = browser.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert missing.status_code == wrong.status_code == 403


def test_the_sdk_refuses_unsigned_wrongly_signed_and_stale_requests(world: SecurityWorld) -> None:
    body = b"{}"
    secret = world.sample.secret
    stale = time.time() - 600
    attempts = {
        "unsigned": {},
        "wrong secret": signed_headers_v2("not the secret", body, path="/v1/info"),
        "stale": signed_headers_v2(secret, body, path="/v1/info", now=stale),
        "v1 only": signed_headers(secret, body),
    }
    for name, headers in attempts.items():
        response = httpx.post(f"{world.sample.url}/v1/info", content=body, headers=headers)
        assert response.status_code == 401, name
        assert response.json()["error_code"] == "auth", name
    signed = signed_headers_v2(secret, body, path="/v1/info")
    assert httpx.post(f"{world.sample.url}/v1/info", content=body, headers=signed).status_code == 200


def test_the_sdk_refuses_a_signature_for_another_operation_and_a_replay(world: SecurityWorld) -> None:
    """The captured ``test_connection`` sent to ``delete_connection``, and any request sent twice, change nothing."""
    with world.database.session() as session:
        connection_uuid = session.get(ErpConnection, world.ids["main"]).uuid
    url, secret = world.sample.url, world.sample.secret
    body = json.dumps({"connection_id": connection_uuid}).encode()
    captured = signed_headers_v2(secret, body, path="/v1/test_connection")
    redirected = httpx.post(f"{url}/v1/delete_connection", content=body, headers=captured)
    assert (redirected.status_code, redirected.json()["error_code"]) == (401, "auth")
    first = httpx.post(f"{url}/v1/test_connection", content=body, headers=captured)
    assert (first.status_code, first.json()["ok"]) == (200, True)  # the connector still knows the connection
    replayed = httpx.post(f"{url}/v1/test_connection", content=body, headers=captured)
    assert (replayed.status_code, replayed.json()["error_code"]) == (401, "auth")
    assert "replayed" in replayed.json()["user_message"]


# --- connector URLs ---------------------------------------------------------------------------------------------------


@contextmanager
def _not_http_port() -> Iterator[str]:
    """A port that accepts connections and answers like an SSH server: open, but not HTTP."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                peer, _address = server.accept()
            except TimeoutError:
                continue
            with peer:
                peer.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


def _html_site() -> Starlette:
    async def page(_request: object) -> HTMLResponse:
        return HTMLResponse("<html>an intranet page</html>")

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])


def test_a_failed_connector_probe_answers_alike_whatever_the_port_did(
    world: SecurityWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    secret = "a secret nobody may read back"
    answers = {}
    with world.client("admin") as admin, _not_http_port() as not_http, serve_in_thread(_html_site()) as html:
        urls = {
            "closed": f"http://127.0.0.1:{free_port()}",
            "open, not http": not_http,
            "http, not a connector": html,
            "connector, wrong secret": world.sample.url,
        }
        for case, url in urls.items():
            response = admin.post("/connectors", json={"name": "Probe", "url": url, "secret": secret})
            assert response.status_code == 422, (case, response.text)
            answers[case] = response.json()["detail"].replace(url, "URL")
        assert [c["name"] for c in _answered(admin.get("/connectors")).json()] == ["Sample"]
    assert set(answers.values()) == {NOT_A_CONNECTOR.format(url="URL")}, answers
    probes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("connector probe of")]
    assert len(probes) == len(urls)  # the reason is for the operator's log ...
    assert any("Connection refused" in line for line in probes)
    assert secret not in caplog.text  # ... never with the secret


@pytest.mark.parametrize("bad", ["\r\nX-Injected: 1", "\n", "\t", "\x00", "\x7f", "\x85", "\u009b"])
def test_control_characters_in_a_connector_url_are_refused(world: SecurityWorld, bad: str) -> None:
    url = f"{world.sample.url}/{bad}v1"
    with world.client("admin") as admin:
        created = admin.post("/connectors", json={"name": "Bad", "url": url, "secret": world.sample.secret})
        patched = admin.patch(f"/connectors/{world.ids['connector']}", json={"url": url})
        listed = _answered(admin.get("/connectors")).json()
    assert created.status_code == patched.status_code == 422, (created.text, patched.text)
    if bad != "\x00":  # a NUL is refused at the door, before the URL rules look at it
        assert "control characters" in created.json()["detail"]
        assert "control characters" in patched.json()["detail"]
    assert [(c["name"], c["url"]) for c in listed] == [("Sample", world.sample.url)]


def test_user_info_in_a_connector_url_is_refused_and_never_echoed(world: SecurityWorld) -> None:
    url = world.sample.url.replace("http://", "http://erp:hunter2-password@")
    with world.client("admin") as admin:
        created = admin.post("/connectors", json={"name": "Creds", "url": url, "secret": world.sample.secret})
        listed = _answered(admin.get("/connectors")).text
    assert created.status_code == 422
    assert "must not hold a user name or password" in created.json()["detail"]
    assert "hunter2-password" not in created.text + listed


def test_a_connector_url_that_is_no_url_is_a_422_not_a_500(world: SecurityWorld) -> None:
    with world.client("admin") as admin:
        for url in ("http://127.0.0.1:99999", "http://[::1", "http://", "javascript:alert(1)"):
            answer = admin.post("/connectors", json={"name": "X", "url": url, "secret": world.sample.secret})
            assert answer.status_code == 422, (url, answer.text)


def test_in_production_a_connector_url_is_https_unless_it_is_this_machine(world: SecurityWorld) -> None:
    assert check_url("https://erp.example.com/", https_required=True) == "https://erp.example.com"
    for local in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "http://127.1.2.3"):
        assert check_url(local, https_required=True) == local
    assert check_url("http://erp.example.com", https_required=False) == "http://erp.example.com"
    prod = create_app(world.settings.model_copy(update={"env": "prod"}), database=world.database)
    with serve_in_thread(prod) as url, httpx.Client(base_url=f"{url}/api/v1", timeout=30) as admin:
        admin.headers["Authorization"] = f"Bearer {world.tokens['admin']}"
        for remote in ("http://erp.example.com", "http://10.0.0.5:8765", "http://[2001:db8::1]"):
            answer = admin.post("/connectors", json={"name": "Remote", "url": remote, "secret": world.sample.secret})
            assert answer.status_code == 422, remote
            assert "must use https" in answer.json()["detail"]
        patched = admin.patch(f"/connectors/{world.ids['connector']}", json={"url": "http://erp.example.com"})
        assert patched.status_code == 422
        body = {"name": "Local", "url": world.sample.url, "secret": world.sample.secret}
        local = admin.post("/connectors", json=body)
        assert local.status_code == 201, local.text


def test_the_web_dialog_and_the_cli_refuse_bad_connector_urls_with_a_message(world: SecurityWorld) -> None:
    admin = Browser(world, "admin")
    try:
        for url, message in (
            (f"{world.sample.url}/\r\nX: 1", "must not contain control characters"),
            (world.sample.url.replace("http://", "http://u:p@"), "must not hold a user name or password"),
            (f"http://127.0.0.1:{free_port()}", "does not answer as an erpsync connector"),
        ):
            answer = admin.post("/settings/sync/connectors/new", {"name": "Bad", "url": url, "secret": "s" * 20})
            assert answer.status_code == 422, url
            assert message in answer.text
    finally:
        admin.close()
    assert check_url(world.sample.url) == world.sample.url
    with pytest.raises(ValidationError, match="control characters"):
        check_url(f"{world.sample.url}\n")


# --- NUL characters ---------------------------------------------------------------------------------------------------


def _counts(world: SecurityWorld) -> tuple[int, ...]:
    with world.database.engine.connect() as connection:
        tables = ("companies", "persons", "projects", "users", "groups", "sync_connectors", "erp_connections")
        return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables)


def test_nul_is_refused_in_every_api_body_and_query_and_nothing_changes(world: SecurityWorld) -> None:
    before = _counts(world)
    company = f"/companies/{world.ids['company']}"
    with world.client("admin") as admin:
        attempts = [
            admin.post("/companies", json={"name": "Acme\x00 Corp"}),
            admin.patch(company, json={"email": "a\x00@example.com"}),
            admin.post("/persons", json={"first_name": "A", "notes": {"nested": ["x\x00"]}}),
            admin.post("/users", json={"login": "nul\x00user", "password": PASSWORD}),
            admin.post("/groups", json={"name": "G\x00"}),
            admin.post("/connectors", json={"name": "C\x00", "url": world.sample.url, "secret": world.sample.secret}),
            admin.post("/connections/test", json={"connector_id": 1, "config": {"company": "N\x00"}}),
            admin.get("/companies", params={"q": "Acme\x00"}),
            admin.post("/companies", content=b'{"name": "raw \x00"}', headers={"content-type": "application/json"}),
        ]
        after_company = _answered(admin.get(company)).json()
    for response in attempts:
        assert response.status_code == 422, (response.request.url, response.text)
        assert "NUL" in response.text
    assert after_company["email"] is None  # the refused PATCH left the company as it was
    assert _counts(world) == before


def test_nul_is_refused_in_every_web_form_and_nothing_changes(world: SecurityWorld) -> None:
    before = _counts(world)
    admin = Browser(world, "admin")
    try:
        forms = [
            ("/companies/new", {"name": "Acme\x00"}),
            (f"/companies/{world.ids['company']}/edit", {"name": "Renamed\x00"}),
            ("/settings/sync/connectors/new", {"name": "C\x00", "url": world.sample.url, "secret": "s" * 20}),
        ]
        for path, data in forms:
            answer = admin.post(path, data)
            assert answer.status_code == 422, (path, answer.text)
            assert "NUL character (U+0000)" in answer.text
        htmx = admin.post("/companies/new", {"name": "A\x00"}, headers={"HX-Request": "true"})
        assert htmx.status_code == 422
        assert htmx.text.startswith('<p class="error" role="alert">')
        assert admin.get("/companies", params={"q": "\x00"}).status_code == 422
    finally:
        admin.close()
    assert _counts(world) == before


def test_the_service_validators_refuse_nul_for_callers_outside_http(world: SecurityWorld) -> None:
    clients = hub_clients(world.database, cipher_for(world.settings))
    try:
        with world.database.session() as session:
            with pytest.raises(InvalidFieldError, match="U\\+0000"):
                write_record(session, EntityType.COMPANY, world.ids["company"], {"NAME": "A\x00"}, changed_by="system")
            with pytest.raises(ValidationError, match="control characters"):
                add_connector(session, clients, name="C\x00", url=world.sample.url, secret=world.sample.secret)
            with pytest.raises(ValidationError, match="U\\+0000"):
                check_secret("a" * 20 + "\x00")
            draft = ConnectionDraft(name="N", connector_id=world.ids["connector"], config={"company": "N\x00"})
            with pytest.raises(ValidationError, match="U\\+0000"):
                create_connection(session, clients, draft)
            session.rollback()
    finally:
        clients.close()


# --- hidden connections -----------------------------------------------------------------------------------------------


def test_changed_by_names_a_connection_only_to_those_who_can_see_it(world: SecurityWorld) -> None:
    main, company = world.ids["main"], world.ids["company"]
    with world.database.session() as session:  # the connection "main" (group Sales only) wrote the company last
        session.execute(
            text("UPDATE companies SET changed_by = :tag WHERE id = :id"), {"tag": f"sync:{main}", "id": company}
        )
    shown = {}
    for role in ("no_licence", "outside", "inside", "admin"):
        with world.client(role) as client:
            one = _answered(client.get(f"/companies/{company}")).json()["changed_by"]
            items = _answered(client.get("/companies")).json()["items"]
            listed = {item["id"]: item["changed_by"] for item in items}
            assert listed[company] == one, role
            shown[role] = one
    assert shown == {"no_licence": "sync", "outside": "sync", "inside": f"sync:{main}", "admin": f"sync:{main}"}
    for role in ("no_licence", "outside"):
        browser = Browser(world, role)
        try:
            erp_tab = 403 if role == "no_licence" else 200  # the ERP tab needs the licence
            paths = {f"/companies/{company}": 200, "/companies": 200, f"/companies/{company}/erp": erp_tab}
            pages = [_answered(browser.get(path), status).text for path, status in paths.items()]
        finally:
            browser.close()
        for page in pages:
            assert f"sync:{main}" not in page, role
            assert "victim" not in page, role  # no connection name either


def test_import_undo_tags_are_not_shown_to_users(world: SecurityWorld) -> None:
    company = world.ids["company"]
    with world.database.session() as session:
        session.execute(text("UPDATE companies SET changed_by = 'import-undo:7' WHERE id = :id"), {"id": company})
    with world.client("inside") as inside, world.client("admin") as admin:
        assert _answered(inside.get(f"/companies/{company}")).json()["changed_by"] == "import-undo"
        assert _answered(admin.get(f"/companies/{company}")).json()["changed_by"] == "import-undo:7"
