"""Sign-ins over real HTTP: one rate limit for the API and the web form, X-Forwarded-For only from trusted proxies,
throttling per login and address (never a lockout of the user elsewhere), the same answer for unknown logins, the
administrator's unlock (API and CLI), and a web session cookie that holds no API token."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from typer.testing import CliRunner

from erpsync import accounts
from erpsync.app import create_app
from erpsync.cli import app as cli_app
from erpsync.settings import Settings, get_settings
from erpsync.storage.db import Database
from erpsync.storage.tables import ApiToken, LoginThrottle, WebSession, utcnow
from erpsync.testing.server import serve_in_thread

from .conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "not the password"
TIMEOUT = 30.0
"""Seconds a request may take: a password is hashed with argon2 (64 MiB, a fifth of a second idle), slower on a busy
machine than httpx's default of five seconds allows."""


@dataclass
class Hub:
    url: str
    database: Database
    ids: dict[str, int]

    def token(self, login: str = "victim", password: str = PASSWORD, **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/auth/token",
            data={"username": login, "password": password},
            headers=headers,
            timeout=TIMEOUT,
        )

    def web_login(
        self, login: str = "victim", password: str = PASSWORD, *, browser: httpx.Client | None = None, **headers: str
    ) -> httpx.Response:
        with contextmanager_client(self.url, browser) as client:
            match = _CSRF.search(client.get("/login").text)
            assert match
            form = {"username": login, "password": password, "csrf_token": match.group(1)}
            return client.post("/login", data=form, headers=headers)

    def admin(self) -> httpx.Client:
        token = self.token("admin", **{"X-Forwarded-For": "192.0.2.250"}).json()["access_token"]
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )


@contextmanager
def contextmanager_client(url: str, browser: httpx.Client | None) -> Iterator[httpx.Client]:
    if browser is not None:
        yield browser
        return
    with httpx.Client(base_url=url, follow_redirects=False, timeout=TIMEOUT) as client:
        yield client


@contextmanager
def _hub(template: Path, folder: Path, **settings: Any) -> Iterator[Hub]:
    path = folder / "erpsync.sqlite"
    shutil.copyfile(template, path)
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        ids = {
            "admin": accounts.create_user(session, login="admin", password=PASSWORD, is_admin=True).id,
            "victim": accounts.create_user(session, login="victim", password=PASSWORD).id,
        }
    hub_settings = Settings(data_dir=folder / "data", secret_key=Fernet.generate_key().decode(), **settings)
    try:
        with serve_in_thread(create_app(hub_settings, database=database)) as url:
            yield Hub(url, database, ids)
    finally:
        database.dispose()


@pytest.fixture
def hub(sqlite_template: Path, tmp_path: Path) -> Iterator[Hub]:
    """A hub that trusts no proxy: X-Forwarded-For is whatever the client wrote, and is ignored."""
    with _hub(sqlite_template, tmp_path) as running:
        yield running


@pytest.fixture
def proxied(sqlite_template: Path, tmp_path: Path) -> Iterator[Hub]:
    """A hub behind a trusted reverse proxy on loopback: X-Forwarded-For names the client."""
    with _hub(sqlite_template, tmp_path, trusted_proxies="127.0.0.1, ::1") as running:
        yield running


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# --- one rate limit per client address, for the API and the web form ------------------------------------------------


def test_the_api_login_limit_ignores_a_rotating_forwarded_for_from_an_untrusted_client(hub: Hub) -> None:
    answers = [hub.token(f"guess{n}", WRONG, **_from(f"198.51.100.{n}")) for n in range(21)]
    assert [answer.status_code for answer in answers[:20]] == [401] * 20
    assert answers[20].status_code == 429
    assert int(answers[20].headers["Retry-After"]) > 0
    assert "too many sign-in attempts" in answers[20].json()["detail"]
    assert hub.token(**_from("198.51.100.200")).status_code == 429  # even the right password, from "another" address


def test_the_web_login_is_rate_limited_like_the_api(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url, follow_redirects=False, timeout=TIMEOUT) as browser:
        answers = [hub.web_login(f"guess{n}", WRONG, browser=browser, **_from(f"198.51.100.{n}")) for n in range(21)]
    assert [answer.status_code for answer in answers[:20]] == [401] * 20
    assert answers[20].status_code == 429
    assert int(answers[20].headers["Retry-After"]) > 0
    assert "Too many sign-in attempts" in answers[20].text


