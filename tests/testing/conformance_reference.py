"""A small in-memory connector that keeps every rule of protocol v1: the kit's known-good subject.

Its search matching is written here independently of the kit's ``semantics`` module, so each checks the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from erpsync.errors import AuthError, ConflictError, NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse
from erpsync.sdk import documents as sdk_documents
from erpsync.sdk.connector import Connector
from erpsync.sdk.language import Translations
from erpsync.sdk.watch import ChangeSignal, watch_answer

DATABASE, PASSWORD = "erp", "right-password"
CONFIG: m.Config = {"database": DATABASE, "password": PASSWORD}
COUNTRIES = {"DK": "Denmark", "SE": "Sweden", "NO": "Norway"}
LANGUAGES = {"en": "English", "da": "Dansk"}  # a config list: answered before any connection exists
NEGATED = {
    m.Operator.NOT_BEGINS,
    m.Operator.NOT_CONTAINS,
    m.Operator.NOT_ENDS,
    m.Operator.IS_NOT,
    m.Operator.NE,
    m.Operator.NOT_ONE_OF,
}
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _meta(key: str, kind: m.FieldType, **extra: Any) -> m.FieldMeta:
    return m.FieldMeta(key=key, label=key.title(), type=kind, **extra)


CUSTOMER_FIELDS = [
    _meta("name", m.FieldType.TEXT, access=m.Access.MANDATORY, max_length=200),
    _meta("email", m.FieldType.TEXT),
    _meta("code", m.FieldType.TEXT, access=m.Access.READ_ONLY),
    _meta("employees", m.FieldType.INTEGER),
    _meta("turnover", m.FieldType.DOUBLE),
    _meta("vip", m.FieldType.CHECKBOX),
    _meta("country", m.FieldType.LIST, list_name="countries"),
    _meta("founded", m.FieldType.DATETIME),
]
PERSON_FIELDS = [_meta("name", m.FieldType.TEXT, access=m.Access.MANDATORY), _meta("email", m.FieldType.TEXT)]
FIELDS = {m.ActorType.CUSTOMER: CUSTOMER_FIELDS, m.ActorType.PERSON: PERSON_FIELDS}
TEXTS = Translations(
    "en",
    {
        "da": {
            "Name": "Navn",
            "Code": "Kode",
            "Employees": "Ansatte",
            "Turnover": "Omsætning",
            "Country": "Land",
            "Founded": "Grundlagt",
            "Password": "Adgangskode",
            "Language": "Sprog",
            "Denmark": "Danmark",
            "Sweden": "Sverige",
            "Norway": "Norge",
        }
    },
)
"""Labels and list items in English and Danish."""


@dataclass
class Record:
    actor_type: m.ActorType
    erp_key: str
    last_modified: str
    fields: dict[str, m.Value]
    parent_key: str | None = None
    deleted: bool = False


@dataclass
class Store:
    """The ERP: records by key, a clock that stamps every write, idempotency keys seen."""

    records: dict[str, Record] = field(default_factory=dict)
    created_by_key: dict[str, str] = field(default_factory=dict)
    clock: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    signal: ChangeSignal = field(default_factory=ChangeSignal)

    def stamp(self) -> str:
        """Called under ``lock``: a woken watch looks once the write is done."""
        self.clock += 1
        self.signal.changed()
        return self.latest()

    def latest(self) -> str:
        """The stamp of the latest write: every later write is stamped greater."""
        return (_EPOCH + timedelta(microseconds=self.clock)).isoformat()


class ReferenceConnector(Connector):
    name = "reference"
    version = "1.0.0"
    capabilities = m.Capabilities(
        create={m.ActorType.CUSTOMER: True, m.ActorType.PERSON: True},
        max_page_size=100,
        languages=TEXTS.languages,
        documents=d.DocumentsCapability(kinds=list(d.DocumentKind), lines=True, balance=True, max_page_size=5),
        watch=True,
    )

    def __init__(self) -> None:
        super().__init__()
        self.store = Store()

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(
            fields=TEXTS.fields(
                [
                    _meta("database", m.FieldType.TEXT, access=m.Access.MANDATORY),
                    _meta("password", m.FieldType.PASSWORD, access=m.Access.MANDATORY),
                    _meta("language", m.FieldType.LIST, list_name="languages"),
                ]
            )
        )

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        if request.config.get("database") != DATABASE:
            raise ValidationError(f"there is no database {request.config.get('database')!r}")
        if request.config.get("password") != PASSWORD:
            raise AuthError("the password is wrong")
        return m.Envelope()

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        self.config(request.connection_id)
        return m.ActorTypesResponse(actor_types=list(FIELDS))

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        return m.FieldsResponse(fields=TEXTS.fields(self._fields(request)))

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        return m.SearchableFieldsResponse(field_keys=[meta.key for meta in self._fields(request)])

    def _fields(self, request: m.ActorTypeRequest) -> list[m.FieldMeta]:
        self.config(request.connection_id)
        if request.actor_type not in FIELDS:
            raise ValidationError(f"this ERP has no {request.actor_type}")
        return FIELDS[request.actor_type]

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        self.check_field_keys(request.actor_type, request.field_keys)
        self._fields(request)
        with self.store.lock:
            found = [self._live(request.actor_type, key) for key in request.erp_keys]
        actors = [self.to_actor(record, request.field_keys) for record in found if record]
        missing = [key for key, record in zip(request.erp_keys, found, strict=True) if record is None]
        return m.GetActorsResponse(actors=actors, not_found=missing)

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        types = {meta.key: meta.type for meta in self._fields(request)}
        unknown = [r.field for r in request.restrictions if r.field not in types]
        if unknown:
            raise ValidationError(f"unknown fields {unknown}")
        with self.store.lock:
            hits = [
                record
                for record in self._all(request.actor_type)
                if all(self.satisfies(record.fields.get(r.field), types[r.field], r) for r in request.restrictions)
            ]
        return m.ActorsResponse(actors=[self.to_actor(record, request.field_keys) for record in hits[: request.limit]])

    def satisfies(self, value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
        return _satisfies(value, kind, restriction)

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return self.search_where(request, lambda record: True)

    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        return self.search_where(request, lambda record: record.parent_key == request.parent_key)

    def search_where(
        self, request: m.SearchActorsRequest | m.SearchByParentRequest, where: Callable[[Record], bool]
    ) -> m.ActorsResponse:
        self._fields(request)
        text = request.text.lower()
        with self.store.lock:
            hits = [
                record
                for record in self._all(request.actor_type)
                if text in str(record.fields.get("name", "")).lower() and where(record)
            ]
        return m.ActorsResponse(actors=[self.to_actor(record, request.field_keys) for record in hits[: request.limit]])

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        self._fields(request)
        self.check_field_keys(request.actor_type, request.field_keys)
        if request.cursor is not None and "|" not in request.cursor:
            raise ValidationError(f"cursor {request.cursor!r} is not one this connector gave")
        after = tuple(request.cursor.split("|", 1)) if request.cursor else None
        since, resumed = _since(request.since)
        with self.store.lock:
            everything = sorted(
                (record.last_modified, record.erp_key)
                for record in self.store.records.values()
                if record.actor_type == request.actor_type
            )
            pending = [p for p in everything if (p[0] > since if resumed else p[0] >= since)]
            pending = [position for position in pending if after is None or position > after]
            page = [self.store.records[key] for _, key in pending[: request.limit]]
            latest = self.store.latest()
        more = len(pending) > request.limit
        answer = self.changes_page(
            page, request, next_cursor=f"{page[-1].last_modified}|{page[-1].erp_key}" if more else None
        )
        if more:
            return answer
        return answer.model_copy(update={"next_since": f"after:{latest}" if latest else request.since})

    def changes_page(
        self, page: list[Record], request: m.ChangesRequest, *, next_cursor: str | None
    ) -> m.ChangesResponse:
        return m.ChangesResponse(
            actors=[self.to_actor(record, request.field_keys) for record in page if not record.deleted],
            deleted=[record.erp_key for record in page if record.deleted],
            next_cursor=next_cursor,
        )

    def watch(self, request: WatchRequest) -> WatchResponse:
        """Positions are the store's stamps; a watch wakes on each write (``Store.stamp``)."""
        self.config(request.connection_id)
        since = request.since or self.store.latest()
        found = self.store.signal.wait_for(lambda: self.changed_after(since, request), request)
        return found or WatchResponse(next_since=since)

    def changed_after(self, since: str, request: WatchRequest) -> WatchResponse | None:
        with self.store.lock:
            changed = sorted(
                (record.last_modified, record.actor_type, record.erp_key)
                for record in self.store.records.values()
                if record.actor_type in request.actor_types and self.changed_since(record.last_modified, since)
            )
            latest = self.store.latest()
        if not changed:
            return None
        kept = changed[: request.limit]
        more = len(changed) > request.limit
        answer = watch_answer([(kind, key) for _, kind, key in kept], limit=request.limit, next_since=latest)
        return answer.model_copy(update={"more": more, "next_since": kept[-1][0] if more else latest})

    def changed_since(self, stamp: str, since: str) -> bool:
        return stamp > since

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        actor = request.actor
        self._check_values(actor.actor_type, actor.fields, creating=True)
        if actor.actor_type == m.ActorType.PERSON and self._live(m.ActorType.CUSTOMER, actor.parent_key or "") is None:
            raise ValidationError("a person needs an existing customer as parent")
        with self.store.lock:
            known = self.store.created_by_key.get(request.idempotency_key)
            record = self.store.records[known] if known else self.insert(actor, request.idempotency_key)
        return m.ActorResponse(actor=self.to_actor(record, list(record.fields)))

    def insert(self, actor: m.Actor, idempotency_key: str) -> Record:
        erp_key = f"K{len(self.store.records) + 1}"
        values = {**actor.fields, "code": f"C-{erp_key}"} if actor.actor_type == m.ActorType.CUSTOMER else actor.fields
        record = Record(actor.actor_type, erp_key, self.store.stamp(), dict(values), actor.parent_key)
        self.store.records[erp_key] = record
        self.store.created_by_key[idempotency_key] = erp_key
        return record

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        self.config(request.connection_id)
        saved, errors = [], []
        for index, actor in enumerate(request.actors):
            try:
                saved.append(self.save_one(actor))
            except (NotFoundError, ValidationError, ConflictError) as error:
                errors.append(
                    m.ActorError(erp_key=actor.erp_key, index=index, error_code=error.code, message=str(error))
                )
        return m.SaveActorsResponse(actors=saved, errors=errors)

    def save_one(self, actor: m.Actor) -> m.Actor:
        self._check_values(actor.actor_type, actor.fields, creating=False)
        with self.store.lock:
            record = self._live(actor.actor_type, actor.erp_key or "")
            if record is None:
                raise NotFoundError(f"no {actor.actor_type} {actor.erp_key}")
            if actor.last_modified is not None and actor.last_modified != record.last_modified:
                raise ConflictError(f"{actor.erp_key} changed in the ERP since it was read")
            parent = self.parent_of(actor) if actor.parent_given else record.parent_key
            record.fields.update(actor.fields)
            record.parent_key = parent
            record.last_modified = self.store.stamp()
        return self.to_actor(record, list(record.fields))

    def parent_of(self, actor: m.Actor) -> str | None:
        if actor.parent_key is None and actor.parent_type is None:
            return None
        if (
            actor.parent_type != m.ActorType.CUSTOMER
            or self._live(m.ActorType.CUSTOMER, actor.parent_key or "") is None
        ):
            raise ValidationError(f"no customer {actor.parent_key} to be the parent")
        return actor.parent_key

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        if request.list_name != "languages":
            self.config(request.connection_id)
        lists = {"languages": LANGUAGES, "countries": COUNTRIES}
        if request.list_name not in lists:
            raise ValidationError(f"no list {request.list_name!r}")
        labels = lists[request.list_name]
        keys = request.keys if request.keys is not None else list(labels)
        return m.ListItemsResponse(items=TEXTS.items(m.ListItem(key=k, label=labels[k]) for k in keys if k in labels))

    # --- documents: every customer has the same few, dated back from today ----------------------------------------

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        capability = sdk_documents.check_request(self.capabilities.documents, request)
        return self.documents_page(list(self.documents_of(request).values()), request, capability)

    def documents_page(
        self, documents: list[d.Document], request: d.DocumentsRequest, capability: d.DocumentsCapability
    ) -> d.DocumentsResponse:
        return sdk_documents.page_documents(documents, request, capability=capability)

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        documents = self.documents_of(request)
        if request.document_key not in documents:
            raise NotFoundError(f"{request.erp_key} has no document {request.document_key}")
        return d.DocumentLinesResponse(document=documents[request.document_key], lines=list(LINES))

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        documents = self.documents_of(request).values()
        unpaid = [doc for doc in documents if doc.state == d.DocumentState.OPEN and doc.open_amount]
        owed = [doc for doc in unpaid if doc.kind == d.DocumentKind.INVOICE]
        late = [doc for doc in owed if doc.due_date and doc.due_date < date.today()]
        credit = sum(Decimal(doc.open_amount or 0) for doc in unpaid if doc.kind == d.DocumentKind.CREDIT_NOTE)
        open_total = sum(Decimal(doc.open_amount or 0) for doc in owed) - credit
        overdue = sum(Decimal(doc.open_amount or 0) for doc in late)
        return d.BalanceResponse(balance=d.Balance(currency="DKK", open=str(open_total), overdue=str(overdue)))

    def documents_of(self, request: d.ActorDocumentsRequest) -> dict[str, d.Document]:
        """The customer's documents by key; the same for every customer, with keys of its own."""
        sdk_documents.check_request(self.capabilities.documents, request)
        self.config(request.connection_id)
        if self._live(request.actor_type, request.erp_key) is None:
            raise NotFoundError(f"no {request.actor_type} {request.erp_key}")
        documents = [_reference_document(request.erp_key, index, plan) for index, plan in enumerate(DOCUMENT_PLAN)]
        return {document.key: document for document in documents}

    def delete(self, actor_type: m.ActorType, erp_key: str) -> None:
        """What deleting in the ERP itself looks like: a tombstone the next ``changes`` reports."""
        with self.store.lock:
            record = self.store.records[erp_key]
            record.deleted, record.last_modified = True, self.store.stamp()

    def to_actor(self, record: Record, field_keys: list[str]) -> m.Actor:
        parent_type = m.ActorType.CUSTOMER if record.parent_key else None
        fields = {key: record.fields.get(key) for key in field_keys}
        return m.Actor(
            actor_type=record.actor_type,
            erp_key=record.erp_key,
            last_modified=record.last_modified,
            parent_type=parent_type,
            parent_key=record.parent_key,
            fields=fields,
        )

    def _live(self, actor_type: m.ActorType, erp_key: str) -> Record | None:
        record = self.store.records.get(erp_key)
        return record if record and record.actor_type == actor_type and not record.deleted else None

    def _all(self, actor_type: m.ActorType) -> list[Record]:
        return [
            record for record in self.store.records.values() if record.actor_type == actor_type and not record.deleted
        ]

    def check_field_keys(self, actor_type: m.ActorType, field_keys: list[str]) -> None:
        unknown = sorted(set(field_keys) - {meta.key for meta in FIELDS.get(actor_type, [])})
        if unknown:
            raise ValidationError(f"unknown fields: {unknown}")

    def _check_values(self, actor_type: m.ActorType, values: dict[str, m.Value], *, creating: bool) -> None:
        self.check_known(actor_type, values)
        self.check_writable(actor_type, values)
        self.check_mandatory(actor_type, values, creating=creating)

    def check_known(self, actor_type: m.ActorType, values: dict[str, m.Value]) -> None:
        unknown = sorted(set(values) - {meta.key for meta in FIELDS[actor_type]})
        if unknown:
            raise ValidationError(f"unknown fields: {unknown}")

    def check_writable(self, actor_type: m.ActorType, values: dict[str, m.Value]) -> None:
        read_only = sorted(meta.key for meta in FIELDS[actor_type] if meta.access == m.Access.READ_ONLY)
        written = [key for key in read_only if key in values]
        if written:
            raise ValidationError(f"read-only fields: {written}")

    def check_mandatory(self, actor_type: m.ActorType, values: dict[str, m.Value], *, creating: bool) -> None:
        mandatory = [meta.key for meta in FIELDS[actor_type] if meta.access == m.Access.MANDATORY]
        blank = [key for key in mandatory if (creating or key in values) and values.get(key) in (None, "")]
        if blank:
            raise ValidationError(f"mandatory fields blank: {blank}")


