"""Settings -> Audit log (administrators): who changed what and when, filtered by who, what (action, object type) and
when (from, to), a page at a time, newest first; secrets were redacted when written and are again when read
(``audit.search``, as for the API and the command line)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from erpsync import audit
from erpsync.errors import ErpsyncError, ValidationError
from erpsync.http.deps import SessionDep
from erpsync.web import pages
from erpsync.web.routers import page_router
from erpsync.web.security import WebAdmin

AUDIT = "/settings/audit"
_FILTERS = ("who", "action", "target_type", "target_id", "since", "until")

router = page_router()


def _day(value: str, name: str) -> dt.datetime | None:
    """A date of the form (YYYY-MM-DD) as the start of that day, UTC."""
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise ValidationError(f"{name}: {value!r} is not a date such as 2026-01-31") from None


def _filter(values: dict[str, str], page: int) -> audit.AuditFilter:
    until = _day(values["until"], "to")
    return audit.AuditFilter(
        who=values["who"] or None,
        action=values["action"] or None,
        target_type=values["target_type"] or None,
        target_id=values["target_id"] or None,
        since=_day(values["since"], "from"),
        until=None if until is None else until + dt.timedelta(days=1),  # the "to" day is included
        page=page,
    )


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


@router.get(AUDIT)
def audit_page(request: Request, session: SessionDep, admin: WebAdmin) -> Response:
    values = {name: request.query_params.get(name, "").strip()[:64] for name in _FILTERS}
    context: dict[str, Any] = {
        "filters": values,
        "found": None,
        "error": None,
        "section": "settings",
        "settings_tab": "audit",
    }
    try:
        context["found"] = audit.search(session, _filter(values, _page_number(request)))
    except ErpsyncError as error:
        context["error"] = error.user_message
    except PydanticValidationError as error:
        context["error"] = "; ".join(str(e["msg"]) for e in error.errors())
    found = context["found"]
    if found is not None:
        query = {name: value for name, value in values.items() if value}
        pages_total = max(1, -(-found.total // found.per_page))
        context["pages_total"] = pages_total
        context["previous_url"] = f"{AUDIT}?{urlencode({**query, 'page': found.page - 1})}" if found.page > 1 else None
        more = found.page < pages_total
        context["next_url"] = f"{AUDIT}?{urlencode({**query, 'page': found.page + 1})}" if more else None
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if context["error"] else status.HTTP_200_OK
    return pages.render(request, "admin/audit.html", context, user=admin, status_code=code)
