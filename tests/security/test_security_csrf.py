"""CSRF on every state-changing page route, read from the app: without the session's token, or with another
session's, the request is refused with 403 and changes nothing; with the right token (form field or ``X-CSRF-Token``
header, as htmx sends it) it goes through."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from erpsync.storage.tables import Base

from .access_matrix import ROUTES, Records, call, make_records, page_routes, path_for, query_for
from .conftest import SecurityWorld
from .web import Browser

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _snapshot(world: SecurityWorld) -> dict[str, list[str]]:
    """Every row of every table, as text: what "changes nothing" is checked against."""
    with world.database.engine.connect() as connection:
        return {
            table.name: sorted(str(row) for row in connection.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def _unsafe_routes(world: SecurityWorld) -> list[tuple[str, str]]:
    from erpsync.app import create_app

    served = page_routes(create_app(world.settings, database=world.database))
    return sorted(route for route in served if route[0] in UNSAFE)


def _post(browser: Browser, world: SecurityWorld, records: Records, template: str, **kwargs: Any) -> httpx.Response:
    path = path_for(world, records, browser.role, "POST", template)
    return browser.http.post(path, params=query_for(template), **kwargs)


def test_every_state_changing_route_is_covered(world: SecurityWorld) -> None:
    unsafe = _unsafe_routes(world)
    assert len(unsafe) > 30, "the routes were read from the app"
    assert {route for route in ROUTES if route[0] in UNSAFE} == set(unsafe)


def test_every_state_changing_route_refuses_a_missing_or_foreign_token_and_changes_nothing(
    world: SecurityWorld,
) -> None:
    records = make_records(world)
    admin, stranger = Browser(world, "admin"), Browser(world, "inside")
    try:
        foreign = stranger.token  # a valid token, but of another session
        before = _snapshot(world)
        wrong = []
        for _method, template in _unsafe_routes(world):
            attempts = {
                "no token": _post(admin, world, records, template, data={}),
                "forged token": _post(admin, world, records, template, data={"csrf_token": "forged"}),
                "another session's token (form)": _post(admin, world, records, template, data={"csrf_token": foreign}),
                "another session's token (header)": _post(
                    admin, world, records, template, data={}, headers={"X-CSRF-Token": foreign}
                ),
            }
            for case, response in attempts.items():
                if response.status_code != 403 or "did not come from this site" not in response.text:
                    wrong.append(f"POST {template} with {case}: {response.status_code}")
        assert wrong == [], "\n".join(wrong)
        assert _snapshot(world) == before, "a refused request changed something"
        assert admin.get("/settings/sync").status_code == 200  # still signed in: the refusals ended nothing
    finally:
        admin.close()
        stranger.close()


def test_every_state_changing_route_accepts_the_right_token_in_the_form_or_the_header(world: SecurityWorld) -> None:
    records = make_records(world)
    wrong = []
    for _method, template in _unsafe_routes(world):
        if template in ("/login", "/logout"):
            continue  # they start or end the session itself: below
        for how in ("form", "header"):
            admin = Browser(world, "admin")
            try:
                token = admin.token
                if how == "form":
                    response = call(admin, world, records, "POST", template)
                else:
                    path = path_for(world, records, "admin", "POST", template)
                    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
                    response = admin.http.post(path, params=query_for(template), headers=headers)
            finally:
                admin.close()
            if response.status_code in (403, 500):
                wrong.append(f"POST {template} with the token in the {how}: {response.status_code}")
    assert wrong == [], "\n".join(wrong)


def test_signing_in_and_out_need_the_token_too(world: SecurityWorld) -> None:
    browser = Browser(world, "anonymous")
    try:
        form = {"username": "inside", "password": "a good password"}
        assert browser.http.post("/login", data=form).status_code == 403
        assert browser.http.post("/login", data=form, headers={"X-CSRF-Token": browser.token}).status_code == 303
        assert browser.http.post("/logout").status_code == 403
        assert browser.get("/companies").status_code == 200  # the refused sign-out did not sign out
        assert browser.http.post("/logout", headers={"X-CSRF-Token": browser.token}).status_code == 303
        assert browser.get("/companies").status_code == 303
    finally:
        browser.close()
