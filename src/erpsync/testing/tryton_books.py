"""The books a test Tryton database starts with, so that sales and invoices can be made and posted at once.

Built once into the cached template (see ``erpsync.testing.tryton``): Tryton's universal chart of accounts through its
own wizard (the default receivable and payable accounts set), a fiscal year with monthly periods and invoice
sequences for last year, this year and next year, a 30-day payment term (the company's default for customers), a 25 %
sales tax, one salable service product (no stock involved) in an accounting category, and a cash payment method.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from erpsync.connectors.tryton.rpc import TrytonRpc

CHART_TEMPLATE = "Universal Chart of Accounts"
PAYMENT_TERM = "30 days"
PAYMENT_DAYS = 30
TAX_NAME = "VAT 25%"
TAX_RATE = Decimal("0.25")
PRODUCT_NAME = "Consulting hour"
PRODUCT_PRICE = Decimal("100.00")
CREDIT_LIMIT = Decimal("5000.00")  # every party's default credit limit (account_credit_limit)
PAYMENT_METHOD = "Cash"


def seed_books(rpc: TrytonRpc, company: int, *, today: dt.date) -> None:
    """Create the chart, the fiscal years around ``today``, the payment term, the tax and the product."""
    _create_chart(rpc, company)
    for year in (today.year - 1, today.year, today.year + 1):
        _create_fiscal_year(rpc, company, year)
    chart = accounts(rpc, company)
    (term,) = rpc.create(
        "account.invoice.payment_term",
        [{"name": PAYMENT_TERM, "lines": [["create", [{"type": "remainder", "relativedeltas": _days(PAYMENT_DAYS)}]]]}],
    )
    rpc.write("account.configuration", [1], {"default_customer_payment_term": term})
    rpc.write("account.configuration", [1], {"default_credit_limit_amount": CREDIT_LIMIT})
    tax = {"name": TAX_NAME, "description": TAX_NAME, "type": "percentage", "rate": TAX_RATE, "company": company}
    tax |= {"invoice_account": chart["tax"], "credit_note_account": chart["tax"]}
    (tax_id,) = rpc.create("account.tax", [tax])
    category = {"name": "Services", "accounting": True, "customer_taxes": [["add", [tax_id]]]}
    category |= {"account_revenue": chart["revenue"], "account_expense": chart["expense"]}
    (category_id,) = rpc.create("product.category", [category])
    uom = unit(rpc)
    product = {"name": PRODUCT_NAME, "type": "service", "list_price": PRODUCT_PRICE, "account_category": category_id}
    product |= {"default_uom": uom, "salable": True, "sale_uom": uom, "products": [["create", [{}]]]}
    rpc.create("product.template", [product])
    (journal,) = rpc.search("account.journal", [["type", "=", "cash"]], limit=1)
    method = {"name": PAYMENT_METHOD, "company": company, "journal": journal}
    method |= {"debit_account": chart["cash"], "credit_account": chart["cash"]}
    rpc.create("account.invoice.payment.method", [method])


def _create_chart(rpc: TrytonRpc, company: int) -> None:
    """Run Tryton's *Create Chart of Accounts* wizard as its form would, with the universal chart."""
    (template,) = rpc.search("account.account.template", [["parent", "=", None], ["name", "=", CHART_TEMPLATE]])
    wizard = "wizard.account.create_chart"
    session, _start, _end = rpc.call(f"{wizard}.create", [{}])
    context = rpc.context
    form = {"company": company, "account_template": template}
    rpc.call(f"{wizard}.execute", [session, {"account": form}, "create_account", context])
    receivable = rpc.search("account.account", [["type.receivable", "=", True], ["party_required", "=", True]])
    payable = rpc.search("account.account", [["type.payable", "=", True], ["party_required", "=", True]])
    properties = {"company": company, "account_receivable": receivable[0], "account_payable": payable[0]}
    data = {"account": form, "properties": properties}
    rpc.call(f"{wizard}.execute", [session, data, "create_properties", context])
    rpc.call(f"{wizard}.delete", [session, context])


def _create_fiscal_year(rpc: TrytonRpc, company: int, year: int) -> None:
    move_type = _named(rpc, "ir.sequence.type", "Account Move")
    invoice_type = _named(rpc, "ir.sequence.type", "Invoice")
    moves, invoices = rpc.create(
        "ir.sequence.strict",
        [
            {"name": f"Moves {year}", "sequence_type": move_type, "company": company},
            {"name": f"Invoices {year}", "sequence_type": invoice_type, "company": company, "prefix": f"{year}-"},
        ],
    )
    sequences = dict.fromkeys(
        ("out_invoice_sequence", "out_credit_note_sequence", "in_invoice_sequence", "in_credit_note_sequence"),
        invoices,
    )
    (fiscal_year,) = rpc.create(
        "account.fiscalyear",
        [
            {
                "name": str(year),
                "start_date": dt.date(year, 1, 1),
                "end_date": dt.date(year, 12, 31),
                "company": company,
                "move_sequence": moves,
                "invoice_sequences": [["create", [{"company": company, **sequences}]]],
            }
        ],
    )
    rpc.model("account.fiscalyear", "create_period", [fiscal_year])


def accounts(rpc: TrytonRpc, company: int) -> dict[str, int]:
    """The chart's first account of each kind a sale needs."""
    kinds: dict[str, list[Any]] = {
        "receivable": [["type.receivable", "=", True], ["party_required", "=", True]],
        "revenue": [["type.revenue", "=", True]],
        "expense": [["type.expense", "=", True]],
        "tax": [["type.statement", "=", "balance"], ["name", "ilike", "%tax%"]],
        "cash": [["type.statement", "=", "balance"], ["name", "=", "Cash and Cash Equivalents"]],
    }
    found = {}
    for kind, domain in kinds.items():
        ids = rpc.search("account.account", [["company", "=", company], ["closed", "!=", True], *domain], limit=1)
        found[kind] = ids[0]
    return found


def unit(rpc: TrytonRpc) -> int:
    return _named(rpc, "product.uom", "Unit")


def _named(rpc: TrytonRpc, model: str, name: str) -> int:
    """The record of ``model`` with this (English) name, which Tryton's own data defines."""
    (found,) = rpc.search(model, [["name", "=", name]], context={"language": "en"})
    return found


def _days(days: int) -> list[Any]:
    return [["create", [{"days": days}]]]
