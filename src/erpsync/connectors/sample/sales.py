"""The sample ERP's sales documents: quotes, orders, invoices and credit notes of a customer (optionally for one of
its projects) with their lines; the tables, and the reads behind the connector's documents operations.

Amounts are stored as decimal text with two decimals, computed with ``Decimal``, never floats.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from erpsync.protocol import documents as d
from erpsync.protocol.models import ActorType

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DOCUMENT_KEY_PREFIX = "D"
DEFAULT_CURRENCY = "DKK"  # an organisation without a currency of its own

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS documents (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " company TEXT NOT NULL REFERENCES companies (key), organisation_id INTEGER NOT NULL REFERENCES organisations (id)"
    " ON DELETE CASCADE, project_id INTEGER REFERENCES projects (id) ON DELETE SET NULL, kind TEXT NOT NULL,"
    " number TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL, currency TEXT NOT NULL, net TEXT NOT NULL,"
    " tax TEXT NOT NULL, gross TEXT NOT NULL, due_date TEXT, open_amount TEXT, reference TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS documents_organisation ON documents (organisation_id, date)",
    "CREATE INDEX IF NOT EXISTS documents_project ON documents (project_id, date)",
    "CREATE TABLE IF NOT EXISTS document_lines (document_id INTEGER NOT NULL REFERENCES documents (id)"
    " ON DELETE CASCADE, position INTEGER NOT NULL, description TEXT NOT NULL, product_code TEXT NOT NULL,"
    " quantity TEXT NOT NULL, unit TEXT NOT NULL, unit_price TEXT NOT NULL, net TEXT NOT NULL,"
    " PRIMARY KEY (document_id, position))",
)

_COLUMNS = "id, kind, number, date, state, currency, net, tax, gross, due_date, open_amount, reference"
_OWNER_COLUMN = {ActorType.PROJECT: "project_id"}  # every other actor type: the organisation


@dataclass(frozen=True)
class Line:
    description: str
    product_code: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT)

    def row(self) -> tuple[str, ...]:
        """The stored columns after the document and position."""
        quantity, price, net = str(self.quantity), str(self.unit_price), str(self.net)
        return (self.description, self.product_code, quantity, self.unit, price, net)


@dataclass(frozen=True)
class NewDocument:
    """A document to insert; its totals come from its lines and ``tax_rate``."""

    organisation_id: int
    kind: d.DocumentKind
    date: dt.date
    state: d.DocumentState
    currency: str
    lines: tuple[Line, ...]
    tax_rate: Decimal
    project_id: int | None = None
    due_date: dt.date | None = None
    paid: Decimal = ZERO
    reference: str = ""

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return (self.net * self.tax_rate).quantize(CENT)

    @property
    def open_amount(self) -> Decimal | None:
        if self.kind not in (d.DocumentKind.INVOICE, d.DocumentKind.CREDIT_NOTE):
            return None
        if self.state is not d.DocumentState.OPEN:
            return ZERO
        return self.net + self.tax - self.paid


_NUMBER_PREFIX = {
    d.DocumentKind.QUOTE: "Q",
    d.DocumentKind.ORDER: "SO",
    d.DocumentKind.INVOICE: "INV",
    d.DocumentKind.CREDIT_NOTE: "CN",
}


def insert(db: sqlite3.Connection, company: str, documents: Sequence[NewDocument]) -> None:
    for document in documents:
        cursor = db.execute(
            "INSERT INTO documents (company, organisation_id, project_id, kind, number, date, state, currency, net,"
            " tax, gross, due_date, open_amount, reference) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                company,
                document.organisation_id,
                document.project_id,
                document.kind.value,
                document.date.isoformat(),
                document.state.value,
                document.currency,
                str(document.net),
                str(document.tax),
                str(document.net + document.tax),
                None if document.due_date is None else document.due_date.isoformat(),
                None if document.open_amount is None else str(document.open_amount),
                document.reference,
            ),
        )
        number = f"{_NUMBER_PREFIX[document.kind]}-{document.date.year}-{cursor.lastrowid:06d}"
        db.execute("UPDATE documents SET number = ? WHERE id = ?", (number, cursor.lastrowid))
        db.executemany(
            "INSERT INTO document_lines (document_id, position, description, product_code, quantity, unit,"
            " unit_price, net) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(cursor.lastrowid, position, *line.row()) for position, line in enumerate(document.lines, start=1)],
        )


def documents_of(
    db: sqlite3.Connection, company: str, actor_type: ActorType, actor_id: int, filters: d.DocumentFilters
) -> list[d.Document]:
    """The actor's documents that pass ``filters`` (the SDK orders and pages them)."""
    sql = f"SELECT {_COLUMNS} FROM documents WHERE company = ? AND {_owner(actor_type)} = ?"  # noqa: S608
    params: list[str | int] = [company, actor_id]
    for column, values in (("kind", filters.kinds), ("state", filters.states)):
        if values is not None:
            sql += f" AND {column} IN ({', '.join('?' for _ in values)})"
            params += [value.value for value in values]
    for bound, day in ((">=", filters.date_from), ("<=", filters.date_to)):
        if day is not None:
            sql += f" AND date {bound} ?"
            params.append(day.isoformat())
    return [_document(row) for row in db.execute(sql, params)]


def document(db: sqlite3.Connection, company: str, actor_type: ActorType, actor_id: int, key: str) -> d.Document | None:
    """The document ``key`` if it belongs to the actor."""
    document_id = _document_id(key)
    sql = f"SELECT {_COLUMNS} FROM documents WHERE company = ? AND {_owner(actor_type)} = ? AND id = ?"  # noqa: S608
    row = db.execute(sql, (company, actor_id, document_id)).fetchone()
    return None if row is None else _document(row)


def lines_of(db: sqlite3.Connection, key: str) -> list[d.DocumentLine]:
    rows = db.execute(
        "SELECT description, product_code, quantity, unit, unit_price, net FROM document_lines"
        " WHERE document_id = ? ORDER BY position",
        (_document_id(key),),
    )
    return [
        d.DocumentLine(
            description=row[0], product_code=row[1], quantity=row[2], unit=row[3], unit_price=row[4], net=row[5]
        )
        for row in rows
    ]


def balance_of(
    db: sqlite3.Connection, company: str, actor_type: ActorType, actor_id: int, *, today: dt.date
) -> tuple[Decimal, Decimal]:
    """(open, overdue): open invoices less open credit notes; the part of the invoices past their due date."""
    sql = f"SELECT kind, due_date, open_amount FROM documents WHERE company = ? AND {_owner(actor_type)} = ?"  # noqa: S608
    sql += " AND state = 'open' AND kind IN ('invoice', 'credit_note')"
    open_total = overdue = ZERO
    for kind, due_date, open_amount in db.execute(sql, (company, actor_id)):
        amount = Decimal(open_amount)
        if kind == d.DocumentKind.CREDIT_NOTE.value:
            open_total -= amount
            continue
        open_total += amount
        if due_date is not None and dt.date.fromisoformat(due_date) < today:
            overdue += amount
    return open_total, overdue


def money(value: float | str) -> str:
    """A stored number as an amount with two decimals (``5000.0`` -> ``"5000.00"``)."""
    return str(Decimal(str(value)).quantize(CENT))


def document_key(document_id: int) -> str:
    return f"{DOCUMENT_KEY_PREFIX}{document_id}"


def _document_id(key: str) -> int:
    digits = key.removeprefix(DOCUMENT_KEY_PREFIX)
    return int(digits) if key.startswith(DOCUMENT_KEY_PREFIX) and digits.isdigit() else -1


def _owner(actor_type: ActorType) -> str:
    return _OWNER_COLUMN.get(actor_type, "organisation_id")


def _document(row: Sequence[str | int | None]) -> d.Document:
    identifier, kind, number, day, state, currency, net, tax, gross, due_date, open_amount, reference = row
    return d.Document(
        key=document_key(int(str(identifier))),
        kind=d.DocumentKind(str(kind)),
        number=str(number),
        date=dt.date.fromisoformat(str(day)),
        state=d.DocumentState(str(state)),
        currency=str(currency),
        net=str(net),
        tax=str(tax),
        gross=str(gross),
        due_date=None if due_date is None else dt.date.fromisoformat(str(due_date)),
        open_amount=None if open_amount is None else str(open_amount),
        reference=str(reference),
    )
