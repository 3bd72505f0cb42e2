"""Sign-in, tokens, throttling, who may call what (401/403 on every endpoint), body limit, OpenAPI."""

from __future__ import annotations

import re

import httpx

from erpsync import accounts
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database

from .conftest import PASSWORD, Hub

ADMIN_ONLY = {
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{user_id}"),
    ("PATCH", "/users/{user_id}"),
    ("DELETE", "/users/{user_id}"),
    ("POST", "/users/{user_id}/unlock"),
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/groups/{group_id}"),
    ("PATCH", "/groups/{group_id}"),
    ("DELETE", "/groups/{group_id}"),
    ("POST", "/lists/{name}"),
    ("PATCH", "/lists/{name}/{item_id}"),
}
PUBLIC = {("POST", "/auth/token")}


def _endpoints() -> list[tuple[str, str]]:
    """Every endpoint of the app (read from its OpenAPI document, so a new one cannot be forgotten here)."""
    database = Database("sqlite://")
    paths = create_app(Settings(secret_key="only-to-list-the-routes"), database=database).openapi()["paths"]
    database.dispose()
    found = {(method.upper(), path.removeprefix("/api/v1")) for path, item in paths.items() for method in item}
    return sorted(found - PUBLIC)


def _concrete(path: str) -> str:
    return re.sub(r"\{name\}", "country", re.sub(r"\{\w+_id\}", "1", path))


def test_every_endpoint_needs_a_token(anon: httpx.Client) -> None:
    for method, path in _endpoints():
        response = anon.request(method, _concrete(path))
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "token" in response.json()["detail"]


def test_admin_endpoints_refuse_other_users(user: httpx.Client) -> None:
    for method, path in sorted(ADMIN_ONLY):
        response = user.request(method, _concrete(path), json={})
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "this needs the administrator role"}


def test_the_admin_set_lists_real_endpoints() -> None:
    assert set(_endpoints()) >= ADMIN_ONLY


def test_sign_in_and_me(hub: Hub, user: httpx.Client) -> None:
    me = user.get("/me").json()
    assert (me["login"], me["is_admin"], me["licences"]) == ("user", False, ["erp"])
    assert "password_hash" not in me


def test_bad_tokens_are_refused(hub: Hub) -> None:
    user_id = hub.add_user("ann")
    with hub.database.session() as session:
        expired = accounts.issue_token(session, accounts.get_user(session, user_id), lifetime=-accounts.TOKEN_LIFETIME)
    for token in (expired, "not-a-token"):
        with hub.client(token) as client:
            response = client.get("/me")
        assert response.status_code == 401
        assert response.json() == {"detail": "invalid or expired token"}


def test_wrong_passwords_then_throttled(hub: Hub, anon: httpx.Client) -> None:
    # Throttling replaced the account lockout: this address waits (429, Retry-After), even with the right password.
    hub.add_user("ann")
    for _ in range(accounts.FREE_FAILURES):
        response = anon.post("/auth/token", data={"username": "ann", "password": "wrong one"})
        assert response.status_code == 401
        assert response.json() == {"detail": "wrong login or password"}
    for password in ("wrong one", PASSWORD):
        response = anon.post("/auth/token", data={"username": "ann", "password": password})
        assert response.status_code == 429
        assert "too many sign-in attempts; try again in" in response.json()["detail"]
        assert int(response.headers["Retry-After"]) >= 1


def test_sign_in_needs_the_form_fields(anon: httpx.Client) -> None:
    response = anon.post("/auth/token", data={"username": "ann"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_oversized_bodies_are_refused(admin: httpx.Client) -> None:
    response = admin.post("/companies", content=b'{"name": "' + b"x" * (1024 * 1024) + b'"}')
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]

    def chunks() -> object:
        yield b'{"name": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    chunked = admin.post("/companies", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_non_json_bodies_are_a_clear_422(admin: httpx.Client) -> None:
    response = admin.post("/companies", content=b"name=Acme", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_openapi_is_served(anon: httpx.Client) -> None:
    paths = anon.get("/openapi.json").json()["paths"]
    assert {"/api/v1/auth/token", "/api/v1/companies", "/api/v1/lists/{name}", "/api/v1/me"} <= set(paths)
