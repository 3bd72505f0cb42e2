"""A party's sales documents in Tryton as the protocol's documents: quotes and orders from ``sale.sale``, invoices and
credit notes from customer invoices (``account.invoice`` of type ``out``), their lines, and the party's balance.

Tryton's states map onto the protocol's four: a sale in draft is a draft quote, in quotation an open quote, cancelled
a cancelled quote (Tryton cancels only drafts and quotations); confirmed and processing sales are open orders, done
ones closed. An invoice in draft or validated is a draft, posted open, paid closed, cancelled cancelled; one whose
total is negative is a credit note, shown with positive amounts as the protocol wants. An invoice's open amount is
Tryton's amount to pay (nothing for a draft, which is not owed yet). A document's date is the sale date (else the
quotation date) or the invoice date, and for a draft that has none yet the day it was created.

Kinds, states and dates are filtered in Tryton's domain. A page costs at most five calls: the party, each model's
matching ids and dates, and each model's documents on the page; the cursor holds the last document's position and a
fingerprint of the actor and filters, so it needs no state on the connector.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from erpsync.connectors.tryton.records import Records
from erpsync.connectors.tryton.rpc import Domain
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol.documents import DocumentKind as Kind
from erpsync.protocol.documents import DocumentState as State
from erpsync.protocol.models import ActorType

Row = dict[str, Any]
Position = tuple[str, int, int]  # a document's date, its model's rank and its id: the order, newest first

CAPABILITY = d.DocumentsCapability(
    kinds=list(Kind), actor_types=[ActorType.CUSTOMER, ActorType.PARTNER], lines=True, balance=True, max_page_size=200
)
SALE_STATES: dict[str, tuple[Kind, State]] = {
    "draft": (Kind.QUOTE, State.DRAFT),
    "quotation": (Kind.QUOTE, State.OPEN),
    "cancelled": (Kind.QUOTE, State.CANCELLED),
    "confirmed": (Kind.ORDER, State.OPEN),
    "processing": (Kind.ORDER, State.OPEN),
    "done": (Kind.ORDER, State.CLOSED),
}
INVOICE_STATES: dict[str, State] = {
    "draft": State.DRAFT,
    "validated": State.DRAFT,
    "posted": State.OPEN,
    "paid": State.CLOSED,
    "cancelled": State.CANCELLED,
}
_TOTALS = ["number", "state", "create_date", "currency.code", "untaxed_amount", "tax_amount", "total_amount"]
_LINE_FIELDS = ["type", "description", "product.code", "quantity", "unit.symbol", "unit_price", "amount"]
_TERMS = ("lines_to_pay.maturity_date", "lines_to_pay.reconciliation")
_SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Source:
    """One Tryton model that documents come from."""

    model: str
    prefix: str  # of the document keys: "sale-12"
    rank: int  # orders the documents of one day: invoices before sales
    dates: tuple[str, ...]  # the date fields, first set wins; then the day the record was created
    line_model: str
    parent: str  # the lines' field that names their document
    fields: tuple[str, ...]  # read for a document beside _TOTALS
    domain: Callable[[d.DocumentFilters], Domain | None]  # kinds and states; None: no document of this model passes
    document: Callable[[Row], d.Document]


def documents(records: Records, request: d.DocumentsRequest) -> d.DocumentsResponse:
    """One page of the party's documents that pass the request's filters, newest first."""
    party = _party(records, request)
    fingerprint = _fingerprint(request)
    after = None if request.cursor is None else _position(request.cursor, fingerprint)
    found: list[tuple[Position, Source]] = []
    for source in SOURCES:
        kept = source.domain(request)
        if kept is None:
            continue
        domain = [*_owned(records, party), *kept, *_period(source, request.date_from, request.date_to)]
        rows = records.rpc.search_read(source.model, domain, [*source.dates, "create_date"], context=records.context)
        found += [((_day(source, row).isoformat(), source.rank, row["id"]), source) for row in rows]
    found.sort(key=lambda item: item[0], reverse=True)
    remaining = [item for item in found if after is None or item[0] < after]
    limit = min(request.limit, CAPABILITY.max_page_size)
    page = remaining[:limit]
    read = _read(records, [(source, position[2]) for position, source in page])
    keys = [(source.prefix, position[2]) for position, source in page]
    return d.DocumentsResponse(
        documents=[read[key] for key in keys if key in read],  # one deleted in Tryton meanwhile is left out
        next_cursor=_cursor(page[-1][0], fingerprint) if len(remaining) > limit else None,
        total=len(found) if request.cursor is None else None,
    )


def document_lines(records: Records, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
    """One document of the party and its lines; a document of another party is not found."""
    party = _party(records, request)
    source, erp_id = _document_key(request.document_key)
    domain = [*_owned(records, party), ["id", "=", erp_id]]
    rows = records.rpc.search_read(source.model, domain, [*_TOTALS, *source.fields], context=records.context)
    if not rows:
        raise NotFoundError(f"document {request.document_key} of this {request.actor_type.value} does not exist")
    document = source.document(rows[0])
    sign = -1 if document.kind == Kind.CREDIT_NOTE else 1
    lines = records.rpc.search_read(
        source.line_model,
        [[source.parent, "=", erp_id]],
        _LINE_FIELDS,
        order=[["sequence", "ASC"], ["id", "ASC"]],
        context=records.context,
    )
    return d.DocumentLinesResponse(document=document, lines=[_line(row, sign) for row in lines])


def balance(records: Records, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
    """What the party owes the company: its receivable, the part of it past due, and its credit limit if Tryton has
    the ``account_credit_limit`` module."""
    has_limit = bool(records.rpc.model("party.party", "fields_get", ["credit_limit_amount"], context=records.context))
    names = ["receivable", "currency.code", *(["credit_limit_amount"] if has_limit else [])]
    (row,) = _parties(records, request, names)
    today = dt.date.today()
    due = [
        ["party", "=", row["id"]],
        ["account.type.receivable", "=", True],
        ["account.company", "=", records.context["company"]],
        ["reconciliation", "=", None],
        ["OR", [["maturity_date", "<", today]], [["maturity_date", "=", None], ["move.date", "<", today]]],
    ]
    lines = records.rpc.search_read("account.move.line", due, ["debit", "credit"], context=records.context)
    overdue = max(sum((line["debit"] - line["credit"] for line in lines), Decimal(0)), Decimal(0))  # less credits
    limit = row.get("credit_limit_amount")
    return d.BalanceResponse(
        balance=d.Balance(
            currency=_currency(row),
            open=amount_text(row["receivable"]),
            overdue=amount_text(overdue),
            credit_limit=None if limit is None else amount_text(limit),
        )
    )


def amount_text(value: Decimal | float | int) -> str:
    """An amount as the protocol writes it: a plain decimal, at most six places, never ``-0``; a float (a quantity)
    without trailing zeros."""
    number = Decimal(str(value)).normalize() if isinstance(value, float) else Decimal(value)  # Tryton's quantities
    if number.as_tuple().exponent < -6:  # type: ignore[operator]
        number = number.quantize(_SIX_PLACES).normalize()
    if number.is_zero():
        number = abs(number)
    return format(number, "f")


# --- the two sources ----------------------------------------------------------------------------------------------


def _sale_domain(filters: d.DocumentFilters) -> Domain | None:
    states = [
        state
        for state, (kind, common) in SALE_STATES.items()
        if (filters.kinds is None or kind in filters.kinds) and (filters.states is None or common in filters.states)
    ]
    return [["state", "in", states]] if states else None


def _invoice_domain(filters: d.DocumentFilters) -> Domain | None:
    kinds = set(filters.kinds or (Kind.INVOICE, Kind.CREDIT_NOTE)) & {Kind.INVOICE, Kind.CREDIT_NOTE}
    states = [state for state, common in INVOICE_STATES.items() if filters.states is None or common in filters.states]
    if not kinds or not states:
        return None
    domain: Domain = [["type", "=", "out"], ["state", "in", states]]
    if kinds == {Kind.INVOICE}:
        domain.append(["total_amount", ">=", 0])
    elif kinds == {Kind.CREDIT_NOTE}:
        domain.append(["total_amount", "<", 0])
    return domain


def _sale(row: Row) -> d.Document:
    kind, state = SALE_STATES[row["state"]]
    return _document(row, SALE, kind, state, sign=1)


def _invoice(row: Row) -> d.Document:
    credit = row["total_amount"] < 0
    state = INVOICE_STATES[row["state"]]
    document = _document(row, INVOICE, Kind.CREDIT_NOTE if credit else Kind.INVOICE, state, sign=-1 if credit else 1)
    due = {"due_date": _due_date(row.get("lines_to_pay.") or [])}
    return document.model_copy(update={**due, "open_amount": amount_text(abs(row["amount_to_pay"] or 0))})


SALE = Source(
    "sale.sale",
    "sale",
    0,
    ("sale_date", "quotation_date"),
    "sale.line",
    "sale",
    ("sale_date", "quotation_date", "reference", "description"),
    _sale_domain,
    _sale,
)
INVOICE = Source(
    "account.invoice",
    "invoice",
    1,
    ("invoice_date",),
    "account.invoice.line",
    "invoice",
    ("invoice_date", "reference", "description", "amount_to_pay", *_TERMS),
    _invoice_domain,
    _invoice,
)
SOURCES = (SALE, INVOICE)


# --- helpers ------------------------------------------------------------------------------------------------------


def _document(row: Row, source: Source, kind: Kind, state: State, *, sign: int) -> d.Document:
    reference = row.get("reference") or row.get("description") or ""
    return d.Document(
        key=f"{source.prefix}-{row['id']}",
        kind=kind,
        number=(row.get("number") or f"({row['id']})")[:64],
        date=_day(source, row),
        state=state,
        currency=_currency(row),
        net=amount_text(sign * row["untaxed_amount"]),
        tax=amount_text(sign * row["tax_amount"]),
        gross=amount_text(sign * row["total_amount"]),
        reference=reference[:255],
    )


def _line(row: Row, sign: int) -> d.DocumentLine:
    priced = row["type"] == "line"
    quantity = (row["quantity"] or 0) if priced else 0
    return d.DocumentLine(
        description=(row.get("description") or "")[:1000],
        product_code=((row.get("product.") or {}).get("code") or "")[:255],
        quantity=amount_text(sign * quantity),
        unit=((row.get("unit.") or {}).get("symbol") or "")[:32] if priced else "",
        unit_price=amount_text(row["unit_price"] or 0) if priced else "0",
        net=amount_text(sign * (row["amount"] or 0)) if priced else "0",
    )


def _due_date(lines: list[Row]) -> dt.date | None:
    """When payment is due: the first unpaid term, or the last term once all are paid."""
    dates = [(line["maturity_date"], line.get("reconciliation") is None) for line in lines if line["maturity_date"]]
    unpaid = [date for date, open_ in dates if open_]
    return min(unpaid) if unpaid else max((date for date, _ in dates), default=None)


def _day(source: Source, row: Row) -> dt.date:
    for name in source.dates:
        if row.get(name):
            day: dt.date = row[name]
            return day
    created: dt.datetime = row["create_date"]
    return created.date()


def _period(source: Source, first: dt.date | None, last: dt.date | None) -> Domain:
    """The documents dated in the period: Tryton's domain of the first set date field, else the creation day."""
    domain: Domain = []
    if first is not None:
        domain.append(_dated(source, ">=", first, ">=", dt.datetime.combine(first, dt.time())))
    if last is not None:
        next_day = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
        domain.append(_dated(source, "<=", last, "<", next_day))
    return domain