def test_the_api_and_the_web_form_share_one_limit(hub: Hub) -> None:
    for n in range(10):
        assert hub.token(f"api{n}", WRONG).status_code == 401
        assert hub.web_login(f"web{n}", WRONG).status_code == 401
    assert hub.token("victim").status_code == 429
    assert hub.web_login("victim").status_code == 429


def test_a_trusted_proxys_forwarded_for_is_honoured(proxied: Hub) -> None:
    for n in range(20):
        assert proxied.token(f"guess{n}", WRONG, **_from("203.0.113.7")).status_code == 401
    assert proxied.token(**_from("203.0.113.7")).status_code == 429
    # A client cannot escape by writing addresses of its own in front: the proxy appended the real one last.
    assert proxied.token(**_from("198.51.100.1, 203.0.113.7")).status_code == 429
    assert proxied.token(**_from("203.0.113.8")).status_code == 200
    assert proxied.web_login(**_from("203.0.113.9")).status_code == 303


# --- throttling per login and address, never a lockout ---------------------------------------------------------------


def test_an_attacker_is_throttled_but_the_user_elsewhere_signs_in(proxied: Hub) -> None:
    attacker = _from("203.0.113.66")
    answers = [proxied.token("victim", WRONG, **attacker) for _ in range(accounts.FREE_FAILURES)]
    assert [answer.status_code for answer in answers] == [401] * accounts.FREE_FAILURES
    throttled = proxied.token("victim", PASSWORD, **attacker)  # the right password does not get through either
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= accounts.FIRST_DELAY.total_seconds()
    assert proxied.token("victim", PASSWORD, **_from("192.0.2.10")).status_code == 200
    assert proxied.web_login("victim", PASSWORD, **_from("192.0.2.11")).status_code == 303


def test_unknown_logins_get_the_same_answers_as_known_ones(proxied: Hub) -> None:
    def answers(login: str, address: str) -> list[tuple[int, str, bool]]:
        seen = []
        for _ in range(accounts.FREE_FAILURES + 1):
            answer = proxied.token(login, WRONG, **_from(address))
            detail = re.sub(r"\d+", "N", answer.json()["detail"])  # "try again in N seconds" may differ by a second
            seen.append((answer.status_code, detail, "Retry-After" in answer.headers))
        return seen

    known, unknown = answers("victim", "203.0.113.1"), answers("nobody", "203.0.113.2")
    assert known == unknown
    assert known[-1] == (429, "too many sign-in attempts; try again in N seconds", True)
    with proxied.database.session() as session:
        assert {row.login for row in session.scalars(select(LoginThrottle))} == {"victim", "nobody"}


def test_many_failures_from_many_addresses_hit_the_account_ceiling_until_an_admin_unlocks(
    sqlite_template: Path, tmp_path: Path
) -> None:
    with _hub(sqlite_template, tmp_path, trusted_proxies="127.0.0.1", login_account_limit="3/hour") as hub:
        for n in range(3):
            assert hub.token("victim", WRONG, **_from(f"198.51.100.{n}")).status_code == 401
        # Past the ceiling the addresses that failed wait, even with the right password; a fresh address is let in.
        assert hub.token("victim", PASSWORD, **_from("198.51.100.0")).status_code == 429
        assert hub.token("victim", WRONG, **_from("198.51.100.1")).status_code == 429
        assert hub.token("victim", PASSWORD, **_from("192.0.2.99")).status_code == 200
        assert hub.token("nobody", WRONG, **_from("198.51.100.98")).status_code == 401  # other names are not held
        with hub.admin() as admin:
            assert admin.post(f"/users/{hub.ids['victim']}/unlock").status_code == 204
        assert hub.token("victim", PASSWORD, **_from("198.51.100.0")).status_code == 200


def test_an_admin_unlocks_an_account_throttled_from_an_address(proxied: Hub) -> None:
    attacker = _from("203.0.113.66")
    for _ in range(accounts.FREE_FAILURES):
        proxied.token("victim", WRONG, **attacker)
    with proxied.database.session() as session:  # as after a night of guessing: the longest wait
        throttle = session.scalars(select(LoginThrottle)).one()
        assert (throttle.login, throttle.address, throttle.failures) == ("victim", "203.0.113.66", 3)
        throttle.failures, throttle.blocked_until = 50, utcnow() + accounts.MAX_DELAY
    refused = proxied.token("victim", PASSWORD, **attacker)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 800
    with proxied.admin() as admin:
        unlocked = admin.post(f"/users/{proxied.ids['victim']}/unlock")
        assert unlocked.status_code == 204
        assert admin.post("/users/999/unlock").status_code == 404
    assert proxied.token("victim", PASSWORD, **attacker).status_code == 200