def _satisfies(value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
    operator, operands = restriction.operator, restriction.values
    if operator == m.Operator.ONE_OF:
        return value in operands
    if operator == m.Operator.NOT_ONE_OF:
        return value not in operands
    if value is None or value == "":
        return operator in NEGATED
    key = _sort_key(kind)
    left, right = key(value), [key(operand) for operand in operands]
    tests: dict[m.Operator, Callable[[], bool]] = {
        m.Operator.BEGINS: lambda: str(left).startswith(str(right[0])),
        m.Operator.ENDS: lambda: str(left).endswith(str(right[0])),
        m.Operator.CONTAINS: lambda: str(right[0]) in str(left),
        m.Operator.NOT_BEGINS: lambda: not str(left).startswith(str(right[0])),
        m.Operator.NOT_ENDS: lambda: not str(left).endswith(str(right[0])),
        m.Operator.NOT_CONTAINS: lambda: str(right[0]) not in str(left),
        m.Operator.EQ: lambda: left == right[0],
        m.Operator.NE: lambda: left != right[0],
        m.Operator.IS_NOT: lambda: left != right[0],
        m.Operator.GT: lambda: left > right[0],
        m.Operator.AFTER: lambda: left > right[0],
        m.Operator.LT: lambda: left < right[0],
        m.Operator.BEFORE: lambda: left < right[0],
        m.Operator.GE: lambda: left >= right[0],
        m.Operator.AFTER_OR_EQUAL: lambda: left >= right[0],
        m.Operator.LE: lambda: left <= right[0],
        m.Operator.BEFORE_OR_EQUAL: lambda: left <= right[0],
        m.Operator.BETWEEN: lambda: right[0] <= left <= right[1],
    }
    return bool(tests[operator]())


def _sort_key(kind: m.FieldType) -> Callable[[m.Value], Any]:
    if kind == m.FieldType.TEXT:
        return lambda value: str(value).lower()
    if kind == m.FieldType.DATETIME:
        return lambda value: datetime.fromisoformat(str(value))
    return lambda value: value


def _since(since: str | None) -> tuple[str, bool]:
    """The stamp ``since`` names and whether it is a position to resume after (a ``next_since`` given before)."""
    if since is not None and since.startswith("after:"):
        return since.removeprefix("after:"), True
    return since or "", False


# kind, days before today, state, days from the date to the due date (None: not payable)
DOCUMENT_PLAN = (
    (d.DocumentKind.QUOTE, 3, d.DocumentState.OPEN, None),
    (d.DocumentKind.ORDER, 10, d.DocumentState.OPEN, None),
    (d.DocumentKind.ORDER, 10, d.DocumentState.CLOSED, None),
    (d.DocumentKind.INVOICE, 2, d.DocumentState.OPEN, 30),
    (d.DocumentKind.INVOICE, 50, d.DocumentState.OPEN, 30),  # overdue
    (d.DocumentKind.INVOICE, 200, d.DocumentState.CLOSED, 30),
    (d.DocumentKind.CREDIT_NOTE, 40, d.DocumentState.CLOSED, 0),
    (d.DocumentKind.INVOICE, 120, d.DocumentState.CANCELLED, 30),
)
LINES = (
    d.DocumentLine(description="Widgets", quantity="2", unit_price="10.00", net="20.00"),
    d.DocumentLine(description="Freight", quantity="1", unit_price="5.50", net="5.50"),
)
NET, TAX = Decimal("25.50"), Decimal("6.38")


def _reference_document(
    erp_key: str, index: int, plan: tuple[d.DocumentKind, int, d.DocumentState, int | None]
) -> d.Document:
    kind, age, state, due_in = plan
    day = date.today() - timedelta(days=age)
    gross = NET + TAX
    payable = due_in is not None
    return d.Document(
        key=f"{erp_key}-D{index}",
        kind=kind,
        number=f"{kind.value[:3].upper()}-{index:04d}",
        date=day,
        state=state,
        currency="DKK",
        net=str(NET),
        tax=str(TAX),
        gross=str(gross),
        due_date=day + timedelta(days=due_in) if payable else None,
        open_amount=(str(gross) if state == d.DocumentState.OPEN else "0") if payable else None,
        url=f"https://erp.example/documents/{erp_key}-{index}",
    )
