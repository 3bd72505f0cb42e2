"""The sign-in guards of ``erpsync.logins`` as FastAPI dependencies, shared by ``POST /auth/token`` and the web form.

Public names: ``login_limiter``, ``client_address``, ``LoginLimiterDep``, ``ClientAddress``, ``too_many_attempts``.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from erpsync import accounts, logins
from erpsync.http.deps import SettingsDep

_create_lock = threading.Lock()  # one limiter per app, made on its first sign-in


async def login_limiter(request: Request, settings: SettingsDep) -> logins.LoginLimiter:
    with _create_lock:
        limiter: logins.LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
        if limiter is None:
            limiter = request.app.state.login_limiter = logins.LoginLimiter.from_settings(settings)
    return limiter


async def client_address(request: Request, settings: SettingsDep) -> str:
    peer = request.client.host if request.client else None
    return logins.client_address(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxy_networks)


LoginLimiterDep = Annotated[logins.LoginLimiter, Depends(login_limiter)]
ClientAddress = Annotated[str, Depends(client_address)]


def too_many_attempts(exc: accounts.LoginThrottledError) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail=exc.user_message, headers={"Retry-After": str(exc.seconds)}
    )
