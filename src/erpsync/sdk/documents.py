"""For connectors with the ``documents`` capability: a request checked against what the connector declares, and
documents filtered, ordered and paged with an opaque cursor that needs no state on the connector."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from erpsync.errors import ConnectorError, ValidationError
from erpsync.protocol import documents as d


def check_request(capability: d.DocumentsCapability | None, request: d.ActorDocumentsRequest) -> d.DocumentsCapability:
    """The declared capability, or ``ValidationError`` for what it does not cover (an actor type, a kind, a period
    that ends before it starts); ``ConnectorError`` (the protocol's unsupported answer) when nothing is declared."""
    if capability is None:
        raise ConnectorError("this connector does not support documents")
    if request.actor_type not in capability.actor_types:
        raise ValidationError(f"this connector has no documents for actor type {request.actor_type.value}")
    if isinstance(request, d.DocumentsRequest):
        unknown = [kind.value for kind in request.kinds or () if kind not in capability.kinds]
        if unknown:
            raise ValidationError(f"this connector has no documents of kind {', '.join(unknown)}")
        if request.date_from and request.date_to and request.date_from > request.date_to:
            raise ValidationError("date_from is after date_to")
    return capability


def page_documents(
    documents: Iterable[d.Document], request: d.DocumentsRequest, *, capability: d.DocumentsCapability
) -> d.DocumentsResponse:
    """One page of ``documents`` (all of the request's actor) as the protocol orders them: newest ``date`` first, then
    ``key`` descending. The cursor holds the last document's position and the request's filters."""
    selected = sorted((doc for doc in documents if matches(doc, request)), key=order_key, reverse=True)
    fingerprint = _fingerprint(request)
    after = None if request.cursor is None else _position(request.cursor, fingerprint)
    remaining = selected if after is None else [doc for doc in selected if order_key(doc) < after]
    limit = min(request.limit, capability.max_page_size)
    page = remaining[:limit]
    more = len(remaining) > limit
    return d.DocumentsResponse(
        documents=page,
        next_cursor=_cursor(order_key(page[-1]), fingerprint) if more else None,
        total=len(selected) if request.cursor is None else None,
    )


def matches(document: d.Document, request: d.DocumentsRequest) -> bool:
    """Whether ``document`` passes the request's filters (kinds, states, the period, both ends inclusive)."""
    return (
        (request.kinds is None or document.kind in request.kinds)
        and (request.states is None or document.state in request.states)
        and (request.date_from is None or document.date >= request.date_from)
        and (request.date_to is None or document.date <= request.date_to)
    )


def order_key(document: d.Document) -> tuple[str, str]:
    return (document.date.isoformat(), document.key)


def _fingerprint(request: d.DocumentsRequest) -> str:
    filters = request.model_dump(mode="json", include={"connection_id", "actor_type", "erp_key", "kinds", "states"})
    filters["period"] = [_day(request.date_from), _day(request.date_to)]
    return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _cursor(position: tuple[str, str], fingerprint: str) -> str:
    document = json.dumps({"after": list(position), "filters": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode()


def _position(cursor: str, fingerprint: str) -> tuple[str, str]:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        day, key = document["after"]
        filters = document["filters"]
    except (ValueError, TypeError, KeyError):
        raise ValidationError("the cursor is not one this connector gave") from None
    if filters != fingerprint or not isinstance(day, str) or not isinstance(key, str):
        raise ValidationError("the cursor belongs to other filters or another actor")
    return (day, key)
