"""ASGI wrappers that break a connector at the HTTP level, where an SDK connector cannot misbehave on its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from erpsync.protocol.signing import signed_headers

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
Asgi = Callable[[Scope, Receive, Send], Any]
Edit = Callable[[dict[str, Any]], dict[str, Any]]


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` once, then waits on the real one (for the disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()  # type: ignore[no-any-return]
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def accept_any_signature(app: Asgi, *, secret: str) -> Asgi:
    """Signs every request itself, so unsigned, forged and stale requests all get through."""

    async def resigning(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        body = await _read_body(receive)
        fresh = [(name.lower().encode(), value.encode()) for name, value in signed_headers(secret, body).items()]
        names = {name for name, _ in fresh}
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in names] + fresh
        await app({**scope, "headers": headers}, _replay(body, receive), send)
        return None

    return resigning


def fail_on_bad_json(app: Asgi) -> Asgi:
    """Answers 500 to a body that is not JSON, like a connector with no input checks."""

    async def fragile(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        body = await _read_body(receive)
        try:
            json.loads(body)
        except ValueError:
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            return None
        await app(scope, _replay(body, receive), send)
        return None

    return fragile


def rewrite_answers(app: Asgi, *, operation: str, edit: Edit) -> Asgi:
    """Passes ``operation``'s JSON answer through ``edit``, e.g. to drop a member or add an invented value."""

    async def rewriting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != f"/v1/{operation}":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        start: Message = {}

        async def edited_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body = json.dumps(edit(json.loads(message["body"]))).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, edited_send)
        return None

    return rewriting
