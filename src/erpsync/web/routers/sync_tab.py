"""Settings and maintenance -> Quote/Sync -> Sync tab: the connectors and ERP connections lists (administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from erpsync.api.deps import SessionDep
from erpsync.sync import connections, connectors
from erpsync.web import pages
from erpsync.web.routers import page_router
from erpsync.web.security import WebAdmin

SYNC_TAB = "/settings/sync"

router = page_router(SYNC_TAB)


@router.get("")
def sync_tab(
    request: Request, session: SessionDep, admin: WebAdmin, deleted: Annotated[bool, Query()] = False
) -> Response:
    context = {
        "connectors": connectors.list_connectors(session),
        "connections": connections.visible_connections(session, admin, deleted=deleted),
        "deleted": deleted,
        "section": "settings",
    }
    return pages.render(request, "sync/tab.html", context, user=admin)
