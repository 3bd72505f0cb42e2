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


def rewrite_status(app: Asgi, statuses: dict[int, int]) -> Asgi:
    """Answers with another HTTP status, e.g. a refusal as ``200`` with the same ``ok: false`` envelope."""

    async def rewriting(scope: Scope, receive: Receive, send: Send) -> None:
        async def status_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in statuses:
                message = {**message, "status": statuses[message["status"]]}
            await send(message)

        await app(scope, receive, status_send)

    return rewriting


def authenticate_first(app: Asgi) -> Asgi:
    """Checks for a signature before anything else: an unsigned unknown operation or oversized body gets 401."""

    async def first(scope: Scope, receive: Receive, send: Send) -> None:
        names = {name.lower() for name, _ in scope.get("headers", [])}
        if scope["type"] == "http" and SIGNATURE_V2_HEADER.lower().encode() not in names:
            body = json.dumps(
                {"ok": False, "state": "error", "user_message": "unsigned", "tech_message": "", "error_code": "auth"}
            ).encode()
            await send(
                {"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)
        return

    return first


_NESTED = ("actor", "actors", "restrictions")
_KNOWN_NESTED = {
    "actor": {"actor_type", "erp_key", "last_modified", "parent_type", "parent_key", "fields"},
    "restriction": {"field", "operator", "values"},
}


def _strip_nested(document: Any) -> Any:
    """The request with unknown members of its actors and restrictions dropped, as a lenient parser would."""
    if not isinstance(document, dict):
        return document
    stripped = dict(document)
    for name in _NESTED:
        kind = "restriction" if name == "restrictions" else "actor"
        value = stripped.get(name)
        items = value if isinstance(value, list) else [value]
        cleaned = [
            {k: v for k, v in item.items() if k in _KNOWN_NESTED[kind]} if isinstance(item, dict) else item
            for item in items
        ]
        if name in stripped:
            stripped[name] = cleaned if isinstance(value, list) else cleaned[0]
    return stripped


def lenient_below_top(app: Asgi, *, secret: str) -> Asgi:
    """Refuses unknown members only at the top level; below it (actors, restrictions) they are silently dropped."""

    async def lenient(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        body = await _read_body(receive)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            document = json.loads(body)
            verify_ok = _v2(headers, SIGNATURE_V2_HEADER) == sign_v2(
                secret,
                method="POST",
                path=scope["path"],
                timestamp=_v2(headers, TIMESTAMP_HEADER),
                nonce=_v2(headers, NONCE_HEADER),
                body=body,
            )
        except (ValueError, SignatureError):
            verify_ok = False
        if not verify_ok:
            await app(scope, _replay(body, receive), send)
            return None
        cleaned = json.dumps(_strip_nested(document)).encode()
        replacement = _resigned(
            secret,
            cleaned,
            path=scope["path"],
            timestamp=_v2(headers, TIMESTAMP_HEADER),
            nonce=_v2(headers, NONCE_HEADER),
        )
        await app(_with_headers(scope, replacement), _replay(cleaned, receive), send)
        return None

    return lenient
