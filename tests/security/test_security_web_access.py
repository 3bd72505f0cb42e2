"""The web pages' access matrix: every page and form route x {anonymous, user without licence, user outside the
connection's groups, user inside, admin}. Routes are read from the app, so a new page without a row fails the test."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from fastapi import FastAPI

from erpsync.app import create_app
from erpsync.settings import Settings

from .access_matrix import EXPECTED, ROUTES, call, make_records, outcome, page_routes
from .conftest import PASSWORD, ROLES, SecurityWorld
from .web import Browser


def _app() -> FastAPI:
    return create_app(Settings(data_dir=Path("/nonexistent"), secret_key=Fernet.generate_key().decode()))


def test_every_page_route_has_a_row() -> None:
    routes = page_routes(_app())
    assert len(routes) > 50, "the routes were read from the app"
    assert sorted(routes - ROUTES.keys()) == [], "page routes without a row in the access matrix"
    assert sorted(ROUTES.keys() - routes) == [], "rows for page routes that no longer exist"


def test_each_caller_gets_exactly_what_spec_8_allows_on_every_page(world: SecurityWorld) -> None:
    records = make_records(world)
    wrong = []
    for role in ROLES:  # the admin last: its posts change things
        browser = Browser(world, role)
        try:
            for (method, template), access in ROUTES.items():
                if template in ("/login", "/logout"):
                    continue  # they change who is signed in: checked below with a browser of their own
                response = call(browser, world, records, method, template)
                assert response.status_code != 500, f"{method} {template} as {role}: {response.text}"
                if outcome(response, template) != EXPECTED[access][role]:
                    wrong.append(f"{method} {template} as {role}: {response.status_code} {response.text[:160]!r}")
        finally:
            browser.close()
    assert wrong == [], "\n".join(wrong)


def test_signing_in_and_out_is_open_to_everyone(world: SecurityWorld) -> None:
    # (method, path) -> status: the login page, a failed sign-in shown again (401), signing out back to the login page
    expected = {("GET", "/login"): 200, ("POST", "/login"): 401, ("POST", "/logout"): 303}
    records = make_records(world)
    for role in ROLES:
        for (method, template), code in expected.items():
            browser = Browser(world, role)
            try:
                response = call(browser, world, records, method, template)
            finally:
                browser.close()
            assert response.status_code == code, (method, template, role, response.text[:200])
    signed_in = Browser(world, "inside")
    try:
        assert outcome(signed_in.get("/companies")) == "ok"
        assert signed_in.post("/logout").headers["location"] == "/login"
        assert outcome(signed_in.get("/companies")) == "login"  # signed out for good
        assert signed_in.post("/login", {"username": "inside", "password": PASSWORD}).status_code == 303
        assert outcome(signed_in.get("/companies")) == "ok"
    finally:
        signed_in.close()
