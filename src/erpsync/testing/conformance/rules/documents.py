"""Rules on the read-only ``documents`` capability: valid documents of the declared kinds, amounts that add up,
paging without gaps or repeats, filters honoured, lines that match their document, a balance that fits the
documents. A connector that does not declare the capability passes them as not applicable.

The protocol cannot create documents, so the kit looks for an actor that has some: the first of the declared actor
types' actors (``changes``) with at least ``MIN_DOCUMENTS``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from erpsync.errors import ErrorCode
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule, RuleFailedError

MIN_DOCUMENTS = 3
CANDIDATES = 50  # actors of each type looked at for documents
MAX_PAGES = 500
SMALL_PAGE = 2
_MEMO = "documents.subject"
_PAYABLE = (d.DocumentKind.INVOICE, d.DocumentKind.CREDIT_NOTE)


@dataclass(frozen=True)
class Subject:
    """An actor with documents, and all of them as the largest pages answered them."""

    capability: d.DocumentsCapability
    actor_type: m.ActorType
    erp_key: str
    documents: tuple[d.Document, ...]

    def payload(self, ctx: Context, **members: Any) -> dict[str, Any]:
        return ctx.on_connection(actor_type=self.actor_type, erp_key=self.erp_key, **members)


def _capability(ctx: Context) -> d.DocumentsCapability | None:
    return ctx.info().capabilities.documents


def _subject(ctx: Context) -> Subject:
    """The actor the rules read documents of, found once per run; ``CannotCheckError`` when none has enough."""
    if _MEMO not in ctx.memo:
        ctx.memo[_MEMO] = _find_subject(ctx)
    found = ctx.memo[_MEMO]
    if isinstance(found, str):
        raise CannotCheckError(found)
    assert isinstance(found, Subject)
    return found


def _find_subject(ctx: Context) -> Subject | str:
    capability = _capability(ctx)
    assert capability is not None
    types = [kind for kind in capability.actor_types if kind in ctx.actor_types()]
    for actor_type in types:
        payload = ctx.on_connection(actor_type=actor_type, since=None, field_keys=[], limit=CANDIDATES)
        for actor in ctx.request("changes", payload, m.ChangesResponse).actors:
            candidate = Subject(capability, actor_type, str(actor.erp_key), ())
            first = _page(ctx, candidate, limit=capability.max_page_size)
            if len(first.documents) >= MIN_DOCUMENTS:
                everything = traverse(ctx, candidate, limit=capability.max_page_size)
                return Subject(capability, actor_type, candidate.erp_key, tuple(everything))
    return (
        f"no actor among the first {CANDIDATES} of {[str(kind) for kind in types]} has {MIN_DOCUMENTS} documents "
        "or more: give one some in the ERP"
    )


def _page(ctx: Context, subject: Subject, *, limit: int, **members: Any) -> d.DocumentsResponse:
    page = ctx.request("documents", subject.payload(ctx, limit=limit, **members), d.DocumentsResponse)
    if len(page.documents) > min(limit, subject.capability.max_page_size):
        raise RuleFailedError(f"a page of limit {limit} held {len(page.documents)} documents")
    return page


def traverse(ctx: Context, subject: Subject, *, limit: int, **filters: Any) -> list[d.Document]:
    """Every document the pages answer, following ``next_cursor`` from the first page."""
    documents: list[d.Document] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = _page(ctx, subject, limit=limit, cursor=cursor, **filters)
        documents += page.documents
        cursor = page.next_cursor
        if cursor is None:
            return documents
    raise RuleFailedError(f"documents did not end within {MAX_PAGES} pages of {limit}")


def _not_applicable(ctx: Context, evidence: Evidence, *, member: str | None = None) -> bool:
    """Notes and answers True when the connector does not declare the capability (or its ``member``)."""
    capability = _capability(ctx)
    if capability is None:
        evidence.note("not applicable: the connector does not declare documents (info: capabilities.documents)")
        return True
    if member is not None and not getattr(capability, member):
        evidence.note(f"not applicable: the connector does not declare documents.{member}")
        return True
    return False


def _expect_refused(evidence: Evidence, answer_code: str, *, ok: bool, code: ErrorCode, what: str) -> None:
    evidence.expect(not ok and answer_code == code, f"{what}: expected ok false, {code}; got ok={ok} {answer_code!r}")


# --- rules --------------------------------------------------------------------------------------------------------


def check_documents_shape(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence):
        return
    subject = _subject(ctx)
    declared = set(subject.capability.kinds)
    for document in subject.documents:
        evidence.expect(document.kind in declared, f"{document.key}: kind {document.kind!s} is not declared")
    keys = [document.key for document in subject.documents]
    evidence.expect(len(set(keys)) == len(keys), f"document keys repeat: {keys}")
    missing = f"missing-{uuid.uuid4().hex}"
    answer = ctx.wire.call("documents", ctx.on_connection(actor_type=subject.actor_type, erp_key=missing))
    _expect_refused(evidence, answer.error_code, ok=answer.ok, code=ErrorCode.NOT_FOUND, what=f"actor {missing}")
    evidence.note(
        f"{subject.actor_type} {subject.erp_key}: {len(keys)} documents of kinds {sorted(map(str, declared))}"
    )


def check_documents_amounts(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence):
        return
    subject = _subject(ctx)
    for document in subject.documents:
        net, tax, gross = (d.amount(value) for value in (document.net, document.tax, document.gross))
        evidence.expect(gross == net + tax, f"{document.key}: gross {gross} is not net {net} + tax {tax}")
        payable = document.kind in _PAYABLE
        evidence.expect(
            (document.open_amount is not None) == payable,
            f"{document.key}: a {document.kind!s} with open_amount {document.open_amount!r}",
        )
    evidence.note(f"{len(subject.documents)} documents: amounts are decimal strings and gross = net + tax")


def check_documents_paging(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence):
        return
    subject = _subject(ctx)
    small = traverse(ctx, subject, limit=SMALL_PAGE)
    keys = [document.key for document in small]
    evidence.expect(len(set(keys)) == len(keys), f"pages of {SMALL_PAGE} repeat documents: {keys}")
    expected = sorted(document.key for document in subject.documents)
    evidence.expect(sorted(keys) == expected, f"pages of {SMALL_PAGE} answered {sorted(keys)}, not {expected}")
    days = [document.date for document in small]
    evidence.expect(days == sorted(days, reverse=True), f"not newest first: {[day.isoformat() for day in days]}")
    first = _page(ctx, subject, limit=SMALL_PAGE)
    total = first.total
    evidence.expect(total in (None, len(expected)), f"the first page says total {total}, the pages hold {len(keys)}")
    answer = ctx.wire.call("documents", subject.payload(ctx, cursor=f"not-a-cursor-{uuid.uuid4().hex}"))
    _expect_refused(evidence, answer.error_code, ok=answer.ok, code=ErrorCode.VALIDATION, what="a made-up cursor")
    evidence.note(f"{len(keys)} documents in pages of {SMALL_PAGE}, newest first, each once")


def check_documents_filters(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence):
        return
    subject = _subject(ctx)
    documents = subject.documents
    checks: list[tuple[str, dict[str, Any], set[str]]] = []
    for kind in sorted({document.kind for document in documents})[:2]:
        checks.append((f"kind {kind}", {"kinds": [kind]}, {doc.key for doc in documents if doc.kind == kind}))
    for state in sorted({document.state for document in documents})[:2]:
        checks.append((f"state {state}", {"states": [state]}, {doc.key for doc in documents if doc.state == state}))
    days = sorted({document.date for document in documents})
    low, high = days[len(days) // 4], days[(3 * len(days)) // 4]
    in_period = {doc.key for doc in documents if low <= doc.date <= high}
    checks.append((f"{low} to {high}", {"date_from": low.isoformat(), "date_to": high.isoformat()}, in_period))
    for what, filters, expected in checks:
        answered = {doc.key for doc in traverse(ctx, subject, limit=subject.capability.max_page_size, **filters)}
        evidence.expect(answered == expected, f"{what}: answered {sorted(answered)}, expected {sorted(expected)}")
    undeclared = [kind for kind in d.DocumentKind if kind not in subject.capability.kinds]
    if undeclared:
        answer = ctx.wire.call("documents", subject.payload(ctx, kinds=[undeclared[0]]))
        what = f"kind {undeclared[0]} (not declared)"
        _expect_refused(evidence, answer.error_code, ok=answer.ok, code=ErrorCode.VALIDATION, what=what)
    evidence.note(f"filters checked: {[what for what, _, _ in checks]}")


def check_document_lines(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence, member="lines"):
        return
    subject = _subject(ctx)
    for document in subject.documents[:3]:
        payload = subject.payload(ctx, document_key=document.key)
        lines = ctx.request("document_lines", payload, d.DocumentLinesResponse)
        evidence.expect(
            lines.document is not None and lines.document.key == document.key,
            f"{document.key}: the answer's document is {lines.document and lines.document.key!r}",
        )
        total = sum((d.amount(line.net) for line in lines.lines), Decimal(0))
        evidence.expect(
            total == d.amount(document.net), f"{document.key}: lines add up to {total}, net is {document.net}"
        )
    missing = f"missing-{uuid.uuid4().hex}"
    answer = ctx.wire.call("document_lines", subject.payload(ctx, document_key=missing))
    _expect_refused(evidence, answer.error_code, ok=answer.ok, code=ErrorCode.NOT_FOUND, what=f"document {missing}")
    evidence.note(f"lines of {min(3, len(subject.documents))} documents add up to their net")


def check_documents_balance(ctx: Context, evidence: Evidence) -> None:
    if _not_applicable(ctx, evidence, member="balance"):
        return
    subject = _subject(ctx)
    balance = ctx.request("balance", subject.payload(ctx), d.BalanceResponse).balance
    if not evidence.expect(balance is not None, "balance answered no balance"):
        return
    assert balance is not None
    overdue = d.amount(balance.overdue)
    evidence.expect(overdue >= 0, f"overdue {overdue} is negative")
    today = dt.date.today()
    open_invoices = [doc for doc in subject.documents if doc.kind == d.DocumentKind.INVOICE and _unpaid(doc)]
    late = [doc.key for doc in open_invoices if doc.due_date and doc.due_date < today - dt.timedelta(days=1)]
    maybe_late = [doc for doc in open_invoices if doc.due_date and doc.due_date <= today + dt.timedelta(days=1)]
    evidence.expect(not late or overdue > 0, f"invoices {late} are open past their due date, overdue is {overdue}")
    evidence.expect(bool(maybe_late) or overdue == 0, f"no open invoice is past its due date, overdue is {overdue}")
    missing = f"missing-{uuid.uuid4().hex}"
    answer = ctx.wire.call("balance", ctx.on_connection(actor_type=subject.actor_type, erp_key=missing))
    _expect_refused(evidence, answer.error_code, ok=answer.ok, code=ErrorCode.NOT_FOUND, what=f"actor {missing}")
    evidence.note(f"{balance.currency}: open {balance.open}, overdue {balance.overdue}; {len(late)} invoices late")


def _unpaid(document: d.Document) -> bool:
    return document.state == d.DocumentState.OPEN and d.amount(document.open_amount or "0") > 0


RULES = (
    Rule(
        "documents_shape",
        "documents answers valid documents of the declared kinds; an unknown actor is not_found",
        check_documents_shape,
    ),
    Rule(
        "documents_amounts",
        "document amounts are decimal strings, gross = net + tax, open_amount on invoices",
        check_documents_amounts,
    ),
    Rule(
        "documents_paging",
        "documents pages answer each document once, newest first; a bad cursor is validation",
        check_documents_paging,
    ),
    Rule(
        "documents_filters",
        "documents honours kinds, states and the period (both ends inclusive)",
        check_documents_filters,
    ),
    Rule(
        "document_lines", "document_lines answers the document and lines that add up to its net", check_document_lines
    ),
    Rule(
        "documents_balance",
        "balance fits the documents: overdue when an invoice is open past its due date",
        check_documents_balance,
    ),
)
