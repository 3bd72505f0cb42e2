"""The web pages' access matrix: what each caller (anonymous, user without licence, user outside the connection's
groups, user inside, admin) may do on every page and form route, the real ids and parameters to call each route with,
and how an answer reads (``ok``, ``login``, ``403``, ``404``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from erpsync import accounts
from erpsync.api.app import API_PREFIX
from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import ROLES, SecurityWorld
from .web import Browser


class Access(StrEnum):
    PUBLIC = "anyone"
    USER = "any signed-in user"
    ERP = "the ERP licence (or admin)"
    ERP_TAB = "the ERP licence and the connection visible"
    UNLINKED = "the ERP licence and the connection visible, on a record without a link"
    ADMIN = "the administrator role"


PUBLIC, USER, ERP, ERP_TAB, UNLINKED, ADMIN = Access

_SYNC = "/settings/sync"
_CONNECTION = f"{_SYNC}/connections/{{connection_id}}"


def _crm_rows(collection: str) -> dict[tuple[str, str], Access]:
    """Only customers are mapped: a company gets linked by ``connect``, persons and projects stay without a link."""
    one = f"/{collection}/{{entity_id}}"
    tab = f"{one}/erp/{{connection_id}}"
    on_link = ERP_TAB if collection == "companies" else UNLINKED
    return {
        ("GET", f"/{collection}"): USER,
        ("GET", f"/{collection}/new"): USER,
        ("POST", f"/{collection}/new"): USER,
        ("GET", one): USER,
        ("GET", f"{one}/edit"): USER,
        ("POST", f"{one}/edit"): USER,
        ("GET", f"{one}/delete"): USER,
        ("POST", f"{one}/delete"): USER,
        **({("GET", f"{one}/merge"): USER, ("POST", f"{one}/merge"): USER} if collection != "projects" else {}),
        ("GET", f"{one}/erp"): ERP,  # sections of visible connections only
        ("GET", f"{tab}/search"): ERP_TAB,
        ("POST", f"{tab}/connect"): ERP_TAB,
        ("GET", f"{tab}/create"): ERP_TAB,
        ("POST", f"{tab}/create"): ERP_TAB,
        ("POST", f"{tab}/sync"): on_link,
        ("GET", f"{tab}/documents"): ERP_TAB,  # what the connector answers, "not linked" included, is shown in the part
        ("GET", f"{tab}/documents/lines"): ERP_TAB,
        ("GET", f"{tab}/disconnect"): ERP_TAB,
        ("POST", f"{tab}/disconnect"): on_link,
        ("GET", f"{one}/history"): ERP,  # the changes through the connections the caller may see
        # The fixture has no field change 1: every licensed caller gets 404, the outsider for the connection too;
        # tests/web/test_web_history.py reverts real changes.
        ("POST", f"{tab}/revert/{{change_id}}"): UNLINKED,
    }


ROUTES: dict[tuple[str, str], Access] = {
    ("GET", "/"): USER,  # the start page: the login page for anonymous callers
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    **_crm_rows("companies"),
    **_crm_rows("persons"),
    **_crm_rows("projects"),
    ("GET", _SYNC): ADMIN,
    ("POST", f"{_SYNC}/engine"): ADMIN,
    ("POST", f"{_SYNC}/history"): ADMIN,
    ("GET", f"{_SYNC}/connectors/new"): ADMIN,
    ("POST", f"{_SYNC}/connectors/new"): ADMIN,
    ("GET", f"{_SYNC}/connectors/{{connector_id}}/edit"): ADMIN,
    ("POST", f"{_SYNC}/connectors/{{connector_id}}/edit"): ADMIN,
    ("GET", f"{_SYNC}/connectors/{{connector_id}}/delete"): ADMIN,
    ("POST", f"{_SYNC}/connectors/{{connector_id}}/delete"): ADMIN,
    ("GET", f"{_SYNC}/connections/new"): ADMIN,
    ("GET", f"{_SYNC}/connections/config-fields"): ADMIN,
    ("POST", f"{_SYNC}/connections/test"): ADMIN,
    ("POST", f"{_SYNC}/connections/new"): ADMIN,
    ("GET", f"{_CONNECTION}/edit"): ADMIN,
    ("POST", f"{_CONNECTION}/edit"): ADMIN,
    ("GET", f"{_CONNECTION}/mappings"): ADMIN,
    ("POST", f"{_CONNECTION}/mappings"): ADMIN,
    ("GET", f"{_CONNECTION}/mappings/delete-preview"): ADMIN,
    ("GET", f"{_CONNECTION}/list-mapping"): ADMIN,
    ("POST", f"{_CONNECTION}/list-mapping"): ADMIN,
    ("GET", f"{_CONNECTION}/defaults"): ADMIN,
    ("POST", f"{_CONNECTION}/defaults"): ADMIN,
    ("GET", f"{_CONNECTION}/ranks"): ADMIN,
    ("POST", f"{_CONNECTION}/ranks"): ADMIN,
    ("GET", f"{_CONNECTION}/policy"): ADMIN,
    ("POST", f"{_CONNECTION}/policy"): ADMIN,
    ("GET", f"{_CONNECTION}/filters"): ADMIN,
    ("POST", f"{_CONNECTION}/filters"): ADMIN,
    ("GET", f"{_CONNECTION}/auto-create"): ADMIN,
    ("POST", f"{_CONNECTION}/auto-create"): ADMIN,
    ("POST", f"{_CONNECTION}/auto-create/reviews/{{review_id}}"): ADMIN,
    ("GET", f"{_SYNC}/priority"): ADMIN,
    ("POST", f"{_SYNC}/priority"): ADMIN,
    ("POST", f"{_CONNECTION}/active"): ADMIN,
    ("GET", f"{_CONNECTION}/health"): ADMIN,
    ("POST", f"{_CONNECTION}/failing/{{link_id}}/retry"): ADMIN,
    ("GET", f"{_SYNC}/runs/{{run_id}}"): ADMIN,
    ("GET", f"{_SYNC}/runs/{{run_id}}/undo"): ADMIN,
    ("POST", f"{_SYNC}/runs/{{run_id}}/undo"): ADMIN,
    ("POST", f"{_CONNECTION}/sync"): ADMIN,
    ("GET", f"{_CONNECTION}/import"): ADMIN,
    ("GET", f"{_CONNECTION}/import/criteria"): ADMIN,
    ("GET", f"{_CONNECTION}/import/results"): ADMIN,
    ("POST", f"{_CONNECTION}/import/preview"): ADMIN,
    ("POST", f"{_CONNECTION}/import/run"): ADMIN,
    ("GET", f"{_CONNECTION}/imports/{{job_id}}/undo"): ADMIN,
    ("POST", f"{_CONNECTION}/imports/{{job_id}}/undo"): ADMIN,
    ("GET", f"{_CONNECTION}/jobs/{{job_id}}"): ADMIN,
    ("GET", f"{_CONNECTION}/jobs/{{job_id}}/live"): ADMIN,
    ("POST", f"{_CONNECTION}/jobs/{{job_id}}/cancel"): ADMIN,
    ("GET", f"{_CONNECTION}/resync"): ADMIN,
    ("POST", f"{_CONNECTION}/resync"): ADMIN,
    # Last: deleting the throw-away connection, then restoring it.
    ("GET", f"{_CONNECTION}/delete"): ADMIN,
    ("POST", f"{_CONNECTION}/delete"): ADMIN,
    ("POST", f"{_CONNECTION}/restore"): ADMIN,
    ("POST", f"{_CONNECTION}/problems/{{cause}}/retry"): ADMIN,
    ("POST", f"{_CONNECTION}/broken/{{link_id}}/unlink"): ADMIN,
    ("GET", f"{_SYNC}/alerts"): ADMIN,
    ("POST", f"{_SYNC}/alerts"): ADMIN,
    ("GET", f"{_CONNECTION}/alerts"): ADMIN,
    ("POST", f"{_CONNECTION}/alerts"): ADMIN,
    ("POST", f"{_CONNECTION}/alerts/{{recipient_id}}/delete"): ADMIN,
    # After restore: the throw-away connection is live again, so purging it is refused (409).
    ("GET", f"{_CONNECTION}/purge"): ADMIN,
    ("POST", f"{_CONNECTION}/purge"): ADMIN,
    ("GET", "/settings/audit"): ADMIN,
    ("GET", "/settings/users"): ADMIN,
    ("GET", "/settings/users/new"): ADMIN,
    ("POST", "/settings/users/new"): ADMIN,
    ("GET", "/settings/users/{user_id}/edit"): ADMIN,
    ("POST", "/settings/users/{user_id}/edit"): ADMIN,
    ("GET", "/settings/users/{user_id}/password"): ADMIN,
    ("POST", "/settings/users/{user_id}/password"): ADMIN,
    ("GET", "/settings/groups"): ADMIN,
    ("GET", "/settings/groups/new"): ADMIN,
    ("POST", "/settings/groups/new"): ADMIN,
    ("GET", "/settings/groups/{group_id}/edit"): ADMIN,
    ("POST", "/settings/groups/{group_id}/edit"): ADMIN,
    ("GET", "/settings/groups/{group_id}/delete"): ADMIN,
    ("POST", "/settings/groups/{group_id}/delete"): ADMIN,
    ("GET", "/conflicts"): ERP,  # each user's own inbox
    ("POST", "/conflicts/resolve"): ERP,
}

# What each caller must get, per access rule: "ok" (the page or form answered: 2xx, 3xx other than to the login page,
# 409, 422, 502), "login" (sent to the login page), "403" (the refusal page) or "404" (the connection does not exist
# for this caller, so its existence is not disclosed).
EXPECTED: dict[Access, dict[str, str]] = {
    PUBLIC: dict.fromkeys(ROLES, "ok"),
    USER: {"anonymous": "login", "no_licence": "ok", "outside": "ok", "inside": "ok", "admin": "ok"},
    ERP: {"anonymous": "login", "no_licence": "403", "outside": "ok", "inside": "ok", "admin": "ok"},
    ERP_TAB: {"anonymous": "login", "no_licence": "403", "outside": "404", "inside": "ok", "admin": "ok"},
    UNLINKED: {"anonymous": "login", "no_licence": "403", "outside": "404", "inside": "404", "admin": "404"},
    ADMIN: {"anonymous": "login", "no_licence": "403", "outside": "403", "inside": "403", "admin": "ok"},
}


def page_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves outside the API, from its routers as included (static files aside)."""

    def walk(routes: list[object], prefix: str = "") -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for route in routes:
            included = getattr(route, "include_context", None)
            if included is not None:
                found |= walk(included.included_router.routes, prefix + included.prefix)
            elif isinstance(route, APIRoute):
                found |= {(method, prefix + route.path) for method in route.methods}
        return found

    found = walk(list(app.routes))
    return {(method, path) for method, path in found if not path.startswith(API_PREFIX) and path not in MACHINE_PATHS}


MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered to machines, not browsers: the open probes (tests/test_health.py) and the scrape for a bearer token
(tests/api/test_api_metrics.py checks who may read it)."""


@dataclass(frozen=True)
class Records:
    """Real ids for every placeholder: one record per CRM collection, one to delete per collection and caller, an
    actor in the ERP to connect to, and a throw-away group (the one the connection is visible to stays as it is)."""

    entities: dict[str, int]
    erp_key: str
    group_id: int


def make_records(world: SecurityWorld) -> Records:
    kinds = {"companies": (EntityType.COMPANY, "NAME"), "persons": (EntityType.PERSON, "FIRSTNAME")}
    kinds["projects"] = (EntityType.PROJECT, "NAME")
    entities = {"companies": world.ids["company"]}
    with world.database.session() as session:
        for collection, (entity_type, key) in kinds.items():
            for owner in ("", *ROLES):
                name = f"{collection} {owner or 'shared'}"
                if (collection, owner) != ("companies", ""):
                    record = create_record(session, entity_type, {key: name}, changed_by="system")
                    entities[f"{collection}:{owner}" if owner else collection] = record.id
        group = accounts.create_group(session, name=f"Throw-away {len(accounts.list_groups(session))}")
        group_id = group.id
    erp_key = world.sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord({"name": "Acme ERP"}))
    return Records(entities, erp_key, group_id)


def path_for(world: SecurityWorld, records: Records, role: str, method: str, template: str) -> str:
    """Real ids; changes by the administrator and CRM deletes aim at throw-away records."""
    destructive = method == "POST" and ROUTES[(method, template)] is ADMIN
    collection = template.split("/")[1]
    deleting_crm = template.endswith("/delete") and ROUTES[(method, template)] is USER
    entity = f"{collection}:{role}" if deleting_crm else collection
    values = {
        "entity_id": records.entities.get(entity, 0),
        "connection_id": world.ids["victim" if destructive else "main"],
        "connector_id": world.ids["connector"],
        "link_id": 1,
        "run_id": 1,
        "job_id": 1,
        "change_id": 1,
        "user_id": world.ids["victim_user"],  # never the caller: nobody demotes themselves
        "group_id": records.group_id,
        "cause": "0" * 32,
        "recipient_id": 1,
        "review_id": 1,
    }
    return template.format(**values)


# Valid requests where a missing parameter would otherwise answer 404 before the access check is visible.
QUERIES: dict[str, dict[str, str]] = {
    "/search": {"actor_type": "customer"},
    "/create": {"actor_type": "customer"},
    "/mappings": {"actor_type": "customer"},
    "/mappings/delete-preview": {"actor_type": "customer", "erp_delete": "delete"},
    "/defaults": {"actor_type": "customer"},
    "/ranks": {"actor_type": "customer"},
    "/import": {"actor_type": "customer"},
    "/import/criteria": {"actor_type": "customer"},
    "/import/results": {"actor_type": "customer"},
    "/import/preview": {"actor_type": "customer"},
    "/import/run": {"actor_type": "customer"},
    "/config-fields": {"connector_id": "1"},
    "/documents/lines": {"key": "D1"},
}
FORMS: dict[str, dict[str, str]] = {
    "/login": {"username": "victim", "password": "wrong password"},
    "/language": {"language": "da"},
}


def query_for(template: str) -> dict[str, str] | None:
    return next((query for suffix, query in QUERIES.items() if template.endswith(suffix)), None)


def form_for(template: str, records: Records) -> dict[str, str]:
    if template.endswith("/connect"):
        return {"actor_type": "customer", "erp_key": records.erp_key}
    return next((form for suffix, form in FORMS.items() if template.endswith(suffix)), {})


_PLACEHOLDER_IDS = ("{link_id}", "{run_id}", "{job_id}", "{recipient_id}")
"""Ids the fixture has no record for: a 404 naming one of them means the caller was let through to the lookup."""


def outcome(response: httpx.Response, template: str = "") -> str:
    if response.status_code in (301, 302, 303, 307) and response.headers["location"].startswith("/login"):
        return "login"
    if response.status_code == 404 and any(part in template for part in _PLACEHOLDER_IDS):
        return "ok"
    if response.status_code in (403, 404):
        return str(response.status_code)
    return "ok"


def call(browser: Browser, world: SecurityWorld, records: Records, method: str, template: str) -> httpx.Response:
    path = path_for(world, records, browser.role, method, template)
    if method == "GET":
        return browser.get(path, params=query_for(template))
    form = {"csrf_token": browser.token, **form_for(template, records)}
    if template == "/login":  # one failed sign-in per caller and login: a login failing from one address is throttled
        form["username"] = f"{form['username']}-{browser.role}"
    return browser.http.post(path, params=query_for(template), data=form)
