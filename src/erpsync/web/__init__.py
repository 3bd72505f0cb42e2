"""The web UI: server-rendered pages (Jinja2 + htmx) over the same service layer as the REST API.

``install(app, settings)`` adds the session cookie, the static files, the page routes and the pages' error handlers
to the hub's FastAPI app (the composition root ``erpsync.app`` calls it); the API under ``/api/v1`` is left as it is.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from erpsync.settings import Settings
from erpsync.web import error_pages, security
from erpsync.web.routers import (
    audit_log,
    auth,
    conflicts,
    crm,
    crm_merge,
    erp_documents,
    erp_tab,
    record_history,
    sync_auto_create,
    sync_configure,
    sync_connections,
    sync_connectors,
    sync_filters,
    sync_health,
    sync_import,
    sync_jobs,
    sync_operations,
    sync_tab,
    sync_undo,
    users,
)
from erpsync.web.speaking import SpeakingMiddleware

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SpeakingMiddleware)  # added first: it runs inside the session middleware and reads it
    app.add_middleware(
        SessionMiddleware,
        secret_key=security.session_signing_key(settings),
        session_cookie=security.SESSION_COOKIE,
        max_age=security.SESSION_MAX_AGE_SECONDS,
        same_site="lax",
        https_only=settings.env == "prod",
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """The icon, for the pages that name none (the API docs) and the tools that ask for it by this name."""
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    routers = (
        auth,
        crm,
        crm_merge,
        erp_tab,
        erp_documents,
        sync_tab,
        sync_connectors,
        sync_connections,
        sync_configure,
        sync_filters,
        sync_auto_create,
        sync_health,
        sync_import,
        sync_jobs,
        sync_operations,
        audit_log,
        sync_undo,
        record_history,
        users,
        conflicts,
    )
    for module in routers:
        app.include_router(module.router)
    error_pages.add_error_pages(app)
