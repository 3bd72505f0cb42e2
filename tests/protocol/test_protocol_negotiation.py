"""The hub's client negotiates signing through ``info``: v2 with a connector that declares it, v1 only with a
connector that speaks only v1, never a downgrade of a connector registered with v2. Real HTTP on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest

from erpsync.errors import AuthError, ConnectorError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient, declared_signing
from erpsync.protocol.pacing import Backoff
from erpsync.protocol.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    MemoryNonceStore,
    SignatureError,
    verify_v2,
)
from erpsync.sdk.app import create_app
from erpsync.sdk.connector import Connector
from erpsync.testing.server import serve_in_thread

SECRET = "negotiation-test-secret-0123456789"
FAST = Backoff(base=0.01, cap=0.02, budget=5)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
Asgi = Callable[[Scope, Receive, Send], Any]


async def _body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _json(send: Send, status: int, document: dict[str, Any]) -> None:
    payload = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


@dataclass
class TinyConnector:
    """A connector written without the SDK: a bare ASGI app that checks v1 (by hand) or v2, and records headers.

    ``declares`` is its ``capabilities.signing`` (None: the member is absent, as from a connector older than v2).
    """

    verifies: str
    declares: list[str] | None
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    nonces: MemoryNonceStore = field(default_factory=MemoryNonceStore)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        operation = scope["path"].removeprefix("/v1/")
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        body = await _body(receive)
        self.seen.append((operation, headers))
        if not self._authentic(operation, headers, body):
            refused = {"ok": False, "state": "error", "user_message": "bad signature", "error_code": "auth"}
            await _json(send, 401, refused)
            return
        if operation == "info":
            capabilities = {} if self.declares is None else {"signing": self.declares}
            await _json(send, 200, {"ok": True, "name": "tiny", "version": "0", "capabilities": capabilities})
        else:
            await _json(send, 200, {"ok": True, "actor_types": ["customer"]})

    def _authentic(self, operation: str, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        if self.verifies == "1":
            expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
            return fresh and hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER.lower(), ""))
        try:
            verify_v2(
                SECRET,
                method="POST",
                path=f"/v1/{operation}",
                timestamp=timestamp,
                nonce=headers.get(NONCE_HEADER.lower()),
                signature=headers.get(SIGNATURE_V2_HEADER.lower()),
                body=body,
                nonces=self.nonces,
            )
        except SignatureError:
            return False
        return True


class OneTypeConnector(Connector):
    name = "one-type"

    def __init__(self) -> None:
        super().__init__()
        self.actor_type_calls = 0

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        self.actor_type_calls += 1
        return m.ActorTypesResponse(actor_types=[m.ActorType.CUSTOMER])


def recording(app: Asgi, seen: list[tuple[str, dict[str, str]]]) -> Asgi:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
            seen.append((scope["path"].removeprefix("/v1/"), headers))
        await app(scope, receive, send)

    return wrapped


def sent_twice_once(app: Asgi, *, operation: str) -> Asgi:
    """The network duplicates the first ``operation`` request: the connector gets it twice, the client the second
    answer."""
    duplicated = False

    async def duplicating(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal duplicated
        if scope["type"] != "http" or duplicated or scope["path"] != f"/v1/{operation}":
            return await app(scope, receive, send)  # type: ignore[no-any-return]
        duplicated = True
        body = await _body(receive)

        async def once() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def discard(message: Message) -> None:
            return None

        await app(scope, once, discard)
        await app(scope, once, send)
        return None

    return duplicating


@pytest.fixture
def served() -> Iterator[Callable[[Asgi], str]]:
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))


def signature_kinds(headers: dict[str, str]) -> set[str]:
    names = {SIGNATURE_HEADER.lower(): "v1", SIGNATURE_V2_HEADER.lower(): "v2", NONCE_HEADER.lower(): "nonce"}
    return {kind for name, kind in names.items() if name in headers}


@pytest.mark.parametrize("declares", [None, ["1"]], ids=["signing-absent", "signing-1"])
def test_a_v1_only_connector_gets_both_signatures_on_info_then_v1_only(
    served: Callable[[Asgi], str], declares: list[str] | None
) -> None:
    tiny = TinyConnector(verifies="1", declares=declares)
    with ConnectorClient(served(tiny), SECRET, max_retries=0) as client:
        assert client.actor_types(connection_id="c1").actor_types == [m.ActorType.CUSTOMER]
        client.actor_types(connection_id="c1")
        assert client.signing == "1"
    assert [(operation, signature_kinds(headers)) for operation, headers in tiny.seen] == [
        ("info", {"v1", "v2", "nonce"}),
        ("actor_types", {"v1"}),
        ("actor_types", {"v1"}),
    ]


def test_a_v2_connector_gets_v2_only_after_info_with_a_new_nonce_each_time(served: Callable[[Asgi], str]) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    connector = OneTypeConnector()
    with ConnectorClient(served(recording(create_app(connector, secret=SECRET), seen)), SECRET) as client:
        for _ in range(3):
            assert client.actor_types(connection_id="c1").actor_types == [m.ActorType.CUSTOMER]
        assert client.signing == "2"
        assert client.info().capabilities.signing == ["2"]
    assert [(operation, signature_kinds(headers)) for operation, headers in seen] == [
        ("info", {"v1", "v2", "nonce"}),
        *[("actor_types", {"v2", "nonce"})] * 3,
    ]
    assert len({headers[NONCE_HEADER.lower()] for _, headers in seen}) == 4
    assert connector.actor_type_calls == 3


def test_a_client_pinned_to_v2_sends_no_v1_signature_even_to_a_v1_only_connector(
    served: Callable[[Asgi], str],
) -> None:
    tiny = TinyConnector(verifies="1", declares=None)
    with ConnectorClient(served(tiny), SECRET, max_retries=0, signing=["2"]) as client:
        assert client.signing == "2"
        with pytest.raises(AuthError):
            client.actor_types(connection_id="c1")
    assert tiny.seen
    assert all(signature_kinds(headers) == {"v2", "nonce"} for _, headers in tiny.seen)


def test_a_connector_registered_with_v2_that_now_declares_only_v1_is_refused(served: Callable[[Asgi], str]) -> None:
    tiny = TinyConnector(verifies="2", declares=["1"])
    with (
        ConnectorClient(served(tiny), SECRET, max_retries=0, signing=["1", "2"]) as client,
        pytest.raises(ConnectorError, match="does not downgrade"),
    ):
        client.actor_types(connection_id="c1")
    assert [operation for operation, _ in tiny.seen] == ["info"]


def test_an_unpinned_client_follows_what_info_declares(served: Callable[[Asgi], str]) -> None:
    tiny = TinyConnector(verifies="2", declares=["2", "3"])
    with ConnectorClient(served(tiny), SECRET, max_retries=0) as client:
        client.actor_types(connection_id="c1")
        assert client.signing == "2"
    assert signature_kinds(tiny.seen[-1][1]) == {"v2", "nonce"}


def test_a_connector_declaring_no_known_signing_version_is_refused(served: Callable[[Asgi], str]) -> None:
    tiny = TinyConnector(verifies="2", declares=["3"])
    with (
        ConnectorClient(served(tiny), SECRET, max_retries=0) as client,
        pytest.raises(ConnectorError, match="no signing version this hub speaks"),
    ):
        client.info()


def test_a_request_duplicated_on_the_way_is_refused_once_and_resent_under_a_new_nonce(
    served: Callable[[Asgi], str],
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    connector = OneTypeConnector()
    app = recording(sent_twice_once(create_app(connector, secret=SECRET), operation="actor_types"), seen)
    with ConnectorClient(served(app), SECRET, max_retries=2, backoff=FAST) as client:
        assert client.actor_types(connection_id="c1").actor_types == [m.ActorType.CUSTOMER]
    sent = [headers[NONCE_HEADER.lower()] for operation, headers in seen if operation == "actor_types"]
    assert len(sent) == len(set(sent)) == 2  # the client's request and its resend under a new nonce
    assert connector.actor_type_calls == 2  # once per nonce: the duplicate copy was refused


def test_the_stored_info_says_which_versions_to_pin() -> None:
    assert declared_signing({"capabilities": {"signing": ["2"]}}) == ("2",)
    assert declared_signing({"name": "old", "capabilities": {"get_batch_size": 10}}) == ()
    assert declared_signing({}) == ()
    assert declared_signing({"capabilities": {"signing": "2"}}) == ()
