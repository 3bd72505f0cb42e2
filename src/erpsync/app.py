"""The composition root: ``create_app(settings, database=None)`` builds the hub's ASGI app from its parts.

It opens storage, makes the cipher and the connector clients, and puts them on the app's state for the request
dependencies (``erpsync.http.deps``); it installs the API under ``/api/v1`` (``erpsync.api``), the web pages at ``/``
(``erpsync.web``), the probes (``/healthz``, ``/readyz``: database and broker), the metrics (``/metrics``) and the
background worker (``erpsync.worker``) with the function the API and the pages hand queued jobs to. It owns what both
sides rely on: the app-wide middlewares (security headers, body size limit, NUL refusal) and the answers to "busy, try
again" (503), a page or JSON by the path.

The API and the web UI do not know each other; only this module names both.

Public names: ``create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import exc as sqlalchemy_exc

from erpsync import web
from erpsync.api.app import API_PREFIX, OPENAPI_URL, add_api_errors, api_router, unavailable_answer
from erpsync.api.docs import install_docs
from erpsync.errors import UnavailableError
from erpsync.http.health import health_router
from erpsync.http.limits import BodySizeLimit
from erpsync.http.metrics import metrics_router
from erpsync.http.request_checks import NulRefusal
from erpsync.http.security_headers import SecurityHeaders
from erpsync.settings import Settings
from erpsync.sign_ins import SignInCache
from erpsync.storage.db import BUSY_RETRY_AFTER_SECONDS, Database, is_busy
from erpsync.storage.health import database_problem
from erpsync.sync.connections import hub_clients_from
from erpsync.sync.work import Engine
from erpsync.web import error_pages
from erpsync.web.service_messages import reason_in_request_language
from erpsync.worker import background_worker, broker_problem, job_sender

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """The hub; it opens ``settings``' database unless given one (and then leaves closing it to the caller)."""
    owned = database is None
    db = database or Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The database pool is sized for this many request threads (``storage.db.pool_size_for``).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        # Embedded: idles while automatic sync is off (/engine). With ERPSYNC_REDIS_URL: none, the workers do the work.
        worker = background_worker(settings, Engine(db, app.state.clients)).start()
        yield
        worker.stop()
        app.state.clients.close()
        if owned:
            db.dispose()

    app = FastAPI(
        title="erpsync",
        openapi_url=OPENAPI_URL,
        docs_url=None,  # install_docs serves them offline and under the Content-Security-Policy
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.clients = hub_clients_from(db, settings)
    app.state.cipher = app.state.clients.cipher
    app.state.send_job = job_sender(settings, db)
    app.state.word_reason = reason_in_request_language  # the API words import reasons with the pages' catalogs
    app.state.sign_ins = SignInCache(settings.sign_in_cache_seconds)
    app.add_middleware(NulRefusal, api_prefix=API_PREFIX, page_answer=error_pages.nul_refused)
    app.add_middleware(BodySizeLimit)  # outside NulRefusal: the body it reads is bounded first
    add_api_errors(app)
    app.add_exception_handler(UnavailableError, _connector_unavailable)
    app.add_exception_handler(sqlalchemy_exc.TimeoutError, _database_busy)
    app.add_exception_handler(sqlalchemy_exc.OperationalError, _database_busy)
    app.include_router(
        health_router({"database": lambda: database_problem(db), "broker": lambda: broker_problem(settings)})
    )
    app.include_router(metrics_router())
    app.include_router(api_router())
    install_docs(app, prefix=API_PREFIX, openapi_url=OPENAPI_URL)
    web.install(app, settings)  # the web pages at "/"; the API stays under API_PREFIX
    app.add_middleware(SecurityHeaders)  # outermost: every answer, refusals by the other middleware included
    return app


async def _connector_unavailable(request: Request, exc: Exception) -> Response:
    # The hub did not call the connector (bulkhead full, circuit open): a temporary refusal, not a failure it saw.
    assert isinstance(exc, UnavailableError)
    return _temporarily_unavailable(request, exc.user_message, exc.retry_after)


async def _database_busy(request: Request, exc: Exception) -> Response:
    """Pool exhausted or write lock not granted in time: 503 with ``Retry-After``, never a 500."""
    if not is_busy(exc):
        raise exc
    logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return _temporarily_unavailable(request, "the hub is busy; try again in a moment", BUSY_RETRY_AFTER_SECONDS)


def _temporarily_unavailable(request: Request, message: str, retry_after: float) -> Response:
    headers = {"Retry-After": str(max(1, round(retry_after)))}
    if request.url.path.startswith(API_PREFIX):
        return unavailable_answer(message, headers)
    return error_pages.busy_page(request, message, headers)
