"""The SDK app over real HTTP: signing v2 only, each request good once and only for its own operation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sdk_dict_erp import CONNECTION_ID, GOOD_CONFIG, SECRET, DictErp

from erpsync.protocol.signing import (
    REFUSAL_HEADER,
    MemoryNonceStore,
    NonceStore,
    signed_headers,
    signed_headers_v2,
)
from erpsync.sdk.app import create_app
from erpsync.testing.server import serve_in_thread

ON_CONNECTION = json.dumps({"connection_id": CONNECTION_ID}).encode()


def post(url: str, operation: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/v1/{operation}", content=body, headers=headers)


def refused(response: httpx.Response, status: int = 401, error_code: str = "auth") -> str:
    assert response.status_code == status, response.text
    assert (response.json()["ok"], response.json()["error_code"]) == (False, error_code)
    return str(response.json()["user_message"])


def test_info_declares_signing_v2(connector_url: str) -> None:
    answer = post(connector_url, "info", b"{}", signed_headers_v2(SECRET, b"{}", path="/v1/info"))
    assert answer.json()["capabilities"]["signing"] == ["2"]


def test_a_test_connection_signature_sent_to_delete_connection_is_refused(connector_url: str, erp: DictErp) -> None:
    captured = signed_headers_v2(SECRET, ON_CONNECTION, path="/v1/test_connection")
    assert "does not match" in refused(post(connector_url, "delete_connection", ON_CONNECTION, captured))
    assert erp.connections.get(CONNECTION_ID) == GOOD_CONFIG
    assert post(connector_url, "test_connection", ON_CONNECTION, captured).json()["ok"] is True


def test_a_replayed_request_is_refused_and_not_performed_again(connector_url: str, erp: DictErp) -> None:
    headers = signed_headers_v2(SECRET, ON_CONNECTION, path="/v1/delete_connection")
    assert post(connector_url, "delete_connection", ON_CONNECTION, headers).json()["ok"] is True
    erp.connections.put(CONNECTION_ID, GOOD_CONFIG)
    replay = post(connector_url, "delete_connection", ON_CONNECTION, headers)
    assert "replayed" in refused(replay)
    assert replay.headers[REFUSAL_HEADER] == "replayed"
    assert erp.connections.get(CONNECTION_ID) == GOOD_CONFIG


def test_a_v1_signed_request_is_refused(connector_url: str, erp: DictErp) -> None:
    assert "not signed with signing v2" in refused(
        post(connector_url, "delete_connection", ON_CONNECTION, signed_headers(SECRET, ON_CONNECTION))
    )
    assert erp.connections.get(CONNECTION_ID) == GOOD_CONFIG


def test_a_full_nonce_store_answers_429_with_retry_after(erp: DictErp) -> None:
    with serve_in_thread(create_app(erp, secret=SECRET, nonces=MemoryNonceStore(capacity=2))) as url:
        for _ in range(2):
            assert post(url, "info", b"{}", signed_headers_v2(SECRET, b"{}", path="/v1/info")).status_code == 200
        full = post(url, "info", b"{}", signed_headers_v2(SECRET, b"{}", path="/v1/info"))
    refused(full, 429, "rate_limit")
    assert 250 <= float(full.headers["Retry-After"]) <= 300


@pytest.fixture
def two_processes(erp: DictErp) -> Iterator[tuple[list[str], list[str]]]:
    """The same connector served twice, once sharing one nonce store, once with a store each."""
    shared: NonceStore = MemoryNonceStore()
    with (
        serve_in_thread(create_app(erp, secret=SECRET, nonces=shared)) as shared_a,
        serve_in_thread(create_app(erp, secret=SECRET, nonces=shared)) as shared_b,
        serve_in_thread(create_app(erp, secret=SECRET)) as own_a,
        serve_in_thread(create_app(erp, secret=SECRET)) as own_b,
    ):
        yield [shared_a, shared_b], [own_a, own_b]


def test_processes_sharing_a_nonce_store_refuse_a_replay_sent_to_another(
    two_processes: tuple[list[str], list[str]], erp: DictErp
) -> None:
    (shared_a, shared_b), (own_a, own_b) = two_processes
    headers = signed_headers_v2(SECRET, ON_CONNECTION, path="/v1/actor_types")
    assert post(shared_a, "actor_types", ON_CONNECTION, headers).status_code == 200
    assert "replayed" in refused(post(shared_b, "actor_types", ON_CONNECTION, headers))
    # Why a connector served by several processes must share its store: each store knows only its own nonces.
    other = signed_headers_v2(SECRET, ON_CONNECTION, path="/v1/actor_types")
    assert post(own_a, "actor_types", ON_CONNECTION, other).status_code == 200
    assert post(own_b, "actor_types", ON_CONNECTION, other).status_code == 200
    assert erp.calls["actor_types"] == 3