def _dated(source: Source, operator: str, day: dt.date, created_operator: str, moment: dt.datetime) -> Domain:
    alternatives: list[Domain] = []
    unset: Domain = []
    for name in source.dates:
        alternatives.append([*unset, [name, operator, day]])
        unset = [*unset, [name, "=", None]]
    alternatives.append([*unset, ["create_date", created_operator, moment]])
    return ["OR", *alternatives]


def _owned(records: Records, party: int) -> Domain:
    return [["party", "=", party], ["company", "=", records.context["company"]]]


def _party(records: Records, request: d.ActorDocumentsRequest) -> int:
    (row,) = _parties(records, request, [])
    party: int = row["id"]
    return party


def _parties(records: Records, request: d.ActorDocumentsRequest, names: list[str]) -> list[Row]:
    """The request's party, if it exists and is of its actor type (archived ones too), with the fields ``names``."""
    key = request.erp_key
    if key.isdigit():
        domain = [*records.type_domain(request.actor_type), ["id", "=", int(key)], ["active", "in", [True, False]]]
        rows = records.rpc.search_read("party.party", domain, names, context=records.context)
        if rows:
            return rows
    raise NotFoundError(f"{request.actor_type.value} {key} does not exist in Tryton")


def _read(records: Records, wanted: list[tuple[Source, int]]) -> dict[tuple[str, int], d.Document]:
    """The documents ``wanted``, one call per model."""
    read: dict[tuple[str, int], d.Document] = {}
    for source in SOURCES:
        ids = [erp_id for of, erp_id in wanted if of is source]
        if ids:
            rows = records.rpc.read(source.model, ids, [*_TOTALS, *source.fields], context=records.context)
            read |= {(source.prefix, row["id"]): source.document(row) for row in rows}
    return read


def _document_key(key: str) -> tuple[Source, int]:
    prefix, _, number = key.partition("-")
    for source in SOURCES:
        if source.prefix == prefix and number.isdigit():
            return source, int(number)
    raise NotFoundError(f"{key!r} is not a document of this connector")


def _currency(row: Row) -> str:
    code = (row.get("currency.") or {}).get("code") or ""
    return str(code).upper()


def _fingerprint(request: d.DocumentsRequest) -> str:
    filters = request.model_dump(
        mode="json", include={"connection_id", "actor_type", "erp_key", "kinds", "states", "date_from", "date_to"}
    )
    return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]


def _cursor(position: Position, fingerprint: str) -> str:
    document = json.dumps({"after": list(position), "filters": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode()


def _position(cursor: str, fingerprint: str) -> Position:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        day, rank, erp_id = document["after"]
        filters = document["filters"]
    except (ValueError, TypeError, KeyError):
        raise ValidationError("the cursor is not one this connector gave") from None
    if filters != fingerprint or not isinstance(day, str) or not isinstance(rank, int) or not isinstance(erp_id, int):
        raise ValidationError("the cursor belongs to other filters or another actor")
    return (day, rank, erp_id)
