"""The sample connector's documents over HTTP: the demo's documents, paging, filters, lines, balance, and what
belongs to another actor or company staying out of sight."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.connectors.sample.connector import SampleConnector
from erpsync.connectors.sample.erp import SampleErp, Where
from erpsync.connectors.sample.sales import Line, NewDocument
from erpsync.connectors.sample.sales_seed import generate_invoices
from erpsync.connectors.sample.seed import seed_demo
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.document_calls import DocumentCalls

CONNECTION = "conn-acme"  # the connection the conftest saves

TODAY = dt.date(2026, 3, 15)
CUSTOMER, PROJECT = m.ActorType.CUSTOMER, m.ActorType.PROJECT
WIDGET = Line("Widget", "W-1", Decimal(4), "pcs", Decimal("12.50"))


@pytest.fixture
def calls(client: ConnectorClient, connector: SampleConnector) -> DocumentCalls:
    connector.today = lambda: TODAY
    return DocumentCalls(client)


def _invoice(customer: str, day: dt.date, *, state: d.DocumentState, project: str | None = None) -> NewDocument:
    return NewDocument(
        organisation_id=int(customer),
        project_id=None if project is None else int(project),
        kind=d.DocumentKind.INVOICE,
        date=day,
        state=state,
        currency="DKK",
        lines=(WIDGET, Line("Freight", "", Decimal(1), "", Decimal("75.00"))),
        tax_rate=Decimal("0.25"),
        due_date=day + dt.timedelta(days=30),
    )


def test_every_demo_customer_has_orders_and_invoices_and_some_are_overdue(tmp_path: Path) -> None:
    erp = SampleErp(tmp_path / "demo.sqlite")
    seed_demo(erp, today=TODAY)
    customers = erp.query("NORDIC", CUSTOMER, Where(), [], limit=1000)
    overdue = 0
    for key in customers:
        documents = erp.documents("NORDIC", CUSTOMER, key, d.DocumentFilters())
        kinds = {document.kind for document in documents}
        assert {d.DocumentKind.QUOTE, d.DocumentKind.ORDER, d.DocumentKind.INVOICE} <= kinds
        assert len(documents) >= 5
        balance = erp.balance("NORDIC", CUSTOMER, key, today=TODAY)
        overdue += Decimal(balance.overdue) > 0
    assert len(customers) / 4 < overdue < len(customers)
    erp.close()


def test_pages_follow_cursors_newest_first(calls: DocumentCalls, erp: SampleErp, add: Any) -> None:
    customer = add("customer", name="Many Invoices A/S")
    generate_invoices(erp, 250, company="ACME", customer_key=customer, today=TODAY)
    seen: list[d.Document] = []
    cursor = None
    while True:
        page = calls.documents(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=customer, cursor=cursor)
        assert len(page.documents) == 50 or page.next_cursor is None
        assert page.total == (250 if cursor is None else None)
        seen += page.documents
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len({document.key for document in seen}) == 250
    assert [document.date for document in seen] == sorted((document.date for document in seen), reverse=True)


def test_filters_lines_and_balance(calls: DocumentCalls, erp: SampleErp, add: Any) -> None:
    customer = add("customer", name="Fjord Fisk AS", credit_limit=50000.0)
    erp.add_documents(
        "ACME",
        [
            _invoice(customer, TODAY - dt.timedelta(days=60), state=d.DocumentState.OPEN),  # overdue
            _invoice(customer, TODAY - dt.timedelta(days=5), state=d.DocumentState.OPEN),
            _invoice(customer, TODAY - dt.timedelta(days=200), state=d.DocumentState.CLOSED),
        ],
    )
    filters = d.DocumentFilters(states=[d.DocumentState.OPEN], date_from=TODAY - dt.timedelta(days=30))
    page = calls.documents(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=customer, filters=filters)
    assert [document.date for document in page.documents] == [TODAY - dt.timedelta(days=5)]
    invoice = page.documents[0]
    assert (invoice.net, invoice.tax, invoice.gross, invoice.open_amount) == ("125.00", "31.25", "156.25", "156.25")
    lines = calls.document_lines(
        connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=customer, document_key=invoice.key
    )
    assert [(line.description, line.quantity, line.net) for line in lines.lines] == [
        ("Widget", "4", "50.00"),
        ("Freight", "1", "75.00"),
    ]
    balance = calls.balance(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=customer).balance
    assert balance == d.Balance(currency="DKK", open="312.50", overdue="156.25", credit_limit="50000.00")


def test_a_projects_documents_are_its_own(calls: DocumentCalls, erp: SampleErp, add: Any) -> None:
    customer = add("customer", name="Projekt Kunde ApS")
    project = add("project", name="Roll-out", parent=("customer", customer))
    erp.add_documents(
        "ACME",
        [
            _invoice(customer, TODAY, state=d.DocumentState.OPEN, project=project),
            _invoice(customer, TODAY, state=d.DocumentState.OPEN),
        ],
    )
    mine = calls.documents(connection_id=CONNECTION, actor_type=PROJECT, erp_key=project)
    everything = calls.documents(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=customer)
    assert len(mine.documents) == 1
    assert len(everything.documents) == 2
    assert calls.balance(connection_id=CONNECTION, actor_type=PROJECT, erp_key=project).balance == d.Balance(
        currency="DKK", open="156.25", overdue="0.00"
    )


def test_another_actors_document_or_company_is_not_found(calls: DocumentCalls, erp: SampleErp, add: Any) -> None:
    mine, theirs = add("customer", name="Mine A/S"), add("customer", name="Theirs A/S")
    elsewhere = add("customer", company="OTHER", name="Elsewhere AB")
    erp.add_documents("ACME", [_invoice(theirs, TODAY, state=d.DocumentState.OPEN)])
    key = calls.documents(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=theirs).documents[0].key
    with pytest.raises(NotFoundError):
        calls.document_lines(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=mine, document_key=key)
    with pytest.raises(NotFoundError):
        calls.documents(connection_id=CONNECTION, actor_type=CUSTOMER, erp_key=elsewhere)
    with pytest.raises(NotFoundError):
        calls.balance(connection_id=CONNECTION, actor_type=m.ActorType.PARTNER, erp_key=mine)


def test_persons_have_no_documents(calls: DocumentCalls, add: Any) -> None:
    customer = add("customer", name="Fjord Fisk AS")
    person = add("person", first_name="Kari", last_name="Nordmann", parent=("customer", customer))
    with pytest.raises(ValidationError, match="no documents for actor type person"):
        calls.documents(connection_id=CONNECTION, actor_type=m.ActorType.PERSON, erp_key=person)
