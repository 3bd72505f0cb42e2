"""ASGI wrappers that break a connector at the HTTP level, where an SDK connector cannot misbehave on its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from erpsync.protocol.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    new_nonce,
    sign_v2,
    signed_headers_v2,
    verify,
)

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


Resign = Callable[[Scope, bytes, dict[str, str]], dict[str, str] | None]
"""Given a request's scope, body and headers: the v2 headers to pass on instead, or None to pass it on untouched."""


def _with_headers(scope: Scope, replacement: dict[str, str]) -> Scope:
    names = {name.lower().encode() for name in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER, SIGNATURE_V2_HEADER)}
    kept = [(name, value) for name, value in scope["headers"] if name.lower() not in names]
    return {**scope, "headers": kept + [(name.lower().encode(), value.encode()) for name, value in replacement.items()]}


def resigning(app: Asgi, resign: Resign) -> Asgi:
    """A connector with a flawed signature check: ``resign`` decides, then the real (correct) check sees its result."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        body = await _read_body(receive)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        replacement = resign(scope, body, headers)
        await app(scope if replacement is None else _with_headers(scope, replacement), _replay(body, receive), send)
        return None

    return wrapped


def accept_any_signature(app: Asgi, *, secret: str) -> Asgi:
    """Signs every request itself, so unsigned, forged, stale, replayed and redirected requests all get through."""
    return resigning(app, lambda scope, body, headers: signed_headers_v2(secret, body, path=scope["path"]))


def _v2(headers: dict[str, str], name: str) -> str:
    return headers.get(name.lower(), "")


def _resigned(secret: str, body: bytes, *, path: str, timestamp: str, nonce: str) -> dict[str, str]:
    signature = sign_v2(secret, method="POST", path=path, timestamp=timestamp, nonce=nonce, body=body)
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, SIGNATURE_V2_HEADER: signature}


def forget_nonces(app: Asgi, *, secret: str) -> Asgi:
    """Remembers no nonce: a correctly signed request is passed on under a fresh nonce, so a replay gets through."""

    def resign(scope: Scope, body: bytes, headers: dict[str, str]) -> dict[str, str] | None:
        path, timestamp, nonce = scope["path"], _v2(headers, TIMESTAMP_HEADER), _v2(headers, NONCE_HEADER)
        if not (timestamp and nonce):
            return None
        expected = sign_v2(secret, method="POST", path=path, timestamp=timestamp, nonce=nonce, body=body)
        if expected != _v2(headers, SIGNATURE_V2_HEADER):
            return None
        return _resigned(secret, body, path=path, timestamp=timestamp, nonce=new_nonce())

    return resigning(app, resign)


def ignore_path(app: Asgi, *, secret: str, operations: list[str]) -> Asgi:
    """Accepts a signature made for any operation: the signed path is not compared with the requested one."""

    def resign(scope: Scope, body: bytes, headers: dict[str, str]) -> dict[str, str] | None:
        timestamp, nonce = _v2(headers, TIMESTAMP_HEADER), _v2(headers, NONCE_HEADER)
        if not (timestamp and nonce):
            return None
        for operation in operations:
            path = f"/v1/{operation}"
            if sign_v2(secret, method="POST", path=path, timestamp=timestamp, nonce=nonce, body=body) == _v2(
                headers, SIGNATURE_V2_HEADER
            ):
                return _resigned(secret, body, path=scope["path"], timestamp=timestamp, nonce=nonce)
        return None

    return resigning(app, resign)


def compare_half_signature(app: Asgi, *, secret: str) -> Asgi:
    """Compares only the first 32 hex digits of the signature."""

    def resign(scope: Scope, body: bytes, headers: dict[str, str]) -> dict[str, str] | None:
        path, timestamp, nonce = scope["path"], _v2(headers, TIMESTAMP_HEADER), _v2(headers, NONCE_HEADER)
        if not (timestamp and nonce):
            return None
        expected = sign_v2(secret, method="POST", path=path, timestamp=timestamp, nonce=nonce, body=body)
        if expected[:32] != _v2(headers, SIGNATURE_V2_HEADER)[:32]:
            return None
        return _resigned(secret, body, path=path, timestamp=timestamp, nonce=nonce)

    return resigning(app, resign)


def fall_back_to_v1(app: Asgi, *, secret: str) -> Asgi:
    """Without a nonce, accepts a v1 signature: the downgrade that makes every v2 guarantee void."""

    def resign(scope: Scope, body: bytes, headers: dict[str, str]) -> dict[str, str] | None:
        if _v2(headers, NONCE_HEADER):
            return None
        timestamp = _v2(headers, TIMESTAMP_HEADER)
        try:
            verify(secret, timestamp=timestamp, signature=_v2(headers, SIGNATURE_HEADER), body=body)
        except SignatureError:
            return None
        return _resigned(secret, body, path=scope["path"], timestamp=timestamp, nonce=new_nonce())

    return resigning(app, resign)


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
