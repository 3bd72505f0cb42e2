"""Connector failures cross the wire as typed errors; the client retries what is worth retrying."""

from __future__ import annotations

import time

import httpx
import pytest
from sdk_dict_erp import CONNECTION_ID, SECRET, DictErp

from erpsync.errors import ERROR_TYPES, ConnectorError, ErpsyncError, RateLimitError, TransientError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.pacing import Backoff
from erpsync.protocol.signing import signed_headers_v2

RETRIED = (TransientError, RateLimitError)


@pytest.mark.parametrize("error_type", [t for t in ERROR_TYPES.values() if t not in RETRIED], ids=lambda t: t.__name__)
def test_each_error_type_reaches_the_hub_as_the_same_type(
    client: ConnectorClient, erp: DictErp, error_type: type[ErpsyncError]
) -> None:
    erp.failures["actor_types"] = [error_type("the ERP said no", tech_message="code 42")] * 2
    with pytest.raises(error_type) as caught:
        client.actor_types(connection_id=CONNECTION_ID)
    assert (caught.value.user_message, caught.value.tech_message) == ("the ERP said no", "code 42")


@pytest.mark.parametrize("error_type", RETRIED, ids=lambda t: t.__name__)
def test_retried_errors_surface_with_their_type_once_retries_run_out(
    client: ConnectorClient, erp: DictErp, error_type: type[ErpsyncError]
) -> None:
    erp.failures["actor_types"] = [error_type("busy")] * 10
    with pytest.raises(error_type, match="busy"):
        client.actor_types(connection_id=CONNECTION_ID)
    assert erp.calls["actor_types"] == 4  # the first try and max_retries=3 more


def test_plain_exception_becomes_connector_error_without_traceback(
    connector_url: str, client: ConnectorClient, erp: DictErp
) -> None:
    erp.failures["actor_types"] = [KeyError("internal detail: db password=hunter2")]
    with pytest.raises(ConnectorError) as caught:
        client.actor_types(connection_id=CONNECTION_ID)
    assert "unexpectedly in actor_types" in caught.value.user_message
    erp.failures["actor_types"] = [KeyError("internal detail: db password=hunter2")]
    body = f'{{"connection_id": "{CONNECTION_ID}"}}'.encode()
    headers = signed_headers_v2(SECRET, body, path="/v1/actor_types")
    raw = httpx.post(f"{connector_url}/v1/actor_types", content=body, headers=headers)
    assert raw.status_code == 200
    assert raw.json()["error_code"] == "connector"
    assert "hunter2" not in raw.text
    assert "Traceback" not in raw.text


def test_transient_failures_are_retried_until_success(client: ConnectorClient, erp: DictErp) -> None:
    erp.failures["actor_types"] = [TransientError("ERP restarting")] * 2
    assert client.actor_types(connection_id=CONNECTION_ID).actor_types
    assert erp.calls["actor_types"] == 3


def test_rate_limit_waits_as_long_as_retry_after_says(connector_url: str, erp: DictErp) -> None:
    erp.failures["actor_types"] = [RateLimitError("slow down", retry_after=0.3)]
    # A backoff far longer than Retry-After: the elapsed time shows which one the client obeyed.
    with ConnectorClient(connector_url, SECRET, backoff=Backoff(base=20, cap=20, budget=60)) as client:
        client.info()
        started = time.monotonic()
        client.actor_types(connection_id=CONNECTION_ID)
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3
    assert erp.calls["actor_types"] == 2


def test_retry_after_beyond_the_budget_gives_up_at_once(connector_url: str, erp: DictErp) -> None:
    erp.failures["actor_types"] = [RateLimitError("come back tomorrow", retry_after=86400)]
    with ConnectorClient(connector_url, SECRET, backoff=Backoff(budget=5)) as client:
        client.info()
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            client.actor_types(connection_id=CONNECTION_ID)
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == pytest.approx(86400)
    assert erp.calls["actor_types"] == 1


def test_declared_rate_limit_spaces_requests(connector_url: str, erp: DictErp) -> None:
    erp.capabilities = erp.capabilities.model_copy(update={"rate_limit_per_second": 10.0})
    with ConnectorClient(connector_url, SECRET) as client:
        client.info()
        started = time.monotonic()
        for _ in range(4):
            client.actor_types(connection_id=CONNECTION_ID)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3  # four requests at 10 per second: three gaps of 0.1s


def test_a_slow_connector_times_out_as_transient(connector_url: str, erp: DictErp) -> None:
    def slow_actor_types(request: m.ConnectionRequest) -> m.ActorTypesResponse:
        erp.calls["slow"] += 1
        time.sleep(0.5)
        return m.ActorTypesResponse()

    erp.actor_types = slow_actor_types  # type: ignore[method-assign]
    fast = Backoff(base=0.01, cap=0.01)
    with ConnectorClient(connector_url, SECRET, timeout=0.1, max_retries=1, backoff=fast) as client:
        client.info()
        with pytest.raises(TransientError, match=r"did not answer actor_types within 0\.1 seconds"):
            client.actor_types(connection_id=CONNECTION_ID)
    assert erp.calls["slow"] == 2
