"""The documents capability from the hub's client through real HTTP to an SDK connector and back: declared in
``info``, paged with the SDK's cursor, filtered, lines and balance; unsupported without the capability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from sdk_dict_erp import CONNECTION_ID, GOOD_CONFIG, SECRET, DictErp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from erpsync.errors import ConnectorError, NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.document_calls import DocumentCalls
from erpsync.sdk import documents as sdk_documents
from erpsync.sdk.app import create_app
from erpsync.sdk.connector import Connector
from erpsync.testing.server import serve_in_thread

CUSTOMER = m.ActorType.CUSTOMER
INVOICE, ORDER = d.DocumentKind.INVOICE, d.DocumentKind.ORDER


def _document(number: int, **overrides: Any) -> d.Document:
    values: dict[str, Any] = {
        "key": f"D{number:03d}",
        "kind": INVOICE if number % 2 else ORDER,
        "number": f"N-{number}",
        "date": dt.date(2024, 1, 1) + dt.timedelta(days=number // 2),
        "state": d.DocumentState.OPEN if number % 3 else d.DocumentState.CLOSED,
        "currency": "DKK",
        "net": "100.00",
        "tax": "25.00",
        "gross": "125.00",
    }
    return d.Document.model_validate({**values, **overrides})


class DocumentsErp(Connector):
    """Documents in a list, paged by the SDK; one customer, C1."""

    name = "documents-erp"
    capabilities: ClassVar[m.Capabilities] = m.Capabilities(
        documents=d.DocumentsCapability(kinds=[INVOICE, ORDER], lines=True, balance=True, max_page_size=4)
    )

    def __init__(self, documents: list[d.Document]) -> None:
        super().__init__()
        self.connections.put(CONNECTION_ID, GOOD_CONFIG)
        self.stored = documents

    def _mine(self, request: d.ActorDocumentsRequest) -> list[d.Document]:
        sdk_documents.check_request(self.capabilities.documents, request)
        self.config(request.connection_id)
        if request.erp_key != "C1":
            raise NotFoundError(f"no customer {request.erp_key}")
        return self.stored

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        capability = sdk_documents.check_request(self.capabilities.documents, request)
        return sdk_documents.page_documents(self._mine(request), request, capability=capability)

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        document = next((doc for doc in self._mine(request) if doc.key == request.document_key), None)
        if document is None:
            raise NotFoundError(f"no document {request.document_key}")
        line = d.DocumentLine(description="Widgets", quantity="4", unit_price="25.00", net=document.net)
        return d.DocumentLinesResponse(document=document, lines=[line])

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        self._mine(request)
        return d.BalanceResponse(balance=d.Balance(currency="DKK", open="250.00", overdue="125.00", credit_limit=None))


@pytest.fixture
def stored() -> list[d.Document]:
    return [_document(number) for number in range(1, 11)]


@pytest.fixture
def calls(stored: list[d.Document]) -> Iterator[DocumentCalls]:
    with (
        serve_in_thread(create_app(DocumentsErp(stored), secret=SECRET)) as url,
        ConnectorClient(url, SECRET) as client,
    ):
        yield DocumentCalls(client)


def _all_pages(calls: DocumentCalls, filters: d.DocumentFilters | None = None, limit: int = 3) -> list[d.Document]:
    documents: list[d.Document] = []
    cursor = None
    while True:
        page = calls.documents(
            connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", filters=filters, cursor=cursor, limit=limit
        )
        assert len(page.documents) <= limit
        documents += page.documents
        if page.next_cursor is None:
            return documents
        cursor = page.next_cursor


def test_info_declares_the_capability(calls: DocumentCalls) -> None:
    assert calls.capability == DocumentsErp.capabilities.documents


def test_pages_answer_every_document_once_newest_first(calls: DocumentCalls, stored: list[d.Document]) -> None:
    first = calls.documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", limit=3)
    assert first.total == 10
    documents = _all_pages(calls)
    assert sorted(doc.key for doc in documents) == sorted(doc.key for doc in stored)
    assert [doc.date for doc in documents] == sorted((doc.date for doc in stored), reverse=True)


def test_the_connector_caps_the_page_at_its_size(calls: DocumentCalls) -> None:
    page = calls.documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", limit=1000)
    assert len(page.documents) == 4
    assert page.next_cursor is not None


def test_filters_are_honoured(calls: DocumentCalls, stored: list[d.Document]) -> None:
    filters = d.DocumentFilters(
        kinds=[INVOICE], states=[d.DocumentState.OPEN], date_from=dt.date(2024, 1, 2), date_to=dt.date(2024, 1, 4)
    )
    expected = {
        doc.key
        for doc in stored
        if doc.kind == INVOICE
        and doc.state == d.DocumentState.OPEN
        and dt.date(2024, 1, 2) <= doc.date <= dt.date(2024, 1, 4)
    }
    assert expected
    assert {doc.key for doc in _all_pages(calls, filters)} == expected


def test_a_cursor_for_other_filters_or_made_up_is_refused(calls: DocumentCalls) -> None:
    page = calls.documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", limit=2)
    with pytest.raises(ValidationError, match="other filters"):
        calls.documents(
            connection_id=CONNECTION_ID,
            actor_type=CUSTOMER,
            erp_key="C1",
            filters=d.DocumentFilters(kinds=[ORDER]),
            cursor=page.next_cursor,
        )
    with pytest.raises(ValidationError, match="not one this connector gave"):
        calls.documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", cursor="garbage!")


def test_kinds_or_actor_types_not_declared_are_refused(calls: DocumentCalls) -> None:
    with pytest.raises(ValidationError, match="kind credit_note"):
        calls.documents(
            connection_id=CONNECTION_ID,
            actor_type=CUSTOMER,
            erp_key="C1",
            filters=d.DocumentFilters(kinds=[d.DocumentKind.CREDIT_NOTE]),
        )
    with pytest.raises(ValidationError, match="actor type project"):
        calls.documents(connection_id=CONNECTION_ID, actor_type=m.ActorType.PROJECT, erp_key="C1")


def test_lines_and_balance(calls: DocumentCalls) -> None:
    lines = calls.document_lines(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", document_key="D001")
    assert lines.document is not None
    assert lines.document.number == "N-1"
    assert [line.net for line in lines.lines] == ["100.00"]
    balance = calls.balance(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1").balance
    assert balance == d.Balance(currency="DKK", open="250.00", overdue="125.00")
    with pytest.raises(NotFoundError):
        calls.balance(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C9")


def test_amounts_that_are_numbers_break_the_answer(stored: list[d.Document]) -> None:
    """A connector written without the SDK that answers a JSON number where the protocol says a decimal string."""
    capabilities = {"signing": ["2"], "documents": {"kinds": ["invoice"]}}
    bad = {**stored[0].model_dump(mode="json"), "net": 100.0}

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"name": "raw", "version": "1", "capabilities": capabilities})

    async def documents(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "documents": [bad]})

    routes = [Route("/v1/info", info, methods=["POST"]), Route("/v1/documents", documents, methods=["POST"])]
    with (
        serve_in_thread(Starlette(routes=routes)) as url,
        ConnectorClient(url, SECRET) as client,
        pytest.raises(ConnectorError, match="does not match protocol v1") as raised,
    ):
        DocumentCalls(client).documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1")
    assert "documents[0].net" in raised.value.tech_message


def test_more_documents_than_asked_break_the_answer(stored: list[d.Document]) -> None:
    capabilities = {"signing": ["2"], "documents": {"kinds": ["invoice", "order"]}}

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"name": "raw", "version": "1", "capabilities": capabilities})

    async def documents(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "documents": [doc.model_dump(mode="json") for doc in stored[:3]]})

    routes = [Route("/v1/info", info, methods=["POST"]), Route("/v1/documents", documents, methods=["POST"])]
    with (
        serve_in_thread(Starlette(routes=routes)) as url,
        ConnectorClient(url, SECRET) as client,
        pytest.raises(ConnectorError, match="answered 3 documents where 2 were asked"),
    ):
        DocumentCalls(client).documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1", limit=2)


@pytest.mark.parametrize("text", ["1.5", "0", "-12.345678", "1250.00", "999999999999999999.99"])
def test_amounts_are_decimal_strings(text: str) -> None:
    assert d.Balance(currency="EUR", open=text, overdue="0").open == text


@pytest.mark.parametrize("text", ["1e3", "01.5", "1.", ".5", "1,5", "NaN", "+1", "1.1234567", " 1"])
def test_other_numbers_are_not_amounts(text: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        d.Balance(currency="EUR", open=text, overdue="0")


def test_links_are_http_only() -> None:
    assert _document(1, url="https://erp.example/invoice/1").url == "https://erp.example/invoice/1"
    with pytest.raises(ValueError, match="pattern"):
        _document(1, url="javascript:alert(1)")


def test_a_connector_without_the_capability_answers_unsupported(client: ConnectorClient, erp: DictErp) -> None:
    assert DocumentCalls(client).capability is None
    with pytest.raises(ConnectorError, match="does not support documents"):
        DocumentCalls(client).documents(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1")
    # Asked anyway (the hub never does), the SDK answers the protocol's unsupported error.
    with pytest.raises(ConnectorError, match="does not support balance"):
        client.call("balance", d.BalanceResponse, connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_key="C1")
