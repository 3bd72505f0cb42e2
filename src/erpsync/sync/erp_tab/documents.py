"""The ERP tab's Documents part: a linked company's (or project's) quotes, orders, invoices and credit notes, its
balance, and one document's lines, read live from the connector's ``documents`` capability (docs/protocol.md).

Like the rest of the tab: the user must see the connection (``NotFoundError`` otherwise), every connector call is
under the interactive time budget and the connector's bulkhead, and no transaction is open while it answers. What
the connector answered is kept ``CACHE_SECONDS`` per process, keyed by connection, actor and the query; ``refresh``
asks again. Who may see an actor's documents is checked before the cache is read, so the cache holds only ERP data.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from erpsync.errors import NotFoundError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.document_calls import DocumentCalls
from erpsync.sync.erp_tab.context import Context, EntityRef, interactive, open_context
from erpsync.sync.erp_tab.views import LinkView
from erpsync.sync.work import Engine

CACHE_SECONDS = 45.0
CACHE_ENTRIES = 1000
PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
T = TypeVar("T")


class DocumentsUnsupportedError(NotFoundError):
    """The connector has no documents for the linked actor's type (or none at all)."""


class DocumentQuery(BaseModel):
    """What the Documents part asks: the protocol's filters, a page (``cursor`` from the previous one) and its size."""

    model_config = ConfigDict(frozen=True)

    filters: d.DocumentFilters = Field(default_factory=d.DocumentFilters)
    cursor: str | None = Field(default=None, max_length=1000)
    limit: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class DocumentRow(d.Document):
    """A document as the tab shows it: ``overdue`` when open and unpaid past its due date (the hub's day)."""

    overdue: bool = False

    @classmethod
    def of(cls, document: d.Document, *, today: dt.date) -> DocumentRow:
        unpaid = document.open_amount is not None and d.amount(document.open_amount) > 0
        late = document.due_date is not None and document.due_date < today
        overdue = document.state == d.DocumentState.OPEN and unpaid and late
        return cls(**document.model_dump(), overdue=overdue)


class DocumentsView(BaseModel):
    """One page of a linked actor's documents, and on the first page its balance (when the connector has one)."""

    model_config = ConfigDict(frozen=True)

    connection_id: int
    connection_name: str
    actor_type: m.ActorType
    erp_key: str
    kinds: list[d.DocumentKind] = Field(description="the kinds the connector has")
    lines: bool = Field(description="whether a document's lines can be asked for")
    documents: list[DocumentRow]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: this was the last")
    total: int | None = Field(description="documents in all pages, when the connector says")
    balance: d.Balance | None
    overdue: bool = Field(description="the balance has an amount overdue")
    read_at: dt.datetime = Field(description="when the connector answered (the part is cached for a short while)")


class DocumentLinesView(BaseModel):
    model_config = ConfigDict(frozen=True)

    document: DocumentRow
    lines: list[d.DocumentLine]


# --- use cases ----------------------------------------------------------------------------------------------------


@interactive
def documents(
    engine: Engine,
    user_id: int,
    entity: EntityRef,
    connection_id: int,
    query: DocumentQuery | None = None,
    *,
    refresh: bool = False,
) -> DocumentsView:
    """A page of the documents of the actor the entity is linked to in the connection."""
    asked = query or DocumentQuery()
    context = open_context(engine, user_id, entity, connection_id)
    calls, capability, link = _documents_of(context)
    key = ("documents", context.connection.uuid, link.actor_type, link.erp_key, asked.model_dump_json())

    def read() -> DocumentsView:
        page = calls.documents(
            connection_id=context.connection.uuid,
            actor_type=link.actor_type,
            erp_key=link.erp_key,
            filters=asked.filters,
            cursor=asked.cursor,
            limit=asked.limit,
        )
        balance = None
        if capability.balance and asked.cursor is None:
            owed = calls.balance(
                connection_id=context.connection.uuid, actor_type=link.actor_type, erp_key=link.erp_key
            )
            balance = owed.balance
        today = dt.date.today()
        return DocumentsView(
            connection_id=context.connection.id,
            connection_name=context.connection.name,
            actor_type=link.actor_type,
            erp_key=link.erp_key,
            kinds=list(capability.kinds),
            lines=capability.lines,
            documents=[DocumentRow.of(document, today=today) for document in page.documents],
            next_cursor=page.next_cursor,
            total=page.total,
            balance=balance,
            overdue=balance is not None and d.amount(balance.overdue) > 0,
            read_at=dt.datetime.now(dt.UTC),
        )

    return recent.get(key, read, refresh=refresh)


@interactive
def document_lines(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, document_key: str, *, refresh: bool = False
) -> DocumentLinesView:
    """One document of the linked actor with its lines (``NotFoundError`` for a document of another actor)."""
    context = open_context(engine, user_id, entity, connection_id)
    calls, capability, link = _documents_of(context)
    if not capability.lines:
        raise DocumentsUnsupportedError(f"connection {context.connection.name!r} has no document lines")
    key = ("lines", context.connection.uuid, link.actor_type, link.erp_key, document_key)

    def read() -> DocumentLinesView:
        answer = calls.document_lines(
            connection_id=context.connection.uuid,
            actor_type=link.actor_type,
            erp_key=link.erp_key,
            document_key=document_key,
        )
        if answer.document is None:
            raise NotFoundError(f"no document {document_key}")
        return DocumentLinesView(document=DocumentRow.of(answer.document, today=dt.date.today()), lines=answer.lines)

    return recent.get(key, read, refresh=refresh)


def check_access(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> None:
    """``NotFoundError`` unless the user may use the connection on this entity: the refusal a page gives before it
    shows what the connector answered (its own not_found included) as a message."""
    open_context(engine, user_id, entity, connection_id)


def _documents_of(context: Context) -> tuple[DocumentCalls, d.DocumentsCapability, LinkView]:
    """The calls, the capability and the link, when the connector has documents for the linked actor's type."""
    link = context.require_link()
    if link.actor_type not in context.pass_of:
        raise DocumentsUnsupportedError(f"connection {context.connection.name!r} does not sync ERP {link.actor_type}")
    calls = DocumentCalls(context.pass_of[link.actor_type].client)
    capability = calls.capability
    if capability is None or link.actor_type not in capability.actor_types:
        raise DocumentsUnsupportedError(f"connection {context.connection.name!r} has no documents of {link.actor_type}")
    return calls, capability, link


# --- the short cache ----------------------------------------------------------------------------------------------


class RecentAnswers:
    """What connectors answered, for ``seconds``, at most ``entries`` of them (the oldest go first); per process."""

    def __init__(self, *, seconds: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES) -> None:
        self.seconds = seconds
        self._entries = entries
        self._answers: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], T], *, refresh: bool = False) -> T:
        """The answer under ``key`` while fresh (unless ``refresh``), else ``read()``'s, kept (failures are not)."""
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(key)
        if kept is not None and not refresh and now - kept[0] < self.seconds:
            answer: T = kept[1]
            return answer
        fresh = read()
        with self._lock:
            self._answers[key] = (time.monotonic(), fresh)
            self._answers.move_to_end(key)
            while len(self._answers) > self._entries:
                self._answers.popitem(last=False)
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


recent = RecentAnswers()
