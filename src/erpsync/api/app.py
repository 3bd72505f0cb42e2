"""The FastAPI application: ``create_app(settings, database=None)`` wires storage, the cipher, errors and routers.

Public names: ``create_app``, ``API_PREFIX``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import exc as sqlalchemy_exc

from erpsync.api.docs import install_docs
from erpsync.api.limits import BodySizeLimit
from erpsync.api.request_checks import NulRefusal
from erpsync.api.routers import (
    auth,
    companies,
    configuration,
    connections,
    connectors,
    engine,
    erp_tab,
    groups,
    imports,
    lists,
    persons,
    projects,
    runs,
    users,
)
from erpsync.api.security_headers import SecurityHeaders
from erpsync.crm.errors import InvalidFieldError
from erpsync.crypto import cipher_for
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, UnavailableError, ValidationError
from erpsync.settings import Settings
from erpsync.storage.db import Database, DatabaseBusyError, is_busy
from erpsync.sync.bulkhead import BulkheadPolicy
from erpsync.sync.configuration import RefusedError
from erpsync.sync.connections import hub_clients
from erpsync.sync.engine import Engine
from erpsync.sync.erp_tab import RefusedRequestError
from erpsync.web import error_pages
from erpsync.web import install as install_web
from erpsync.worker import background_worker

API_PREFIX = "/api/v1"

logger = logging.getLogger(__name__)

BusyPage = Callable[[Request, str, dict[str, str]], Response]
"""How the pages answer 503 (set on ``app.state.busy_page`` by the web UI); the API answers JSON."""

_STATUS_BY_ERROR: dict[type[ErpsyncError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    ValidationError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ErpsyncError)
    code = next(code for cls, code in _STATUS_BY_ERROR.items() if isinstance(exc, cls))
    return JSONResponse({"detail": exc.user_message}, status_code=code)


async def _connector_failure(_request: Request, exc: Exception) -> JSONResponse:
    # Any other typed error comes from a connector or the ERP behind it (auth, rate limit, transient, ...): the hub
    # itself is fine, the upstream it depends on failed, hence 502 with the connector's message and typed reason.
    assert isinstance(exc, ErpsyncError)
    detail = {"detail": f"the ERP connector failed: {exc.user_message}", "reason": exc.code.value}
    return JSONResponse(detail, status_code=status.HTTP_502_BAD_GATEWAY)


async def _connector_unavailable(request: Request, exc: Exception) -> Response:
    # The hub did not call the connector (bulkhead full, circuit open): a temporary refusal, not a failure it saw.
    assert isinstance(exc, UnavailableError)
    return _temporarily_unavailable(request, exc.user_message, exc.retry_after)


async def _database_busy(request: Request, exc: Exception) -> Response:
    """Pool exhausted or write lock not granted in time: 503 with ``Retry-After``, never a 500."""
    if not is_busy(exc):
        raise exc
    logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return _temporarily_unavailable(request, "the hub is busy; try again in a moment", DatabaseBusyError.retry_after_s)


def _temporarily_unavailable(request: Request, message: str, retry_after: float) -> Response:
    headers = {"Retry-After": str(max(1, round(retry_after)))}
    busy_page: BusyPage | None = getattr(request.app.state, "busy_page", None)
    if busy_page is not None and not request.url.path.startswith(API_PREFIX):
        return busy_page(request, message, headers)
    return JSONResponse({"detail": message}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers)


async def _field_error(_request: Request, exc: Exception) -> JSONResponse:
    # The same shape as FastAPI's own request validation errors, so clients read one format.
    assert isinstance(exc, InvalidFieldError)
    detail = [{"loc": ["body", exc.field], "msg": exc.reason, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes each bad value back ("input"): that could be a password, so it is left out.
    assert isinstance(exc, RequestValidationError)
    detail = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


class ErrorAnswer(BaseModel):
    """Every refusal: ``{"detail": ...}`` (a message, or a list of problems)."""

    detail: Any
    reason: str | None = None


# Declared on every operation so the OpenAPI document lists each status the API can answer (checked by API fuzzing).
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": description}
    for code, description in {
        400: "Bad request",
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found (or not visible to the caller)",
        409: "Conflict",
        413: "Request body too large",
        422: "Invalid request: a list of problems ({loc, msg, type}) or one message",
        429: "Too many requests",
        502: "The ERP connector failed",
        503: "Busy or the ERP is not answering: try again after Retry-After seconds",
    }.items()
}


async def _out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
    # An id or number beyond what the database stores (SQLite: 64 bits) names nothing that can exist.
    return JSONResponse({"detail": "a number in the request is out of range"}, status_code=status.HTTP_404_NOT_FOUND)


def _api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=_ERROR_RESPONSES)
    for module in (
        auth,
        users,
        groups,
        companies,
        persons,
        projects,
        lists,
        connectors,
        connections,
        configuration,
        engine,
        runs,
        erp_tab,
        imports,
    ):
        router.include_router(module.router)
    return router


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """The hub's API; it opens ``settings``' database unless given one (and then leaves closing it to the caller)."""
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
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # install_docs serves them offline and under the Content-Security-Policy
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.cipher = cipher_for(settings)
    app.state.clients = hub_clients(
        db, app.state.cipher, timeout=settings.http_timeout_seconds, bulkhead=BulkheadPolicy.from_settings(settings)
    )
    app.add_middleware(NulRefusal, api_prefix=API_PREFIX, page_answer=error_pages.nul_refused)
    app.add_middleware(BodySizeLimit)  # outside NulRefusal: the body it reads is bounded first
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(InvalidFieldError, _field_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(RefusedError, configuration.refused)
    app.add_exception_handler(RefusedRequestError, erp_tab.refused)
    app.add_exception_handler(UnavailableError, _connector_unavailable)
    app.add_exception_handler(sqlalchemy_exc.TimeoutError, _database_busy)
    app.add_exception_handler(sqlalchemy_exc.OperationalError, _database_busy)
    app.add_exception_handler(DatabaseBusyError, _database_busy)
    app.add_exception_handler(ErpsyncError, _connector_failure)
    for error_type in _STATUS_BY_ERROR:
        app.add_exception_handler(error_type, _domain_error)
    app.include_router(_api_router())
    install_docs(app, prefix=API_PREFIX, openapi_url=f"{API_PREFIX}/openapi.json")
    install_web(app, settings)  # the web pages at "/"; the API stays under API_PREFIX
    app.add_middleware(SecurityHeaders)  # outermost: every answer, refusals by the other middleware included
    return app
