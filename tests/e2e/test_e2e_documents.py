"""In a real browser, in English and Danish: a licensed user opens a linked company's ERP tab and sees its orders, an
overdue invoice and the balance, opens an invoice's lines, filters and refreshes; a licensed user outside the
connection sees none of it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from erpsync import accounts
from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales import Line, NewDocument
from erpsync.crypto import cipher_for
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.sync.erp_tab.documents import recent
from erpsync.testing.documents import LinkedCompany, link_company
from erpsync.testing.sample import COMPANY

from .conftest import Hub, screenshot

TODAY = dt.date.today()
TEXTS = {
    "en": {
        "documents": "Documents",
        "order": "Order",
        "invoice": "Invoice",
        "overdue": "Overdue",
        "balance": "Balance: DKK3,218.75",
        "overdue_amount": "Overdue: DKK1,250.00",
        "limit": "Credit limit: DKK50,000.00",
        "lines": "Lines",
        "line": "Steel beam HEA 160",
        "open_only": "Open only",
        "show": "Show",
        "refresh": "Refresh",
    },
    "da": {
        "documents": "Dokumenter",
        "order": "Ordre",
        "invoice": "Faktura",
        "overdue": "Forfalden",
        "balance": "Saldo: 3.218,75\xa0kr.",
        "overdue_amount": "Forfalden: 1.250,00\xa0kr.",
        "limit": "Kreditgrænse: 50.000,00\xa0kr.",
        "lines": "Linjer",
        "line": "Steel beam HEA 160",
        "open_only": "Kun åbne",
        "show": "Vis",
        "refresh": "Opdater",
    },
}


def _setup(hub: Hub) -> LinkedCompany:
    """Acme linked to an ERP customer with an order, an open invoice, an overdue one and a paid one."""
    with hub.database.session() as session:
        carla = accounts.find_user(session, "carla")
        assert carla
        carla_id = carla.id
    hub.add_user("otto", licences=("erp",))  # licensed, but outside the connection
    values = {"name": "Acme A/S", "credit_limit": 50000.0}
    erp_key = hub.sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values))
    beam = Line("Steel beam HEA 160", "STL-BEAM", Decimal(1), "pcs", Decimal("1000.00"))
    pallet = Line("EUR pallet", "PAL-EUR", Decimal(5), "pcs", Decimal("115.00"))

    def document(kind: d.DocumentKind, age: int, state: d.DocumentState, *lines: Line) -> NewDocument:
        day = TODAY - dt.timedelta(days=age)
        due = day + dt.timedelta(days=30) if kind is d.DocumentKind.INVOICE else None
        return NewDocument(int(erp_key), kind, day, state, "DKK", lines, Decimal("0.25"), due_date=due)

    hub.sample.erp.add_documents(
        COMPANY,
        [
            document(d.DocumentKind.ORDER, 2, d.DocumentState.OPEN, beam, pallet),
            document(d.DocumentKind.INVOICE, 5, d.DocumentState.OPEN, beam, pallet),
            document(d.DocumentKind.INVOICE, 45, d.DocumentState.OPEN, beam),  # overdue
            document(d.DocumentKind.INVOICE, 120, d.DocumentState.CLOSED, pallet),
        ],
    )
    cipher = cipher_for(hub.settings)
    config = hub.sample.config
    return link_company(
        hub.database,
        cipher,
        url=hub.sample.url,
        secret=hub.sample.secret,
        config=config,
        erp_key=erp_key,
        name="Acme A/S",
        visible_to=(carla_id,),
    )


@pytest.mark.parametrize("language", ["en", "da"])
def test_a_licensed_user_sees_orders_an_overdue_invoice_and_the_balance(page: Page, hub: Hub, language: str) -> None:
    recent.clear()
    texts = TEXTS[language]
    linked = _setup(hub)
    page.goto(f"{hub.url}/login")
    page.locator(f".language-switch button[value={language}]").click()
    hub.sign_in(page, "carla")
    page.goto(f"{hub.url}/companies/{linked.company_id}/erp")
    part = page.locator("[data-erp-documents]")
    expect(part.get_by_role("heading", name=texts["documents"])).to_be_visible()
    expect(part.locator("tbody[data-document]")).to_have_count(4)
    expect(part.locator("tbody[data-overdue]")).to_have_count(1)
    overdue = part.locator("tbody[data-overdue]")
    expect(overdue).to_contain_text(texts["invoice"])
    expect(overdue).to_contain_text(texts["overdue"])
    expect(part.locator("tbody[data-document]").first).to_contain_text(texts["order"])
    balance = part.locator("[data-balance]")
    expect(balance).to_contain_text(texts["balance"])
    expect(balance).to_contain_text(texts["overdue_amount"])
    expect(balance).to_contain_text(texts["limit"])
    screenshot(page, f"{language}-erp-documents")

    overdue.get_by_role("link", name=texts["lines"]).click()
    expect(overdue.locator("[data-document-lines]")).to_contain_text(texts["line"])
    screenshot(page, f"{language}-erp-document-lines")

    part.get_by_label(texts["open_only"]).check()
    part.get_by_role("button", name=texts["show"]).click()
    expect(page.locator("[data-erp-documents] tbody[data-document]")).to_have_count(3)
    page.locator("[data-erp-documents]").get_by_role("button", name=texts["refresh"]).click()
    expect(page.locator("[data-erp-documents] tbody[data-document]")).to_have_count(3)


def test_a_user_outside_the_connection_sees_none_of_it(page: Page, hub: Hub) -> None:
    recent.clear()
    linked = _setup(hub)
    hub.sign_in(page, "otto")
    tab = f"{hub.url}/companies/{linked.company_id}/erp"
    page.goto(tab)
    expect(page.locator("[data-erp-documents]")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("Acme A/S ERP")
    answer = page.goto(f"{tab}/{linked.connection_id}/documents")
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("body")).not_to_contain_text("3,218.75")
