"""Fixtures for the sample connector: a fresh ERP file per test (or per module, for read-only tests), the
connector, and ``call``: an operation by name, on the connector itself or through the hub's client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from erpsync.connectors.sample.connector import SampleConnector
from erpsync.connectors.sample.erp import NewRecord, SampleErp
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.sdk.app import create_app
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.testing.server import serve_in_thread

SECRET = "sample-connector-test-secret-0123456789"
CONNECTION = "conn-acme"
CONFIG: m.Config = {"company": "ACME", "user": "erpsync", "password": "demo"}


class Call(Protocol):
    def __call__(self, operation: str, **members: Any) -> Any: ...


class Add(Protocol):
    def __call__(
        self, actor_type: str, /, *, company: str = "ACME", parent: tuple[str, str] | None = None, **values: Any
    ) -> str: ...


def _open_erp(folder: Path) -> SampleErp:
    erp = SampleErp(folder / "sample-erp.sqlite")
    erp.add_company("ACME", "Acme Nordic A/S")
    erp.add_company("OTHER", "Other Handel AB")
    erp.add_user("erpsync", "demo", iterations=1000)
    return erp


@contextmanager
def _connector(erp: SampleErp, folder: Path) -> Iterator[SampleConnector]:
    store = SqliteConnectionStore(folder / "connections.sqlite")
    connector = SampleConnector(erp, connections=store)
    connector.save_connection(m.SaveConnectionRequest(connection_id=CONNECTION, config=CONFIG))
    yield connector
    store.close()


@contextmanager
def _caller(connector: SampleConnector, transport: str) -> Iterator[Call]:
    """``call`` over ``transport`` (direct or http); ``connection_id`` defaults to the test connection."""
    with ExitStack() as stack:
        client = None
        if transport == "http":
            url = stack.enter_context(serve_in_thread(create_app(connector, secret=SECRET)))
            client = stack.enter_context(ConnectorClient(url, SECRET, max_retries=0))

        def invoke(operation: str, **members: Any) -> Any:
            request_type, _ = m.OPERATIONS[operation]
            if "connection_id" in request_type.model_fields:
                members.setdefault("connection_id", CONNECTION)
            if client is not None:
                return getattr(client, operation)(**members)
            method = getattr(connector, operation)
            return method() if request_type is m.EmptyRequest else method(request_type(**members))

        yield invoke


def _adder(erp: SampleErp) -> Add:
    def insert(
        actor_type: str, /, *, company: str = "ACME", parent: tuple[str, str] | None = None, **values: Any
    ) -> str:
        parent_type, parent_key = parent or (None, None)
        record = NewRecord(values, parent_key=parent_key, parent_type=m.ActorType(parent_type) if parent_type else None)
        return erp.create_actor(company, m.ActorType(actor_type), record)

    return insert


@pytest.fixture
def erp(tmp_path: Path) -> Iterator[SampleErp]:
    erp = _open_erp(tmp_path)
    yield erp
    erp.close()


@pytest.fixture
def connector(erp: SampleErp, tmp_path: Path) -> Iterator[SampleConnector]:
    with _connector(erp, tmp_path) as connector:
        yield connector


@pytest.fixture
def client(connector: SampleConnector) -> Iterator[ConnectorClient]:
    with (
        serve_in_thread(create_app(connector, secret=SECRET)) as url,
        ConnectorClient(url, SECRET, max_retries=0) as client,
    ):
        yield client


@pytest.fixture(params=["direct", "http"])
def call(request: pytest.FixtureRequest, connector: SampleConnector) -> Iterator[Call]:
    with _caller(connector, request.param) as invoke:
        yield invoke


@pytest.fixture
def add(erp: SampleErp) -> Add:
    """Inserts a record from the ERP side (as an ERP user would) and returns its key."""
    return _adder(erp)


# --- one ERP per module, for tests that only read ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleErp]:
    erp = _open_erp(tmp_path_factory.mktemp("shared-erp"))
    yield erp
    erp.close()


@pytest.fixture(scope="module")
def shared_add(shared_erp: SampleErp) -> Add:
    return _adder(shared_erp)


@pytest.fixture(scope="module")
def shared_connector(shared_erp: SampleErp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleConnector]:
    with _connector(shared_erp, tmp_path_factory.mktemp("shared-connections")) as connector:
        yield connector


@pytest.fixture(scope="module", params=["direct", "http"])
def shared_call(request: pytest.FixtureRequest, shared_connector: SampleConnector) -> Iterator[Call]:
    with _caller(shared_connector, request.param) as invoke:
        yield invoke
