"""Every request is served in its user's language, connector calls included: the language the browser chose (the
session's) or asks for (``Accept-Language``) is set as the protocol's language (``erpsync.protocol.language``) while
the request runs, so connectors answer labels, list items and messages in it and the cached field metadata is read
in it (``sync.metadata_languages``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from erpsync.protocol.language import speaking
from erpsync.web.i18n import pick_language
from erpsync.web.pages import LANGUAGE_KEY


class SpeakingMiddleware:
    """Inside the session middleware (it reads the session's language)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = scope.get("session") or {}
        language = pick_language(session.get(LANGUAGE_KEY), request.headers.get("accept-language", ""))
        with speaking(language):
            await self.app(scope, receive, send)
