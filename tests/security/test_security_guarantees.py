"""Secrets at rest and in answers, request limits, CSRF, and connector signatures (sign-ins: test_security_logins*)."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from sqlalchemy import text

from erpsync.api.limits import DEFAULT_MAX_BODY_BYTES
from erpsync.protocol.signing import signed_headers, signed_headers_v2
from erpsync.storage.tables import ErpConnection

from .conftest import PASSWORD, SecurityWorld


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
            seen.append(admin.get(path).text)
        seen.append(admin.post(f"/connections/{main}/sync").text)
        seen.append(admin.get("/runs").text)
        runs = admin.get("/runs").json()
        seen += [admin.get(f"/runs/{run['id']}/events").text for run in runs]
        bad = admin.post("/connections/test", json={"connector_id": world.ids["connector"], "config": {"password": 1}})
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
        browser.get("/login")
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
