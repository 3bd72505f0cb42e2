"""ASGI middleware refusing any request that carries U+0000 (NUL) in its path, query string or body, with 422.

One place for every text the hub accepts over HTTP, API and web pages alike: a NUL in a JSON string (``\\u0000``), a
form field (``%00``), a query parameter or raw in the body is refused before any handler runs, so nothing changes.
The service layer's validators refuse NUL again for callers that do not come through HTTP (the command line).

Public names: ``NulRefusal``, ``NUL_MESSAGE``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erpsync.text import NUL_REFUSED, contains_nul

NUL_MESSAGE = f"the request {NUL_REFUSED}"

PageAnswer = Callable[[Request], Awaitable[Response]]
"""Renders the refusal for a web page request (not under ``api_prefix``)."""


class NulRefusal:
    """Reads the body (its size is bounded by ``BodySizeLimit`` outside this), checks it, then replays it."""

    def __init__(self, app: ASGIApp, *, api_prefix: str, page_answer: PageAnswer | None = None) -> None:
        self.app = app
        self.api_prefix = api_prefix
        self.page_answer = page_answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages = await _read_body(receive)
        body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.request")
        if _url_has_nul(scope) or _body_has_nul(_content_type(scope), body):
            await self._refuse(scope, _replay(messages, receive), send)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        response: Response
        if self.page_answer is None or path == self.api_prefix or path.startswith(f"{self.api_prefix}/"):
            detail = [{"loc": ["request"], "msg": NUL_MESSAGE, "type": "value_error"}]
            response = JSONResponse({"detail": detail}, status_code=422)
        else:
            response = await self.page_answer(Request(scope, receive))
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> list[Message]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1").split(";")[0].strip().lower())
    return ""


def _url_has_nul(scope: Scope) -> bool:
    # "%00" can only mean NUL: a literal percent sign is itself encoded (%25).
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"\x00" in query or b"%00" in query


def _body_has_nul(content_type: str, body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if content_type == "application/x-www-form-urlencoded":
        return b"%00" in body
    if content_type == "application/json" or content_type.endswith("+json"):
        return b"\\u0000" in body.lower() and _json_has_nul(body)
    return False


def _json_has_nul(body: bytes) -> bool:
    try:
        return contains_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the handler's own validation answers that
