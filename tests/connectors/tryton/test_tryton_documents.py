"""A customer's sales documents read from a real Tryton: quotes and orders from its sales, invoices and credit notes
from its customer invoices, their lines and the customer's balance, made in Tryton the way its users make them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer
from erpsync.testing.tryton_books import CREDIT_LIMIT
from erpsync.testing.tryton_sales import Line, Sales

from .conftest import CONNECTION, saved_connector

pytestmark = pytest.mark.tryton
Kind, State = d.DocumentKind, d.DocumentState
TODAY = dt.date.today()
LAST_MONTH = TODAY - dt.timedelta(days=31)
OTHERS = "another customer's invoice"


@dataclass(frozen=True)
class World:
    """One customer's documents, made once for the module, and another customer's."""

    server: TrytonServer
    customer: int
    other: int
    keys: dict[str, str]  # what each document is: its key


@pytest.fixture(scope="module")
def world(shared_tryton: TrytonServer) -> Iterator[World]:
    with shared_tryton.rpc() as rpc:
        sales = Sales(rpc)
        (category,) = rpc.search("party.category", [["name", "=", "Customer"]])
        customer = sales.customer("Documents Customer", categories=[["add", [category]]])
        other = sales.customer("Other Customer", categories=[["add", [category]]])
        keys = {
            "draft quote": f"sale-{sales.sale(customer, [Line(1)], state='draft')}",
            "quotation": f"sale-{sales.sale(customer, [Line(2)], state='quotation')}",
            "cancelled quote": f"sale-{sales.sale(customer, [Line(3)], state='cancelled')}",
            "order": f"sale-{sales.sale(customer, [Line(2), Line(1, Decimal('50.00'))], sale_date=LAST_MONTH)}",
            "overdue invoice": f"invoice-{sales.invoice(customer, [Line(1)], overdue_days=10)}",
            "invoice": f"invoice-{sales.invoice(customer, [Line(3)])}",
            "credit note": f"invoice-{sales.invoice(customer, [Line(-1)])}",
            "paid invoice": f"invoice-{sales.invoice(customer, [Line(2)])}",
            OTHERS: f"invoice-{sales.invoice(other, [Line(7)])}",
        }
        sales.pay(int(keys["paid invoice"].removeprefix("invoice-")), Decimal("250.00"))
        yield World(shared_tryton, customer, other, keys)


@pytest.fixture
def connector(world: World, tmp_path: Path) -> Iterator[TrytonConnector]:
    with saved_connector(world.server, tmp_path / "connections.sqlite") as saved:
        yield saved


def request(world: World, **values: Any) -> d.DocumentsRequest:
    return d.DocumentsRequest(
        connection_id=CONNECTION, actor_type=m.ActorType.CUSTOMER, erp_key=str(world.customer), **values
    )


def by_key(documents: list[d.Document]) -> dict[str, d.Document]:
    return {document.key: document for document in documents}


def test_info_declares_every_kind_with_lines_and_balance(connector: TrytonConnector) -> None:
    capability = connector.info().capabilities.documents
    assert capability is not None
    assert set(capability.kinds) == set(Kind)
    assert capability.lines
    assert capability.balance


def test_sales_are_quotes_and_orders_and_customer_invoices_are_invoices_and_credit_notes(
    world: World, connector: TrytonConnector
) -> None:
    answer = connector.documents(request(world))
    found = by_key(answer.documents)
    assert answer.total == len(answer.documents) == 9  # 8 made, and the order's draft invoice Tryton made
    sale = {name: found[world.keys[name]] for name in ("draft quote", "quotation", "cancelled quote", "order")}
    assert [(doc.kind, doc.state) for doc in sale.values()] == [
        (Kind.QUOTE, State.DRAFT),
        (Kind.QUOTE, State.OPEN),
        (Kind.QUOTE, State.CANCELLED),
        (Kind.ORDER, State.OPEN),
    ]
    order = sale["order"]
    assert (order.date, order.currency, order.net, order.tax, order.gross) == (
        LAST_MONTH,
        "EUR",
        "250.00",
        "62.50",
        "312.50",
    )
    assert (order.due_date, order.open_amount, order.reference) == (None, None, f"PO {world.customer}")
    assert world.keys[OTHERS] not in found


def test_an_invoice_has_its_number_due_date_and_open_amount(world: World, connector: TrytonConnector) -> None:
    found = by_key(connector.documents(request(world)).documents)
    invoice = found[world.keys["invoice"]]
    assert (invoice.kind, invoice.state, invoice.date) == (Kind.INVOICE, State.OPEN, TODAY)
    assert invoice.number.startswith(f"{TODAY.year}-")
    assert (invoice.net, invoice.tax, invoice.gross, invoice.open_amount) == ("300.00", "75.00", "375.00", "375.00")
    assert invoice.due_date == TODAY + dt.timedelta(days=30)
    overdue = found[world.keys["overdue invoice"]]
    assert overdue.due_date == TODAY - dt.timedelta(days=10)
    assert overdue.open_amount == overdue.gross == "125.00"


def test_a_paid_invoice_is_closed_with_nothing_open(world: World, connector: TrytonConnector) -> None:
    paid = by_key(connector.documents(request(world)).documents)[world.keys["paid invoice"]]
    assert (paid.kind, paid.state, paid.gross, paid.open_amount) == (Kind.INVOICE, State.CLOSED, "250.00", "0")
    assert paid.due_date == TODAY + dt.timedelta(days=30)


def test_a_credit_note_has_positive_amounts(world: World, connector: TrytonConnector) -> None:
    credit = by_key(connector.documents(request(world)).documents)[world.keys["credit note"]]
    assert (credit.kind, credit.state) == (Kind.CREDIT_NOTE, State.OPEN)
    assert (credit.net, credit.tax, credit.gross, credit.open_amount) == ("100.00", "25.00", "125.00", "125.00")


def test_the_order_s_draft_invoice_is_a_draft_not_yet_owed(world: World, connector: TrytonConnector) -> None:
    drafts = connector.documents(request(world, kinds=[Kind.INVOICE], states=[State.DRAFT])).documents
    assert len(drafts) == 1
    (draft,) = drafts
    assert (draft.gross, draft.due_date, draft.open_amount, draft.date) == ("312.50", None, "0", TODAY)
    assert draft.number.startswith("(")  # Tryton numbers an invoice when it posts it


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kinds": [Kind.ORDER]}, {"order"}),
        ({"kinds": [Kind.QUOTE], "states": [State.OPEN, State.CANCELLED]}, {"quotation", "cancelled quote"}),
        ({"kinds": [Kind.CREDIT_NOTE]}, {"credit note"}),
        ({"states": [State.OPEN], "kinds": [Kind.INVOICE, Kind.ORDER]}, {"order", "invoice", "overdue invoice"}),
        ({"states": [State.CLOSED]}, {"paid invoice"}),
        ({"date_to": LAST_MONTH}, {"order"}),
        ({"date_from": LAST_MONTH, "date_to": LAST_MONTH, "kinds": [Kind.QUOTE]}, set()),
    ],
)
def test_filters_select_in_tryton(
    world: World, connector: TrytonConnector, filters: dict[str, Any], expected: set[str]
) -> None:
    keys = {document.key for document in connector.documents(request(world, **filters)).documents}
    names = {name for name, key in world.keys.items() if key in keys}
    assert names == expected


def test_paging_answers_every_document_once_newest_first(world: World, connector: TrytonConnector) -> None:
    everything = connector.documents(request(world)).documents
    pages: list[list[d.Document]] = []
    cursor = None
    while True:
        page = connector.documents(request(world, limit=3, cursor=cursor))
        pages.append(page.documents)
        assert (page.total is None) == (cursor is not None)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [len(page) for page in pages] == [3, 3, 3]
    assert [doc.key for page in pages for doc in page] == [doc.key for doc in everything]
    dates = [doc.date for doc in everything]
    assert dates == sorted(dates, reverse=True)


def test_a_cursor_for_other_filters_is_refused(world: World, connector: TrytonConnector) -> None:
    cursor = connector.documents(request(world, limit=1)).next_cursor
    with pytest.raises(ValidationError):
        connector.documents(request(world, limit=1, cursor=cursor, kinds=[Kind.ORDER]))


def test_lines_add_up_to_the_document_s_net(world: World, connector: TrytonConnector) -> None:
    for name in ("order", "credit note"):
        key = world.keys[name]
        answer = connector.document_lines(
            d.DocumentLinesRequest(
                connection_id=CONNECTION, actor_type=m.ActorType.CUSTOMER, erp_key=str(world.customer), document_key=key
            )
        )
        assert answer.document is not None
        assert sum(Decimal(line.net) for line in answer.lines) == Decimal(answer.document.net)
        assert all(line.unit == "u" and line.description for line in answer.lines)
    order_lines = connector.document_lines(
        d.DocumentLinesRequest(
            connection_id=CONNECTION,
            actor_type=m.ActorType.CUSTOMER,
            erp_key=str(world.customer),
            document_key=world.keys["order"],
        )
    ).lines
    assert [(line.quantity, line.unit_price, line.net) for line in order_lines] == [
        ("2", "100.00", "200.00"),
        ("1", "50.00", "50.00"),
    ]


def test_another_customer_s_document_is_not_found(world: World, connector: TrytonConnector) -> None:
    lines = d.DocumentLinesRequest(
        connection_id=CONNECTION,
        actor_type=m.ActorType.CUSTOMER,
        erp_key=str(world.customer),
        document_key=world.keys[OTHERS],
    )
    with pytest.raises(NotFoundError):
        connector.document_lines(lines)


def test_the_balance_is_the_customer_s_receivable_with_what_is_overdue(
    world: World, connector: TrytonConnector
) -> None:
    answer = connector.balance(
        d.ActorDocumentsRequest(connection_id=CONNECTION, actor_type=m.ActorType.CUSTOMER, erp_key=str(world.customer))
    )
    assert answer.balance == d.Balance(
        currency="EUR", open="375.00", overdue="125.00", credit_limit=str(CREDIT_LIMIT)
    )  # 125 overdue + 375 - 125 credited


def test_an_unknown_or_supplier_party_is_not_found(world: World, connector: TrytonConnector) -> None:
    with world.server.rpc() as rpc:
        (stranger,) = rpc.create("party.party", [{"name": "Not a customer"}])
    for key in (str(stranger), "999999", "x"):
        with pytest.raises(NotFoundError):
            connector.documents(request(world).model_copy(update={"erp_key": key}))


def test_a_page_costs_a_few_tryton_calls(
    world: World, connector: TrytonConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.documents(request(world, limit=1))  # the session is opened
    made: list[str] = []
    send = TrytonRpc._send

    def counted(self: TrytonRpc, method: str, params: list[Any]) -> Any:
        made.append(method)
        return send(self, method, params)

    monkeypatch.setattr(TrytonRpc, "_send", counted)
    connector.documents(request(world, limit=50))
    assert len(made) <= 5
