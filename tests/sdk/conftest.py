"""Fixtures of the SDK tests: the dict ERP served over loopback HTTP and a hub client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sdk_dict_erp import CONNECTION_ID, GOOD_CONFIG, SECRET, DictErp

from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.pacing import Backoff
from erpsync.sdk.app import create_app
from erpsync.testing.server import serve_in_thread


@pytest.fixture
def erp() -> DictErp:
    erp = DictErp()
    erp.connections.put(CONNECTION_ID, GOOD_CONFIG)
    return erp


@pytest.fixture
def connector_url(erp: DictErp) -> Iterator[str]:
    with serve_in_thread(create_app(erp, secret=SECRET, max_body_bytes=50_000)) as url:
        yield url


@pytest.fixture
def resent() -> list[str]:
    """Connection ids the client asked the hub to send again."""
    return []


@pytest.fixture
def client(connector_url: str, resent: list[str]) -> Iterator[ConnectorClient]:
    def resend(connection_id: str) -> None:
        resent.append(connection_id)
        client.save_connection(connection_id=connection_id, config=GOOD_CONFIG)

    fast = Backoff(base=0.01, cap=0.05, budget=5.0)
    with ConnectorClient(connector_url, SECRET, max_retries=3, backoff=fast, on_unknown_connection=resend) as client:
        yield client
