"""Demo sales documents for the sample ERP: for every customer and partner a quote, orders, invoices (paid, open,
and for some overdue) and now and then a credit note, and an order for each project; dated relative to the day the
ERP is seeded, so the demo always shows something open and something overdue. Also the invoices of one customer
in bulk, for benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

from erpsync.protocol import documents as d
from erpsync.protocol.models import ActorType

from .erp import SampleErp, Where
from .fields import KIND_OF
from .sales import CENT, Line, NewDocument

_KIND, _STATE = d.DocumentKind, d.DocumentState
_PRODUCTS = (
    # code, description, unit, price in DKK
    ("OAK-200", "Oak boards 200 mm", "m", Decimal("89.50")),
    ("STL-BEAM", "Steel beam HEA 160", "pcs", Decimal("1240.00")),
    ("PAL-EUR", "EUR pallet", "pcs", Decimal("115.00")),
    ("SRV-HOUR", "Service technician", "h", Decimal("725.00")),
    ("PKG-BOX", "Shipping box 60x40x40", "pcs", Decimal("18.75")),
    ("LIC-ERP", "ERP user licence, one year", "pcs", Decimal("4800.00")),
    ("TRN-DAY", "Training day", "day", Decimal("6500.00")),
)
_PRICE_FACTOR = {"DKK": Decimal(1), "SEK": Decimal("1.45"), "NOK": Decimal("1.5"), "EUR": Decimal("0.134")}
_TAX_RATE = {"DKK": Decimal("0.25"), "SEK": Decimal("0.25"), "NOK": Decimal("0.25"), "EUR": Decimal("0.24")}
_REFERENCES = ("PO 4471", "Framework agreement", "Spring campaign", "Replacement parts", "", "", "")
_SEED = 20240602
_BULK_PRICE = Decimal(1000)  # dearer products are sold by the few


def seed_documents(erp: SampleErp, *, today: dt.date) -> int:
    """Documents for every customer, partner and project of every company; returns how many."""
    rng = random.Random(_SEED)
    total = 0
    for company, _name in erp.companies():
        documents = list(_company_documents(erp, rng, company, today))
        erp.add_documents(company, documents)
        total += len(documents)
    return total


def generate_invoices(
    erp: SampleErp, count: int, *, company: str, customer_key: str, today: dt.date, currency: str = "DKK"
) -> None:
    """``count`` invoices of one customer over the past years, one in ten open and some of those overdue."""
    rng = random.Random(_SEED + count)
    invoices = []
    for index in range(count):
        day = today - dt.timedelta(days=index // 2 + 1)
        state = _STATE.OPEN if index % 10 == 0 else _STATE.CLOSED
        invoices.append(_invoice(rng, int(customer_key), currency, day, state=state))
    erp.add_documents(company, invoices)


def _company_documents(erp: SampleErp, rng: random.Random, company: str, today: dt.date) -> Iterator[NewDocument]:
    currency_field = KIND_OF[ActorType.CUSTOMER].by_key["currency"]
    currencies: dict[int, str] = {}
    for actor_type in (ActorType.CUSTOMER, ActorType.PARTNER):
        for key, actor in erp.query(company, actor_type, Where(), [currency_field], limit=100_000).items():
            currencies[int(key)] = str(actor.fields.get("currency") or "DKK")
            yield from _customer_documents(rng, int(key), currencies[int(key)], today)
    for key, project in erp.query(company, ActorType.PROJECT, Where(), [], limit=100_000).items():
        if project.parent_key is not None and int(project.parent_key) in currencies:
            customer = int(project.parent_key)
            yield _order(rng, customer, currencies[customer], today - _days(rng, 3, 60), project_id=int(key))


def _customer_documents(rng: random.Random, customer: int, currency: str, today: dt.date) -> Iterator[NewDocument]:
    quote_state = _STATE.OPEN if rng.random() < 0.7 else _STATE.CANCELLED
    yield _document(rng, _KIND.QUOTE, customer, currency, today - _days(rng, 3, 20), state=quote_state)
    yield _order(rng, customer, currency, today - _days(rng, 2, 30))
    yield _document(rng, _KIND.ORDER, customer, currency, today - _days(rng, 40, 200), state=_STATE.CLOSED)
    yield _invoice(rng, customer, currency, today - _days(rng, 60, 300), state=_STATE.CLOSED)
    yield _invoice(rng, customer, currency, today - _days(rng, 1, 20), state=_STATE.OPEN)
    if rng.random() < 0.5:
        yield _invoice(rng, customer, currency, today - _days(rng, 45, 90), state=_STATE.OPEN)  # overdue
    if rng.random() < 0.2:
        state = _STATE.OPEN if rng.random() < 0.5 else _STATE.CLOSED
        day = today - _days(rng, 10, 100)
        yield _document(rng, _KIND.CREDIT_NOTE, customer, currency, day, state=state, due_date=day, lines=1)


def _order(
    rng: random.Random, customer: int, currency: str, day: dt.date, *, project_id: int | None = None
) -> NewDocument:
    return _document(rng, _KIND.ORDER, customer, currency, day, state=_STATE.OPEN, project_id=project_id)


def _invoice(rng: random.Random, customer: int, currency: str, day: dt.date, *, state: d.DocumentState) -> NewDocument:
    return _document(rng, _KIND.INVOICE, customer, currency, day, state=state, due_date=day + dt.timedelta(days=30))


def _document(  # noqa: PLR0913 - a document's parts, each named at the call
    rng: random.Random,
    kind: d.DocumentKind,
    customer: int,
    currency: str,
    day: dt.date,
    *,
    state: d.DocumentState,
    due_date: dt.date | None = None,
    project_id: int | None = None,
    lines: int = 0,
) -> NewDocument:
    return NewDocument(
        organisation_id=customer,
        project_id=project_id,
        kind=kind,
        date=day,
        state=state,
        currency=currency,
        lines=tuple(_line(rng, currency) for _ in range(lines or rng.randint(1, 4))),
        tax_rate=_TAX_RATE.get(currency, Decimal("0.25")),
        due_date=due_date,
        reference=rng.choice(_REFERENCES),
    )


def _line(rng: random.Random, currency: str) -> Line:
    code, description, unit, price = rng.choice(_PRODUCTS)
    unit_price = (price * _PRICE_FACTOR.get(currency, Decimal(1))).quantize(CENT)
    quantities = (1, 2, 3) if price >= _BULK_PRICE else (1, 2, 5, 10, 12, 25, 40)
    return Line(description, code, Decimal(rng.choice(quantities)), unit, unit_price)


def _days(rng: random.Random, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(low, high))
