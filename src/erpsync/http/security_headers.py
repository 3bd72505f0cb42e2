"""ASGI middleware giving every response of the hub its security headers: a strict Content-Security-Policy and friends.

The policy allows scripts, styles, fonts, images and requests from the hub itself only: no inline script or style, no
``eval``, no plugins, no ``<base>``, no framing by any site (clickjacking) and forms that post to the hub only. The web
UI keeps to it (its behaviour lives in static files, htmx is configured without eval and injected styles), and so do
the API docs pages. A response that already carries one of these headers keeps its own.

Pure ASGI (not ``BaseHTTPMiddleware``): only the response start is touched, so streamed bodies and background tasks
pass through unchanged.

Public names: ``SecurityHeaders``, ``CONTENT_SECURITY_POLICY``, ``SECURITY_HEADERS``.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response the wrapped app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
