"""The read-only ``documents`` capability of protocol v1 (docs/protocol.md, "Documents"): an actor's quotes, orders,
invoices and credit notes, one document's lines, and the actor's balance.

Amounts are decimal strings with an ISO 4217 currency code, never JSON numbers: a float cannot hold 0.10 exactly.
``models.py`` registers the three operations in ``OPERATIONS`` and declares the capability in ``Capabilities``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from erpsync.protocol.models import MAX_LIMIT, ActorType, AnswerModel, ConnectionRequest, Envelope, Key, WireModel

AMOUNT_PATTERN = r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$"
"""A decimal amount: optional minus, no leading zeros, no exponent, at most 6 decimals (``"1250.00"``, ``"-3.5"``)."""

Amount = Annotated[str, Field(pattern=AMOUNT_PATTERN, max_length=32, description='a decimal string, e.g. "1250.00"')]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description='an ISO 4217 currency code, e.g. "DKK"')]
Cursor = Annotated[str, Field(min_length=1, max_length=1000)]
ErpLink = Annotated[
    str, Field(pattern=r"^https?://[^\s]+$", max_length=2000, description="http(s) only: the document in the ERP")
]
DEFAULT_PAGE = 50
MAX_LINES = 10_000  # most lines of one document in an answer


def amount(value: str) -> Decimal:
    """An ``Amount`` as a ``Decimal`` (it is one by its pattern)."""
    return Decimal(value)


class DocumentKind(StrEnum):
    """The fixed set of document kinds; connectors cannot invent others."""

    QUOTE = "quote"
    ORDER = "order"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentState(StrEnum):
    """Where a document is in its life, the same four words for every kind (docs/protocol.md says what each means)."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class DocumentsCapability(AnswerModel):
    """``capabilities.documents`` in ``info``: absent or null means the connector has no documents."""

    kinds: list[DocumentKind] = Field(min_length=1, max_length=len(DocumentKind))
    actor_types: list[ActorType] = Field(
        default_factory=lambda: [ActorType.CUSTOMER],
        min_length=1,
        max_length=len(ActorType),
        description="the actor types whose documents can be listed",
    )
    lines: bool = Field(default=False, description="whether document_lines is supported")
    balance: bool = Field(default=False, description="whether balance is supported")
    max_page_size: int = Field(default=100, ge=1, le=MAX_LIMIT, description="the most documents on one page")


# --- data ---------------------------------------------------------------------------------------------------------


class Document(AnswerModel):
    """One quote, order, invoice or credit note; amounts in ``currency``, as the document states them."""

    key: Key
    kind: DocumentKind
    number: str = Field(min_length=1, max_length=64)
    date: dt.date
    state: DocumentState
    currency: Currency
    net: Amount
    tax: Amount
    gross: Amount
    due_date: dt.date | None = Field(default=None, description="invoices and credit notes: when payment is due")
    open_amount: Amount | None = Field(
        default=None, description="invoices and credit notes: what is still to be paid; null for quotes and orders"
    )
    reference: str = Field(default="", max_length=255, description="the customer's reference or a short title")
    url: ErpLink | None = None


class DocumentLine(AnswerModel):
    """One line of a document: its ``net`` is in the document's currency."""

    description: str = Field(max_length=1000)
    product_code: str = Field(default="", max_length=255)
    quantity: Amount
    unit: str = Field(default="", max_length=32)
    unit_price: Amount
    net: Amount


class Balance(AnswerModel):
    """What an actor owes, in one currency: ``open`` all unpaid, ``overdue`` the part past its due date."""

    currency: Currency
    open: Amount
    overdue: Amount
    credit_limit: Amount | None = Field(default=None, description="null: no credit limit set")


# --- requests -----------------------------------------------------------------------------------------------------


class ActorDocumentsRequest(ConnectionRequest):
    """Names one actor: the documents, a document's lines and the balance belong to it."""

    actor_type: ActorType
    erp_key: Key


class DocumentFilters(WireModel):
    """Which documents ``documents`` answers: every filter given must hold; none given, all of the actor's."""

    kinds: list[DocumentKind] | None = Field(default=None, max_length=len(DocumentKind), description="null: all")
    states: list[DocumentState] | None = Field(default=None, max_length=len(DocumentState), description="null: all")
    date_from: dt.date | None = Field(default=None, description="documents dated on or after this day")
    date_to: dt.date | None = Field(default=None, description="documents dated on or before this day")


class DocumentsRequest(ActorDocumentsRequest, DocumentFilters):
    cursor: Cursor | None = Field(default=None, description="None: first page")
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_LIMIT)


class DocumentLinesRequest(ActorDocumentsRequest):
    document_key: Key


# --- responses ----------------------------------------------------------------------------------------------------


class DocumentsResponse(Envelope):
    documents: list[Document] = Field(default_factory=list, max_length=MAX_LIMIT)
    next_cursor: str | None = Field(default=None, max_length=1000, description="None: this was the last page")
    total: int | None = Field(default=None, ge=0, description="optional, on the first page: documents in all pages")


class DocumentLinesResponse(Envelope):
    document: Document | None = None
    lines: list[DocumentLine] = Field(default_factory=list, max_length=MAX_LINES)


class BalanceResponse(Envelope):
    balance: Balance | None = None


OPERATIONS: dict[str, tuple[type[WireModel], type[Envelope]]] = {
    "documents": (DocumentsRequest, DocumentsResponse),
    "document_lines": (DocumentLinesRequest, DocumentLinesResponse),
    "balance": (ActorDocumentsRequest, BalanceResponse),
}

SHARED_MODELS: dict[str, type[AnswerModel]] = {
    "document": Document,
    "document_line": DocumentLine,
    "balance": Balance,
    "documents_capability": DocumentsCapability,
}
