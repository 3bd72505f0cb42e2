"""CSRF protection: one random token per browser session, required on every state-changing request.

Forms send it in the hidden field ``csrf_token``; htmx sends it in the ``X-CSRF-Token`` header (set once on
``<body hx-headers>``). The session cookie is ``SameSite=Lax`` as well, but that alone does not cover every browser.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SESSION_KEY = "csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefusedError(Exception):
    """A state-changing request without this session's CSRF token."""


def token_for(request: Request) -> str:
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


def renew(request: Request) -> None:
    """A new token after sign-in, so a token learnt before it is worthless."""
    request.session[_SESSION_KEY] = secrets.token_urlsafe(32)


async def require_csrf(request: Request) -> None:
    """Router dependency: refuse unsafe methods whose token is missing or not this session's."""
    if request.method in _SAFE_METHODS:
        return
    expected = request.session.get(_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER) or (await request.form()).get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefusedError
