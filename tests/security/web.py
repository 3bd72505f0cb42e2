"""A cookie-keeping client for the hub's pages that signs in as one of the access matrix's callers."""

from __future__ import annotations

import re
from typing import Any

import httpx

from .conftest import PASSWORD, SecurityWorld

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """Keeps the session cookie; ``token`` is the session's CSRF token as its pages carry it."""

    def __init__(self, world: SecurityWorld, role: str) -> None:
        self.http = httpx.Client(base_url=world.url, follow_redirects=False, timeout=30)
        self.role = role
        if role != "anonymous":
            answer = self.http.post("/login", data={"username": role, "password": PASSWORD, "csrf_token": self.token})
            if answer.status_code != 303:
                self.http.close()  # the caller gets no Browser to close
            assert answer.status_code == 303, answer.text

    @property
    def token(self) -> str:
        match = _CSRF.search(self.http.get("/login").text)
        assert match, "the login page carries the session's CSRF token"
        return match.group(1)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def close(self) -> None:
        self.http.close()