def test_only_admins_unlock(proxied: Hub) -> None:
    token = proxied.token("victim").json()["access_token"]
    with httpx.Client(
        base_url=f"{proxied.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    ) as user:
        assert user.post(f"/users/{proxied.ids['victim']}/unlock").status_code == 403
    assert httpx.post(f"{proxied.url}/api/v1/users/{proxied.ids['victim']}/unlock").status_code == 401


def test_the_cli_unlocks_a_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ERPSYNC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        added = runner.invoke(cli_app, ["users", "add", "victim", "--password-stdin"], input=f"{PASSWORD}\n")
        assert added.exit_code == 0, added.output
        database = Database(f"sqlite:///{tmp_path / 'data' / 'erpsync.sqlite'}")
        for address in ("203.0.113.1", "203.0.113.2"):
            for _ in range(accounts.FREE_FAILURES):
                with database.session() as session, pytest.raises(accounts.LoginFailedError):
                    accounts.authenticate(session, "victim", WRONG, address=address)
        with database.session() as session, pytest.raises(accounts.LoginThrottledError):
            accounts.authenticate(session, "victim", PASSWORD, address="203.0.113.1")
        unlocked = runner.invoke(cli_app, ["users", "unlock", "victim"])
        assert unlocked.exit_code == 0, unlocked.output
        assert "user victim unlocked (held at 2 addresses)" in unlocked.output
        with database.session() as session:
            assert accounts.authenticate(session, "victim", PASSWORD, address="203.0.113.1").login == "victim"
        database.dispose()
        unknown = runner.invoke(cli_app, ["users", "unlock", "nobody"])
        assert unknown.exit_code == 1
        assert "no user with login 'nobody'" in unknown.output
    finally:
        get_settings.cache_clear()


# --- the web session cookie ------------------------------------------------------------------------------------------


def _cookie_payload(browser: httpx.Client) -> dict[str, Any]:
    value = browser.cookies["erpsync_session"]
    data = value.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))
    return decoded


def test_the_web_cookie_holds_no_api_token(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url, follow_redirects=False, timeout=TIMEOUT) as browser:
        assert hub.web_login(browser=browser).status_code == 303
        payload = _cookie_payload(browser)
        cookie = browser.cookies["erpsync_session"]
        assert browser.get("/companies").status_code == 200
    with hub.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0  # a web sign-in issues no API token
        stored = session.scalars(select(WebSession.session_hash)).one()
    values = [str(value) for value in payload.values()]
    assert stored not in values  # the database holds a hash of the id, never the id itself
    for candidate in [*values, cookie]:
        answer = httpx.get(f"{hub.url}/api/v1/me", headers={"Authorization": f"Bearer {candidate}"})
        assert answer.status_code == 401, candidate


def test_web_sessions_end_on_sign_out_password_change_and_deactivation(hub: Hub) -> None:
    with ExitStack() as stack, hub.admin() as admin:
        for end in ("sign-out", "password", "deactivation"):
            browser = stack.enter_context(httpx.Client(base_url=hub.url, follow_redirects=False, timeout=TIMEOUT))
            assert hub.web_login(browser=browser).status_code == 303
            kept = dict(browser.cookies)
            if end == "sign-out":
                match = _CSRF.search(browser.get("/companies").text)
                assert match
                browser.post("/logout", data={"csrf_token": match.group(1)})
            elif end == "password":
                changed = admin.patch(f"/users/{hub.ids['victim']}", json={"password": "a newer passphrase"})
                assert changed.status_code == 200
                admin.patch(f"/users/{hub.ids['victim']}", json={"password": PASSWORD})
            else:
                assert admin.patch(f"/users/{hub.ids['victim']}", json={"active": False}).status_code == 200
            replay = stack.enter_context(
                httpx.Client(base_url=hub.url, follow_redirects=False, cookies=kept, timeout=TIMEOUT)
            )
            assert replay.get("/companies").status_code == 303, end
    with hub.database.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_cookies_are_secure_in_prod(sqlite_template: Path, tmp_path: Path) -> None:
    with _hub(sqlite_template, tmp_path, env="prod") as hub, httpx.Client(base_url=hub.url, timeout=TIMEOUT) as browser:
        cookie = browser.get("/login").headers["set-cookie"]
    assert "secure" in cookie.lower()
    assert "httponly" in cookie.lower()
    (tmp_path / "dev").mkdir()
    with _hub(sqlite_template, tmp_path / "dev") as hub, httpx.Client(base_url=hub.url, timeout=TIMEOUT) as browser:
        assert "secure" not in browser.get("/login").headers["set-cookie"].lower()
