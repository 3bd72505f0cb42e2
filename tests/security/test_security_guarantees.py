"""Secrets at rest and in answers, request limits, CSRF, and connector signatures (sign-ins: test_security_logins*)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from sqlalchemy import text

from erpsync.api.limits import DEFAULT_MAX_BODY_BYTES
from erpsync.protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

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
    now = str(int(time.time()))
    stale = str(int(time.time()) - 600)
    attempts = {
        "unsigned": {},
        "wrong secret": {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sign("not the secret", now, body)},
        "stale": {TIMESTAMP_HEADER: stale, SIGNATURE_HEADER: sign(world.sample.secret, stale, body)},
    }
    for name, headers in attempts.items():
        response = httpx.post(f"{world.sample.url}/v1/info", content=body, headers=headers)
        assert response.status_code == 401, name
        assert response.json()["error_code"] == "auth", name
    signed = {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sign(world.sample.secret, now, body)}
    assert httpx.post(f"{world.sample.url}/v1/info", content=body, headers=signed).status_code == 200
