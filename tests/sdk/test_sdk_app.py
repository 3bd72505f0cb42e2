"""The SDK app refuses what the protocol forbids with a 4xx envelope, before the connector sees it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sdk_dict_erp import CONNECTION_ID, SECRET, DictErp

from erpsync.protocol import models as m
from erpsync.protocol.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    new_nonce,
    signed_headers,
    signed_headers_v2,
)
from erpsync.sdk.app import create_app
from erpsync.sdk.connector import Connector
from erpsync.testing.server import serve_in_thread

GET_ACTORS = {"connection_id": CONNECTION_ID, "actor_type": "customer", "erp_keys": ["C1"], "field_keys": []}


def post(url: str, operation: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    signed = signed_headers_v2(SECRET, body, path=f"/v1/{operation}") if headers is None else headers
    return httpx.post(f"{url}/v1/{operation}", content=body, headers=signed)


CONFIG_FIELDS = "/v1/config_fields"


def now() -> str:
    return str(int(time.time()))


def without_nonce(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != NONCE_HEADER}


def upper_case(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, SIGNATURE_V2_HEADER: headers[SIGNATURE_V2_HEADER].upper()}


def refusal(response: httpx.Response, status: int, error_code: str) -> str:
    """Assert the response is an error envelope; return its user message."""
    assert response.status_code == status, response.text
    envelope: dict[str, Any] = response.json()
    assert (envelope["ok"], envelope["state"], envelope["error_code"]) == (False, "error", error_code)
    return str(envelope["user_message"])


def test_a_signed_request_is_served(connector_url: str) -> None:
    response = post(connector_url, "info", b"{}")
    assert response.status_code == 200
    assert response.json()["name"] == "dict-erp"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (dict, "not signed"),
        (lambda: {TIMESTAMP_HEADER: now(), NONCE_HEADER: new_nonce(), SIGNATURE_V2_HEADER: "0" * 64}, "does not match"),
        (lambda: signed_headers_v2("another-secret-of-sufficient-length", b"{}", path=CONFIG_FIELDS), "does not match"),
        (lambda: signed_headers_v2(SECRET, b"{}", path=CONFIG_FIELDS, now=time.time() - 3600), "stale"),
        (lambda: signed_headers_v2(SECRET, b"{}", path=CONFIG_FIELDS, now=time.time() + 3600), "stale"),
        (lambda: {TIMESTAMP_HEADER: "yesterday", NONCE_HEADER: new_nonce(), SIGNATURE_V2_HEADER: "0" * 64}, "number"),
        (lambda: signed_headers(SECRET, b"{}"), "not signed with signing v2"),
        (lambda: {TIMESTAMP_HEADER: now(), SIGNATURE_HEADER: "0" * 64}, "not signed with signing v2"),
        (lambda: without_nonce(signed_headers_v2(SECRET, b"{}", path=CONFIG_FIELDS)), "no nonce"),
        (lambda: {TIMESTAMP_HEADER: now(), NONCE_HEADER: "short", SIGNATURE_V2_HEADER: "0" * 64}, "nonce must be"),
        (lambda: upper_case(signed_headers_v2(SECRET, b"{}", path=CONFIG_FIELDS)), "lowercase hex"),
        (lambda: signed_headers_v2(SECRET, b"{}", path="/v1/info"), "does not match"),
    ],
    ids=[
        "unsigned",
        "forged",
        "wrong-secret",
        "stale",
        "future",
        "bad-timestamp",
        "v1-only",
        "v1-forged",
        "no-nonce",
        "bad-nonce",
        "upper-case-hex",
        "other-operation",
    ],
)
def test_unauthenticated_requests_are_refused(
    connector_url: str, erp: DictErp, headers: Callable[[], dict[str, str]], reason: str
) -> None:
    # Headers are made when the test runs, not when it is collected: a long suite would make them stale.
    assert reason in refusal(post(connector_url, "config_fields", b"{}", headers()), 401, "auth")
    assert erp.calls["config_fields"] == 0


def test_signature_covers_the_body(connector_url: str, erp: DictErp) -> None:
    headers = signed_headers_v2(SECRET, b"{}", path="/v1/test_config")
    refusal(post(connector_url, "test_config", b'{"config": {}}', headers), 401, "auth")
    assert erp.calls["test_config"] == 0


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'"text"'])
def test_malformed_json_is_refused(connector_url: str, body: bytes) -> None:
    refusal(post(connector_url, "info", body), 400, "validation")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"erp_keys": "C1"}, "erp_keys"),
        ({"erp_keys": [1]}, "erp_keys[0]"),
        ({"connection_id": ""}, "connection_id"),
        ({"colour": "blue"}, "colour: unknown member"),
        ({"actor_type": "employee"}, "actor_type"),
        ({"field_keys": None}, "field_keys"),
    ],
)
def test_invalid_members_are_named(connector_url: str, erp: DictErp, change: dict[str, Any], named: str) -> None:
    body = json.dumps({**GET_ACTORS, **change}).encode()
    assert named in refusal(post(connector_url, "get_actors", body), 422, "validation")
    assert erp.calls["get_actors"] == 0


def test_strings_are_not_numbers(connector_url: str) -> None:
    body = {"connection_id": CONNECTION_ID, "actor_type": "customer", "text": "a", "field_keys": [], "limit": "5"}
    assert "limit" in refusal(post(connector_url, "search_actors", json.dumps(body).encode()), 422, "validation")


def test_unknown_members_inside_an_actor_are_refused(connector_url: str, erp: DictErp) -> None:
    actor = {"actor_type": "customer", "fields": {"name": "X"}, "colour": "blue"}
    body = json.dumps({"connection_id": CONNECTION_ID, "actor": actor, "idempotency_key": "k1"}).encode()
    assert "actor.colour: unknown member" in refusal(post(connector_url, "create_actor", body), 422, "validation")
    assert erp.actors == {}


def test_field_values_must_be_scalars(connector_url: str, erp: DictErp) -> None:
    actor = {"actor_type": "customer", "fields": {"name": {"nested": True}}}
    body = json.dumps({"connection_id": CONNECTION_ID, "actor": actor, "idempotency_key": "k1"}).encode()
    assert "actor.fields.name" in refusal(post(connector_url, "create_actor", body), 422, "validation")
    assert erp.actors == {}


def test_unknown_operator_is_refused(connector_url: str) -> None:
    restriction = {"field": "name", "operator": "sounds_like", "values": ["x"]}
    body = {"connection_id": CONNECTION_ID, "actor_type": "customer", "restrictions": [restriction], "field_keys": []}
    message = refusal(post(connector_url, "search_advanced", json.dumps(body).encode()), 422, "validation")
    assert "restrictions[0].operator" in message


def test_oversized_body_is_refused(connector_url: str, erp: DictErp) -> None:
    body = json.dumps({"config": {"blob": "x" * 60_000}}).encode()
    assert "larger than 50000 bytes" in refusal(post(connector_url, "test_config", body), 413, "validation")
    assert erp.calls["test_config"] == 0


def test_oversized_streamed_body_is_refused(connector_url: str) -> None:
    def chunks() -> Any:
        yield b'{"config": {"blob": "'
        for _ in range(10):
            yield b"x" * 10_000
        yield b'"}}'

    headers = signed_headers_v2(SECRET, b"", path="/v1/test_config")
    response = httpx.post(f"{connector_url}/v1/test_config", content=chunks(), headers=headers)
    refusal(response, 413, "validation")


def test_unknown_operation_is_404(connector_url: str) -> None:
    assert "delete_everything" in refusal(post(connector_url, "delete_everything", b"{}"), 404, "validation")


def test_other_paths_and_methods_answer_with_an_envelope(connector_url: str) -> None:
    wrong_method = httpx.get(f"{connector_url}/v1/info")
    refusal(wrong_method, 405, "validation")
    assert wrong_method.headers["allow"] == "POST"
    refusal(httpx.post(f"{connector_url}/v2/info", content=b"{}"), 404, "validation")


def test_health_is_open(connector_url: str) -> None:
    response = httpx.get(f"{connector_url}/health")
    assert (response.status_code, response.json()["ok"]) == (200, True)


def test_connector_answering_the_wrong_model_is_a_connector_error(connector_url: str, erp: DictErp) -> None:
    erp.actor_types = lambda request: {"actor_types": ["customer"]}  # type: ignore[method-assign,assignment,return-value]
    body = json.dumps({"connection_id": CONNECTION_ID}).encode()
    response = post(connector_url, "actor_types", body)
    assert (response.status_code, response.json()["error_code"]) == (200, "connector")


def test_async_connector_methods_are_awaited() -> None:
    class AsyncConnector(Connector):
        async def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:  # type: ignore[override]
            return m.ActorTypesResponse(actor_types=[m.ActorType.PROJECT])

    body = json.dumps({"connection_id": CONNECTION_ID}).encode()
    with serve_in_thread(create_app(AsyncConnector(), secret=SECRET)) as url:
        response = post(url, "actor_types", body)
    assert response.json()["actor_types"] == ["project"]


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="shared secret"):
        create_app(Connector(), secret="")
