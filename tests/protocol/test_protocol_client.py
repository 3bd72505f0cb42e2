"""ConnectorClient against connectors that misbehave on the wire: every failure becomes a typed error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from erpsync.errors import AuthError, ConnectorError, TransientError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.pacing import Backoff
from erpsync.protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from erpsync.testing.server import free_port, serve_in_thread

SECRET = "protocol-test-secret-0123456789abcdef"
FAST = Backoff(base=0.01, cap=0.02, budget=5)


@dataclass
class Scripted:
    """A raw HTTP 'connector' answering each operation call with the next scripted (status, body, headers)."""

    protocol_version: str = "1"
    capabilities: dict[str, Any] = field(default_factory=dict)
    script: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def answer(self, status: int, body: str | dict[str, Any], **headers: str) -> None:
        self.script.append((status, body if isinstance(body, str) else json.dumps(body), headers))

    async def handle(self, request: Request) -> Response:
        operation = request.path_params["operation"]
        self.requests.append((operation, dict(request.headers), await request.body()))
        if operation == "info":
            info = {"name": "scripted", "version": "0", "protocol_version": self.protocol_version}
            return Response(json.dumps({**info, "capabilities": self.capabilities}), media_type="application/json")
        status, body, headers = self.script.pop(0)
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    def calls(self, operation: str) -> int:
        return sum(1 for name, _, _ in self.requests if name == operation)


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
def client(scripted: Scripted) -> Iterator[ConnectorClient]:
    app = Starlette(routes=[Route("/v1/{operation}", scripted.handle, methods=["POST"])])
    with serve_in_thread(app) as url, ConnectorClient(url, SECRET, max_retries=3, backoff=FAST) as client:
        yield client


def actor_types(client: ConnectorClient) -> m.ActorTypesResponse:
    return client.actor_types(connection_id="c1")


def test_every_request_is_signed(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(200, {"ok": True, "actor_types": ["customer"]})
    assert actor_types(client).actor_types == [m.ActorType.CUSTOMER]
    for _, headers, body in scripted.requests:
        timestamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
        verify(SECRET, timestamp=timestamp, signature=signature, body=body)
    assert json.loads(scripted.requests[-1][2]) == {"connection_id": "c1"}


def test_gateway_errors_are_retried(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(502, "bad gateway")
    scripted.answer(503, "")
    scripted.answer(504, "<html>timeout</html>")
    scripted.answer(200, {"ok": True, "actor_types": ["project"]})
    assert actor_types(client).actor_types == [m.ActorType.PROJECT]
    assert scripted.calls("actor_types") == 4


def test_gateway_errors_give_up_as_transient(client: ConnectorClient, scripted: Scripted) -> None:
    for _ in range(4):
        scripted.answer(503, "")
    with pytest.raises(TransientError, match="HTTP 503"):
        actor_types(client)


def test_http_429_honours_retry_after(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(429, "", **{"Retry-After": "0"})
    scripted.answer(200, {"ok": True})
    assert actor_types(client).actor_types == []
    assert scripted.calls("actor_types") == 2


def test_http_401_is_auth_error(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(401, "Unauthorized")
    with pytest.raises(AuthError, match="shared secret"):
        actor_types(client)
    assert scripted.calls("actor_types") == 1


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, "<html>hello</html>", "HTTP 200 and no JSON envelope"),
        (200, "[1, 2]", "no JSON envelope"),
        (500, "Internal Server Error", "HTTP 500 and no JSON envelope"),
        (200, {"ok": "perhaps"}, "not a protocol v1 envelope"),
        (200, {"ok": True, "actor_types": ["spaceship"]}, "does not match protocol v1"),
        (200, {"ok": False, "error_code": "weird", "user_message": "odd"}, "odd"),
        (201, {"ok": True}, "ok: true but HTTP 201"),
    ],
)
def test_wrong_answers_are_connector_errors(
    client: ConnectorClient, scripted: Scripted, status: int, body: str | dict[str, Any], message: str
) -> None:
    scripted.answer(status, body)
    with pytest.raises(ConnectorError, match=message):
        actor_types(client)
    assert scripted.calls("actor_types") == 1


def test_another_protocol_version_is_refused(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.protocol_version = "2"
    with pytest.raises(ConnectorError, match="speaks protocol 2, this hub speaks 1"):
        client.info()
    with pytest.raises(ConnectorError, match="speaks protocol 2"):
        actor_types(client)
    assert scripted.calls("actor_types") == 0


def test_bad_arguments_are_refused_before_sending(client: ConnectorClient, scripted: Scripted) -> None:
    with pytest.raises(ValidationError, match="actor_type"):
        client.actor_fields(connection_id="c1", actor_type="spaceship")
    with pytest.raises(ValidationError, match="limit"):
        client.search_actors(connection_id="c1", actor_type="customer", text="x", field_keys=[], limit=0)
    assert scripted.calls("actor_fields") + scripted.calls("search_actors") == 0


def test_a_looping_cursor_is_a_connector_error(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(200, {"ok": True, "next_cursor": "A"})
    scripted.answer(200, {"ok": True, "next_cursor": "B"})
    scripted.answer(200, {"ok": True, "next_cursor": "A"})
    pages = client.iter_changes(connection_id="c1", actor_type="customer", since=None, field_keys=[])
    with pytest.raises(ConnectorError, match="cursor 'A' twice"):
        list(pages)


def test_changes_pages_default_to_the_declared_page_size(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.capabilities = {"max_page_size": 7}
    scripted.answer(200, {"ok": True})
    client.changes(connection_id="c1", actor_type="customer", since="2024-01-01T00:00:00Z", field_keys=["name"])
    assert json.loads(scripted.requests[-1][2])["limit"] == 7


def test_save_actors_error_outside_the_batch_is_a_connector_error(client: ConnectorClient, scripted: Scripted) -> None:
    scripted.answer(200, {"ok": True, "errors": [{"index": 5, "error_code": "validation"}]})
    actor = m.Actor(actor_type=m.ActorType.CUSTOMER, erp_key="C1", fields={"name": "X"})
    with pytest.raises(ConnectorError, match="actor 5 of a batch of 1"):
        client.save_actors(connection_id="c1", actors=[actor])


def test_an_unreachable_connector_is_transient() -> None:
    unreachable = ConnectorClient(f"http://127.0.0.1:{free_port()}", SECRET, max_retries=2, backoff=FAST)
    with unreachable, pytest.raises(TransientError, match="could not reach the connector"):
        unreachable.info()


def test_the_secret_and_passwords_are_never_logged(
    client: ConnectorClient, scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scripted.answer(503, "")
    scripted.answer(200, {"ok": True})
    client.save_connection(connection_id="c1", config={"password": "pa55word-in-config"})
    assert scripted.calls("save_connection") == 2
    assert caplog.records
    assert SECRET not in caplog.text
    assert "pa55word-in-config" not in caplog.text
