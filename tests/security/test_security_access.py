"""The access matrix (SPEC §8): every API endpoint x {anonymous, user without licence, user outside the connection's
groups, user inside, admin}. Endpoints are read from the app, so a new endpoint without a row fails the test."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from erpsync.api.app import API_PREFIX
from erpsync.app import create_app
from erpsync.settings import Settings

from .conftest import PASSWORD, ROLES, SecurityWorld


class Access(StrEnum):
    PUBLIC = "anyone"
    USER = "any signed-in user"
    ERP = "the ERP licence (or admin)"
    VISIBLE = "the ERP licence and the connection visible"
    ERP_TAB = "the ERP licence, the connection visible and active"
    ADMIN = "the administrator role"


PUBLIC, USER, ERP, VISIBLE, ERP_TAB, ADMIN = Access

ENDPOINTS: dict[tuple[str, str], Access] = {
    ("POST", "/auth/token"): PUBLIC,
    ("GET", "/me"): USER,
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("GET", "/users/{user_id}"): ADMIN,
    ("PATCH", "/users/{user_id}"): ADMIN,
    ("DELETE", "/users/{user_id}"): ADMIN,
    ("POST", "/users/{user_id}/unlock"): ADMIN,
    ("GET", "/groups"): ADMIN,
    ("POST", "/groups"): ADMIN,
    ("GET", "/groups/{group_id}"): ADMIN,
    ("PATCH", "/groups/{group_id}"): ADMIN,
    ("DELETE", "/groups/{group_id}"): ADMIN,
    ("GET", "/companies"): USER,
    ("POST", "/companies"): USER,
    ("GET", "/companies/{company_id}"): USER,
    ("PATCH", "/companies/{company_id}"): USER,
    ("DELETE", "/companies/{company_id}"): USER,
    ("POST", "/companies/{company_id}/merge"): USER,
    ("GET", "/persons"): USER,
    ("POST", "/persons"): USER,
    ("GET", "/persons/{person_id}"): USER,
    ("PATCH", "/persons/{person_id}"): USER,
    ("DELETE", "/persons/{person_id}"): USER,
    ("POST", "/persons/{person_id}/merge"): USER,
    ("GET", "/projects"): USER,
    ("POST", "/projects"): USER,
    ("GET", "/projects/{project_id}"): USER,
    ("PATCH", "/projects/{project_id}"): USER,
    ("DELETE", "/projects/{project_id}"): USER,
    ("GET", "/lists/{name}"): USER,
    ("POST", "/lists/{name}"): ADMIN,
    ("PATCH", "/lists/{name}/{item_id}"): ADMIN,
    ("GET", "/connectors"): ADMIN,
    ("POST", "/connectors"): ADMIN,
    ("GET", "/connectors/{connector_id}"): ADMIN,
    ("PATCH", "/connectors/{connector_id}"): ADMIN,
    ("DELETE", "/connectors/{connector_id}"): ADMIN,
    ("GET", "/connectors/{connector_id}/config-form"): ADMIN,
    ("GET", "/connections"): ERP,
    ("POST", "/connections"): ADMIN,
    ("POST", "/connections/test"): ADMIN,
    ("GET", "/connections/{connection_id}"): VISIBLE,
    ("PATCH", "/connections/{connection_id}"): ADMIN,
    ("DELETE", "/connections/{connection_id}"): ADMIN,
    ("POST", "/connections/{connection_id}/test"): ADMIN,
    ("POST", "/connections/{connection_id}/refresh"): ADMIN,
    ("POST", "/connections/{connection_id}/restore"): ADMIN,
    ("GET", "/connections/{connection_id}/mappings/{actor_type}"): ADMIN,
    ("PUT", "/connections/{connection_id}/mappings/{actor_type}"): ADMIN,
    ("GET", "/connections/{connection_id}/mappings/{actor_type}/delete-preview"): ADMIN,
    ("GET", "/connections/{connection_id}/list-mappings"): ADMIN,
    ("PUT", "/connections/{connection_id}/list-mappings"): ADMIN,
    ("GET", "/connections/{connection_id}/defaults/{actor_type}"): ADMIN,
    ("PUT", "/connections/{connection_id}/defaults/{actor_type}"): ADMIN,
    ("GET", "/connections/{connection_id}/ranks/{actor_type}"): ADMIN,
    ("PUT", "/connections/{connection_id}/ranks/{actor_type}"): ADMIN,
    ("GET", "/connections/{connection_id}/filters/{actor_type}"): ADMIN,
    ("PUT", "/connections/{connection_id}/filters/{actor_type}"): ADMIN,
    ("POST", "/connections/{connection_id}/filters/{actor_type}/preview"): ADMIN,
    ("GET", "/connections/{connection_id}/auto-create/{actor_type}"): ADMIN,
    ("PUT", "/connections/{connection_id}/auto-create/{actor_type}"): ADMIN,
    ("POST", "/connections/{connection_id}/auto-create/{actor_type}/preview"): ADMIN,
    ("GET", "/connections/{connection_id}/auto-reviews"): ADMIN,
    ("POST", "/connections/{connection_id}/auto-reviews/{review_id}/link"): ADMIN,
    ("POST", "/connections/{connection_id}/auto-reviews/{review_id}/create"): ADMIN,
    ("POST", "/connections/{connection_id}/auto-reviews/{review_id}/ignore"): ADMIN,
    ("GET", "/connections/{connection_id}/policy"): ADMIN,
    ("PUT", "/connections/{connection_id}/policy"): ADMIN,
    ("POST", "/connections/{connection_id}/activate"): ADMIN,
    ("POST", "/connections/{connection_id}/deactivate"): ADMIN,
    ("GET", "/sync-priority"): ADMIN,
    ("PUT", "/sync-priority"): ADMIN,
    ("GET", "/engine"): ADMIN,
    ("PUT", "/engine"): ADMIN,
    ("POST", "/connections/{connection_id}/sync"): ADMIN,
    ("GET", "/connections/{connection_id}/health"): ADMIN,
    ("GET", "/connections/{connection_id}/failing"): ADMIN,
    ("POST", "/connections/{connection_id}/failing/{link_id}/retry"): ADMIN,
    ("GET", "/runs"): ADMIN,
    ("GET", "/runs/{run_id}"): ADMIN,
    ("GET", "/runs/{run_id}/events"): ADMIN,
    ("GET", "/{collection}/{entity_id}/erp"): ERP,  # sections of visible connections only: see the test below
    ("POST", "/{collection}/{entity_id}/erp/{connection_id}/search"): ERP_TAB,
    ("GET", "/{collection}/{entity_id}/erp/{connection_id}/compare"): ERP_TAB,
    ("POST", "/{collection}/{entity_id}/erp/{connection_id}/connect"): ERP_TAB,
    ("GET", "/{collection}/{entity_id}/erp/{connection_id}/create-form"): ERP_TAB,
    ("POST", "/{collection}/{entity_id}/erp/{connection_id}/create"): ERP_TAB,
    ("POST", "/{collection}/{entity_id}/erp/{connection_id}/sync"): ERP_TAB,
    ("DELETE", "/{collection}/{entity_id}/erp/{connection_id}/link"): ERP_TAB,
    ("GET", "/{collection}/{entity_id}/erp/{connection_id}/documents"): ERP_TAB,
    ("GET", "/{collection}/{entity_id}/erp/{connection_id}/documents/lines"): ERP_TAB,
    ("POST", "/connections/{connection_id}/imports/preview"): ADMIN,
    ("POST", "/connections/{connection_id}/imports"): ADMIN,
    ("GET", "/connections/{connection_id}/imports"): ADMIN,
    ("GET", "/connections/{connection_id}/imports/{job_id}"): ADMIN,
    ("POST", "/connections/{connection_id}/imports/{job_id}/resume"): ADMIN,
    ("POST", "/connections/{connection_id}/imports/{job_id}/undo"): ADMIN,
    ("POST", "/connections/{connection_id}/resync-from-crm"): ADMIN,
    ("GET", "/connections/{connection_id}/resync-from-crm/{job_id}"): ADMIN,
    ("GET", "/runs/{run_id}/progress"): ADMIN,
    ("POST", "/runs/{run_id}/cancel"): ADMIN,
    ("GET", "/connections/{connection_id}/problems"): ADMIN,
    ("POST", "/connections/{connection_id}/problems/{cause}/retry"): ADMIN,
    ("POST", "/connections/{connection_id}/broken/{link_id}/unlink"): ADMIN,
    ("GET", "/alert-settings"): ADMIN,
    ("PUT", "/alert-settings"): ADMIN,
    ("GET", "/connections/{connection_id}/alert-recipients"): ADMIN,
    ("POST", "/connections/{connection_id}/alert-recipients"): ADMIN,
    ("DELETE", "/connections/{connection_id}/alert-recipients/{recipient_id}"): ADMIN,
    ("GET", "/connections/{connection_id}/alert-deliveries"): ADMIN,
    ("GET", "/audit"): ADMIN,
    ("POST", "/connections/{connection_id}/purge"): ADMIN,  # after restore: the victim is live, so 409
    ("POST", "/runs/{run_id}/undo"): ADMIN,
    ("GET", "/history/{entity_type}/{entity_id}"): ADMIN,
    ("POST", "/history/changes/{change_id}/revert"): ADMIN,
    ("GET", "/engine/history"): ADMIN,
    ("PUT", "/engine/history"): ADMIN,
    ("POST", "/connections/{connection_id}/resync"): ADMIN,
    ("POST", "/connections/{connection_id}/resync/dry-run"): ADMIN,
    ("GET", "/conflicts"): ERP,  # each user's own inbox: see tests/sync/test_conflict_inbox.py
    ("POST", "/conflicts/resolve"): ERP,
}

# What each caller must get, per access rule: "ok" (let through: any status but 401/403 and a hidden 404),
# or the refusal status.
EXPECTED: dict[Access, dict[str, str]] = {
    PUBLIC: dict.fromkeys(ROLES, "ok"),
    USER: {"anonymous": "401", "no_licence": "ok", "outside": "ok", "inside": "ok", "admin": "ok"},
    ERP: {"anonymous": "401", "no_licence": "403", "outside": "ok", "inside": "ok", "admin": "ok"},
    VISIBLE: {"anonymous": "401", "no_licence": "403", "outside": "404", "inside": "ok", "admin": "ok"},
    ERP_TAB: {"anonymous": "401", "no_licence": "403", "outside": "404", "inside": "ok", "admin": "ok"},
    ADMIN: {"anonymous": "401", "no_licence": "403", "outside": "403", "inside": "403", "admin": "ok"},
}


def _app_endpoints() -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=Path("/nonexistent"), secret_key=Fernet.generate_key().decode()))
    paths = app.openapi()["paths"]
    return {(method.upper(), path.removeprefix(API_PREFIX)) for path, ops in paths.items() for method in ops}


def test_every_endpoint_has_a_row() -> None:
    endpoints = _app_endpoints()
    assert sorted(endpoints - ENDPOINTS.keys()) == [], "endpoints without a row in the access matrix"
    assert sorted(ENDPOINTS.keys() - endpoints) == [], "rows for endpoints that no longer exist"


def _path(world: SecurityWorld, method: str, template: str) -> str:
    """Real ids; destructive admin calls aim at throw-away records so the rest of the matrix keeps its fixtures."""
    destructive = method in {"DELETE", "POST", "PATCH", "PUT"} and ENDPOINTS[(method, template)] is ADMIN
    deleting_crm = method == "DELETE" and ENDPOINTS[(method, template)] is USER
    connection = world.ids["victim" if destructive else "main"]
    values = {
        "collection": "companies",
        "entity_id": world.ids["company"],
        "company_id": world.ids["victim_company" if deleting_crm else "company"],
        "connection_id": connection,
        "connector_id": world.ids["connector"],
        "user_id": world.ids["victim_user" if destructive else "admin"],
        "group_id": world.ids["group"],
        "actor_type": "customer",
        "name": "country",
        "item_id": 1,
        "person_id": 1,
        "project_id": 1,
        "run_id": 1,
        "link_id": 1,
        "job_id": 1,
        "cause": "0" * 32,
        "recipient_id": 1,
        "entity_type": "company",
        "change_id": 1,
        "review_id": 1,
    }
    return template.format(**values)


def _outcome(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return str(response.status_code)
    if response.status_code == 404 and "no ERP connection with id" in response.text:
        return "404"  # a connection the caller may not see is "not found", so its existence is not disclosed
    return "ok"


# Valid requests where validation would otherwise answer before the access check (a 422 tells nothing either way).
_TAB = "/{collection}/{entity_id}/erp/{connection_id}"
BODIES: dict[str, dict[str, object]] = {
    f"{_TAB}/search": {"actor_type": "customer", "text": "Acme"},
    f"{_TAB}/connect": {"actor_type": "customer", "erp_key": "1"},
    f"{_TAB}/create": {"actor_type": "customer", "values": {}},
    "/connections/{connection_id}/imports/preview": {"actor_type": "customer"},
    "/connections/{connection_id}/imports": {"actor_type": "customer"},
    "/connections/{connection_id}/alert-recipients": {"channel": "email", "target": "ops@example.com"},
    "/engine/history": {"days": 365},
    "/connections/{connection_id}/auto-create/{actor_type}": {"direction": "off", "match": []},
    "/connections/{connection_id}/auto-create/{actor_type}/preview": {"direction": "off", "match": []},
    "/connections/{connection_id}/auto-reviews/{review_id}/link": {"candidate": "1"},
    "/conflicts/resolve": {"ids": [1], "side": "crm"},
    "/companies/{company_id}/merge": {"other_id": 999_999},  # no such record: access is checked, nothing is merged
    "/persons/{person_id}/merge": {"other_id": 999_999},
}
QUERIES: dict[str, dict[str, str]] = {
    f"{_TAB}/compare": {"actor_type": "customer", "erp_key": "1"},
    f"{_TAB}/create-form": {"actor_type": "customer"},
    f"{_TAB}/documents/lines": {"document_key": "D1"},
}


def _call(client: httpx.Client, method: str, template: str, path: str) -> httpx.Response:
    if template == "/auth/token":
        return client.post(path, data={"username": "victim", "password": PASSWORD})
    body = BODIES.get(template, {}) if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, path, json=body, params=QUERIES.get(template))


def test_each_caller_gets_exactly_what_spec_8_allows(world: SecurityWorld) -> None:
    wrong = []
    clients = {role: world.client(role) for role in ROLES}
    try:
        for role in ROLES:  # the admin last: its calls change things
            for (method, template), access in ENDPOINTS.items():
                response = _call(clients[role], method, template, _path(world, method, template))
                assert response.status_code != 500, f"{method} {template} as {role}: {response.text}"
                if _outcome(response) != EXPECTED[access][role]:
                    wrong.append(f"{method} {template} as {role}: {response.status_code} {response.text[:120]}")
    finally:
        for client in clients.values():
            client.close()
    assert wrong == [], "\n".join(wrong)


def test_the_erp_tab_shows_only_the_connections_a_user_can_see(world: SecurityWorld) -> None:
    path = f"/companies/{world.ids['company']}/erp"
    shown = {}
    for role in ("outside", "inside"):
        with world.client(role) as client:
            shown[role] = [section["connection_id"] for section in client.get(path).json()["sections"]]
    assert shown == {"outside": [], "inside": [world.ids["main"], world.ids["victim"]]}
