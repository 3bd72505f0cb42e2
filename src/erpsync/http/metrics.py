"""``GET /metrics``: the Prometheus scrape (``erpsync.metrics``), for the scraper's bearer token
(``ERPSYNC_METRICS_TOKEN``) or an administrator's; 401 for anyone else, so a hub on the internet shows nothing.

Public names: ``metrics_router()``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from erpsync.http.deps import DatabaseDep, SettingsDep, get_admin_user, get_current_user
from erpsync.metrics import exposition
from erpsync.storage.tables import utcnow
from erpsync.sync.hub_state import hub_state

_bearer = HTTPBearer(auto_error=False)


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    def metrics(
        database: DatabaseDep,
        settings: SettingsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Response:
        token = credentials.credentials if credentials else None
        scraper = settings.metrics_token
        if not (token and scraper and hmac.compare_digest(token.encode(), scraper.encode())):
            get_admin_user(get_current_user(database, token))  # 401 / 403 unless an administrator asks
        with database.read_session() as session:
            state = hub_state(session, utcnow())
        body, content_type = exposition(state)
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return router
