"""Sales and customer invoices made in a test Tryton through its JSON-RPC, the way its users make them.

Works on a database seeded by ``erpsync.testing.tryton`` (its books: ``tryton_books``). Tryton numbers invoices in
date order, so an invoice is always dated today; an overdue one gets a payment term date in the past, whose warning
is answered the way a user clicking *Yes* would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.testing import tryton_books as tb

SALE_STEPS = {"draft": (), "quotation": ("quote",), "processing": ("quote", "confirm"), "cancelled": ("cancel",)}


@dataclass(frozen=True)
class Books:
    """What the seeded books hold that sales and invoices refer to."""

    company: int
    currency: int
    receivable: int
    revenue: int
    journal: int
    tax: int
    payment_term: int
    product: int
    unit: int


@dataclass(frozen=True)
class Line:
    quantity: Decimal | int
    unit_price: Decimal = tb.PRODUCT_PRICE
    description: str = tb.PRODUCT_NAME


class Sales:
    """Makes sales and invoices for parties of one Tryton database."""

    def __init__(self, rpc: TrytonRpc) -> None:
        self.rpc = rpc
        company: int = rpc.context["company"]
        accounts = tb.accounts(rpc, company)
        (row,) = rpc.read("company.company", [company], ["currency"])
        self.books = Books(
            company=company,
            currency=row["currency"],
            receivable=accounts["receivable"],
            revenue=accounts["revenue"],
            journal=rpc.search("account.journal", [["type", "=", "revenue"]], limit=1)[0],
            tax=rpc.search("account.tax", [["name", "=", tb.TAX_NAME]])[0],
            payment_term=rpc.search("account.invoice.payment_term", [["name", "=", tb.PAYMENT_TERM]])[0],
            product=rpc.search("product.product", [["template.name", "=", tb.PRODUCT_NAME]])[0],
            unit=tb.unit(rpc),
        )

    def customer(self, name: str, **values: Any) -> int:
        """A new party with an address (sales and invoices need one)."""
        (party,) = self.rpc.create("party.party", [{"name": name, "addresses": [["create", [{}]]], **values}])
        return party

    def sale(
        self, party: int, lines: list[Line], *, state: str = "processing", sale_date: dt.date | None = None
    ) -> int:
        """A sale taken to ``state`` (draft, quotation, processing or cancelled) through Tryton's buttons."""
        address = self._address(party)
        values = {
            **self._header(party, address),
            "shipment_address": address,
            "sale_date": sale_date,
            "reference": f"PO {party}",
            "lines": [["create", [self._line(line) for line in lines]]],
        }
        (sale,) = self.rpc.create("sale.sale", [values])
        for step in SALE_STEPS[state]:
            self.rpc.model("sale.sale", step, [sale])
        return sale

    def invoice(self, party: int, lines: list[Line], *, post: bool = True, overdue_days: int = 0) -> int:
        """A customer invoice dated today (a credit note when its total is negative), posted unless told not to;
        ``overdue_days`` > 0 makes its payment fall due that many days ago."""
        term_date = None
        if overdue_days:
            term_date = dt.date.today() - dt.timedelta(days=tb.PAYMENT_DAYS + overdue_days)
        values = {
            **self._header(party, self._address(party)),
            "type": "out",
            "account": self.books.receivable,
            "journal": self.books.journal,
            "invoice_date": dt.date.today() if post else None,
            "payment_term_date": term_date,
            "lines": [["create", [{**self._line(line), "account": self.books.revenue} for line in lines]]],
        }
        (invoice,) = self.rpc.create("account.invoice", [values])
        if post:
            if term_date is not None:
                self._acknowledge(f"account.invoice,{invoice}", "invoice_payment_term")
            self.rpc.model("account.invoice", "post", [invoice])
        return invoice

    def pay(self, invoice: int, amount: Decimal) -> None:
        """Record a payment of the posted ``invoice`` in cash, through Tryton's *Pay* wizard."""
        wizard = "wizard.account.invoice.pay"
        session, _start, _end = self.rpc.call(f"{wizard}.create", [{}])
        context = {**self.rpc.context, "active_model": "account.invoice", "active_id": invoice, "active_ids": [invoice]}
        (method,) = self.rpc.search("account.invoice.payment.method", [["name", "=", tb.PAYMENT_METHOD]])
        form = self.rpc.call(f"{wizard}.execute", [session, {}, "start", context])["view"]["defaults"]
        start = {key: value for key, value in form.items() if not key.endswith(".")}
        start |= {"amount": amount, "payment_method": method, "description": "Payment"}
        self.rpc.call(f"{wizard}.execute", [session, {"start": start}, "choice", context])
        self.rpc.call(f"{wizard}.delete", [session, context])

    def _header(self, party: int, address: int) -> dict[str, Any]:
        return {
            "party": party,
            "invoice_address": address,
            "company": self.books.company,
            "currency": self.books.currency,
            "payment_term": self.books.payment_term,
        }

    def _line(self, line: Line) -> dict[str, Any]:
        return {
            "type": "line",
            "product": self.books.product,
            "description": line.description,
            "quantity": float(line.quantity),
            "unit": self.books.unit,
            "unit_price": Decimal(line.unit_price),
            "taxes": [["add", [self.books.tax]]],
        }

    def _address(self, party: int) -> int:
        (row,) = self.rpc.read("party.party", [party], ["addresses"])
        address: int = row["addresses"][0]
        return address

    def _acknowledge(self, record: str, name: str) -> None:
        """Answer Tryton's warning ``name`` about ``record`` once, as a user clicking *Yes* would."""
        key = f"{hashlib.md5(record.encode(), usedforsecurity=False).hexdigest()}.{name}"
        self.rpc.create("res.user.warning", [{"user": self.rpc.user_id, "name": key, "always": False}])
