"""``GET /metrics``: the Prometheus scrape (``erpsync.metrics``), for the scraper's bearer token
(``ERPSYNC_METRICS_TOKEN``) or an administrator's; 401 for anyone else, so a hub on the internet shows nothing.

Public names: ``metrics_router()``.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from erpsync.http.deps import BearerToken, DatabaseDep, SettingsDep, get_admin_user, get_current_user
from erpsync.metrics import exposition
from erpsync.storage.db import Database
from erpsync.storage.tables import utcnow
from erpsync.sync.hub_state import hub_state


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics(
        request: Request,
        database: DatabaseDep,
        settings: SettingsDep,
        token: BearerToken,
    ) -> Response:
        scraper = settings.metrics_token
        if not (token and scraper and hmac.compare_digest(token.encode(), scraper.encode())):
            await get_admin_user(await get_current_user(request, database, token))  # 401 / 403 unless an admin
        body, content_type = await run_in_threadpool(_scrape, database)
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return router


def _scrape(database: Database) -> tuple[bytes, str]:
    with database.read_session() as session:
        state = hub_state(session, utcnow())
    return exposition(state)
