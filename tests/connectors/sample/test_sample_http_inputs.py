"""Bad requests sent as raw signed HTTP to the served sample connector: each gets a typed error envelope."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from erpsync.protocol.signing import signed_headers_v2
from erpsync.sdk.app import create_app
from erpsync.testing.server import serve_in_thread

SECRET = "sample-connector-test-secret-0123456789"


@pytest.fixture(scope="module")
def url(shared_connector: Any) -> Any:
    with serve_in_thread(create_app(shared_connector, secret=SECRET)) as base_url:
        yield base_url


def _post(url: str, operation: str, body: bytes) -> dict[str, Any]:
    headers = signed_headers_v2(SECRET, body, path=f"/v1/{operation}")
    response = httpx.post(f"{url}/v1/{operation}", content=body, headers=headers)
    assert response.status_code < 500
    answer: dict[str, Any] = response.json()
    return answer


def _request(**members: Any) -> bytes:
    return json.dumps({"connection_id": "conn-acme", **members}).encode()


@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        ("actor_fields", _request(actor_type="vendor"), "validation"),
        ("get_actors", _request(actor_type="customer", erp_keys="1", field_keys=[]), "validation"),
        ("search_actors", _request(actor_type="customer", text="x", field_keys=[], limit="many"), "validation"),
        ("search_actors", _request(actor_type="customer", text="x", field_keys=["shoe_size"]), "validation"),
        (
            "search_advanced",
            _request(actor_type="customer", field_keys=[], restrictions=[{"field": "name"}]),
            "validation",
        ),
        (
            "search_advanced",
            _request(
                actor_type="customer", field_keys=[], restrictions=[{"field": "name", "operator": "~", "values": []}]
            ),
            "validation",
        ),
        ("changes", b"{not json", "validation"),
        ("actor_types", _request(connection_id="unknown-id"), "unknown_connection"),
        ("get_actors", _request(actor_type="customer", erp_keys=["1"], field_keys=[], extra=1), "validation"),
    ],
)
def test_bad_requests_get_typed_error_envelopes(url: str, operation: str, body: bytes, code: str) -> None:
    answer = _post(url, operation, body)
    assert (answer["ok"], answer["error_code"]) == (False, code)
    assert answer["user_message"]


def test_unsigned_requests_are_refused(url: str) -> None:
    response = httpx.post(f"{url}/v1/actor_types", content=_request())
    assert response.status_code == 401
    assert response.json()["ok"] is False
