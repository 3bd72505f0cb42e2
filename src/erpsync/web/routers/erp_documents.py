"""The Documents part of the ERP tab: ``/{companies|persons|projects}/{id}/erp/{connection_id}/documents`` and a
document's lines (``.../documents/lines?key=``).

The tab loads the part by htmx after it has rendered, so an ERP that is slow or down never slows the rest of the
tab: the part then shows a message of its own. Like the rest of the tab it needs the ERP licence and a connection
the user can see (404 otherwise), checked before the connector is asked; what the connector answers, its refusals
included, is shown inside the part. Without htmx the part is a page of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from erpsync.errors import ErpsyncError, TransientError
from erpsync.protocol import documents as d
from erpsync.sync import erp_tab
from erpsync.web import pages, segments
from erpsync.web.error_pages import or_404
from erpsync.web.routers import page_router
from erpsync.web.routers.erp_tab import EngineDep, TargetDep
from erpsync.web.security import WebLicensed

router = page_router()

_KINDS = {kind.value: kind for kind in d.DocumentKind}
PERIODS = (30, 90, 365)  # "recent": the last so many days, or all


def _problem(request: Request, error: ErpsyncError) -> str:
    """What the part says when the connector did not answer (or refused): never a stack trace."""
    if isinstance(error, TransientError):  # not answering, busy, timed out: the ERP, not the request
        return pages.text(request, "documents.not_answering")
    return pages.error_text(request, error)


def _render(request: Request, user: Any, context: dict[str, Any]) -> Response:
    template = "crm/erp_documents.html" if pages.is_htmx(request) else "crm/erp_documents_page.html"
    return pages.render(request, template, context, user=user)


def read_documents(  # noqa: PLR0913 - the part's query, each parameter its own
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    target: TargetDep,
    connection_id: int,
    kind: Annotated[str, Query(max_length=32)] = "",
    open_only: Annotated[bool, Query(alias="open")] = False,
    days: Annotated[int, Query(ge=0, le=3650)] = 0,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    refresh: bool = False,
) -> Response:
    """A page of the linked actor's documents with the balance, filtered by kind and open ones only."""
    user_id, entity = user.id, target.entity
    or_404(lambda: erp_tab.check_access(engine, user_id, entity, connection_id))
    chosen = _KINDS.get(kind)
    since = dt.date.today() - dt.timedelta(days=days) if days in PERIODS else None
    filters = d.DocumentFilters(
        kinds=[chosen] if chosen else None, states=[d.DocumentState.OPEN] if open_only else None, date_from=since
    )
    base = target.url(f"/{connection_id}/documents")
    filter_params = {"kind": chosen.value if chosen else "", "days": str(days if since else 0)}
    filter_params |= {"open": "1"} if open_only else {}
    context: dict[str, Any] = {
        "connection_id": connection_id,
        "documents_url": base,
        "filters_query": urlencode(filter_params),
        "chosen_kind": chosen.value if chosen else "",
        "open_only": open_only,
        "days": days if since else 0,
        "periods": PERIODS,
        "start": start,
        "back_url": target.url(),
        "view": None,
        "error": None,
        "unsupported": False,
    }
    query = erp_tab.DocumentQuery(filters=filters, cursor=cursor)
    try:
        context["view"] = erp_tab.documents(engine, user_id, entity, connection_id, query, refresh=refresh)
    except erp_tab.DocumentsUnsupportedError:
        context["unsupported"] = True
    except ErpsyncError as error:
        context["error"] = _problem(request, error)
    return _render(request, user, context)


def read_lines(
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    target: TargetDep,
    connection_id: int,
    key: Annotated[str, Query(min_length=1, max_length=255)],
) -> Response:
    """One document's lines, shown under its row."""
    user_id, entity = user.id, target.entity
    or_404(lambda: erp_tab.check_access(engine, user_id, entity, connection_id))
    context: dict[str, Any] = {"lines_view": None, "error": None, "back_url": target.url()}
    try:
        context["lines_view"] = erp_tab.document_lines(engine, user_id, entity, connection_id, key)
    except ErpsyncError as error:
        context["error"] = _problem(request, error)
    template = "crm/erp_document_lines.html" if pages.is_htmx(request) else "crm/erp_document_lines_page.html"
    return pages.render(request, template, context, user=user)


segments.route_families(
    router,
    [
        ("GET", "/{entity_id}/erp/{connection_id}/documents", read_documents),
        ("GET", "/{entity_id}/erp/{connection_id}/documents/lines", read_lines),
    ],
)
