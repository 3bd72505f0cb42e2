"""The REST API under ``/api/v1``, as parts the composition root (``erpsync.app``) puts into the hub's app: its router
with every resource and its error answers (JSON); its docs are ``erpsync.api.docs``.

Public names: ``API_PREFIX``, ``OPENAPI_URL``, ``api_router``, ``add_api_errors``, ``unavailable_answer``,
``ErrorAnswer``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from erpsync.api.routers import (
    auth,
    auto_create,
    companies,
    configuration,
    conflicts,
    connections,
    connectors,
    engine,
    erp_tab,
    filters,
    groups,
    history,
    imports,
    lists,
    operations,
    persons,
    projects,
    resync,
    runs,
    users,
)
from erpsync.crm.errors import InvalidFieldError
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.sync.configuration import RefusedError
from erpsync.sync.crm_merges import MergeForbiddenError
from erpsync.sync.erp_tab import RefusedRequestError

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"

_STATUS_BY_ERROR: dict[type[ErpsyncError], int] = {
    MergeForbiddenError: status.HTTP_403_FORBIDDEN,
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


def unavailable_answer(message: str, headers: dict[str, str]) -> JSONResponse:
    """503 for an API request the hub cannot serve now (database busy, connector not called); ``headers`` carry
    ``Retry-After``."""
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


def api_router() -> APIRouter:
    """Every resource of the API under ``API_PREFIX``, each operation declaring the errors it can answer."""
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
        filters,
        auto_create,
        engine,
        runs,
        erp_tab,
        imports,
        operations,
        resync,
        history,
        conflicts,
    ):
        router.include_router(module.router)
    return router


def add_api_errors(app: FastAPI) -> None:
    """The API's answers (JSON) to refused requests and typed errors. Exception handlers are app-wide: a page that
    lets one of these escape gets the same answer. Busy and unavailable (503) are the composition root's: they answer
    a page or JSON by the path."""
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(InvalidFieldError, _field_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(RefusedError, configuration.refused)
    app.add_exception_handler(RefusedRequestError, erp_tab.refused)
    app.add_exception_handler(ErpsyncError, _connector_failure)
    for error_type in _STATUS_BY_ERROR:
        app.add_exception_handler(error_type, _domain_error)
