"""The ASGI app that serves a ``Connector`` over protocol v1: signature check, body limit, validation, envelopes.

HTTP status policy (docs/protocol.md): a request the protocol refuses gets a 4xx with an error envelope, checked in
this order: 405 wrong method, 404 unknown operation, 413 too big, 401 auth, 429 when the replay store is full, 400
malformed JSON, 422 invalid members; everything the connector itself answers, success or ERP-side failure, is
HTTP 200 with ``ok`` saying which.

Signing: only v2 is accepted (bound to method and operation, nonce remembered for the timestamp window); the app
declares it in ``info`` as ``capabilities.signing == ["2"]`` whatever the connector's own capabilities say, because
the app, not the connector, verifies signatures. v1 is refused on every operation: it can be replayed and redirected.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import pydantic
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from erpsync.errors import ErpsyncError, ErrorCode, RateLimitError
from erpsync.protocol import models as m
from erpsync.protocol.language import speaking
from erpsync.protocol.signing import (
    NONCE_HEADER,
    REFUSAL_HEADER,
    REPLAYED,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    V2,
    MemoryNonceStore,
    NonceStore,
    NonceStoreFullError,
    ReplayedError,
    SignatureError,
    verify_v2,
)
from erpsync.sdk.connector import Connector

logger = logging.getLogger(__name__)

WATCH_THREADS = 200
"""Watches waiting at once (each holds a thread for up to 25 s); beyond it a watch waits for a thread."""
ACCEPTED_SIGNING = [V2]
"""The signing versions this app verifies, declared in ``info``."""


class RequestRefusedError(Exception):
    """A request refused before it reaches the connector; becomes a 4xx error envelope."""

    def __init__(
        self, status: int, code: ErrorCode, user_message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(user_message)
        self.status = status
        self.code = code
        self.user_message = user_message
        self.headers = headers or {}


def create_app(
    connector: Connector, *, secret: str, max_body_bytes: int = 1_000_000, nonces: NonceStore | None = None
) -> Starlette:
    """Serve ``connector`` at ``POST /v1/{operation}``, signed with ``secret``; ``GET /health`` is open.

    ``nonces`` remembers the nonces of accepted requests (default: this process's memory, see ``MemoryNonceStore``);
    a connector served by several processes passes one store they share, or a replay to another process succeeds.
    """
    if not secret:
        raise ValueError("a connector needs a shared secret to verify the hub's requests")
    endpoint = _OperationEndpoint(
        connector, secret=secret, max_body_bytes=max_body_bytes, nonces=MemoryNonceStore() if nonces is None else nonces
    )
    routes = [
        Route("/v1/{operation}", endpoint.handle, methods=["POST"]),
        Route("/health", _health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})


class _OperationEndpoint:
    """Takes one request through the checks in protocol order, then dispatches it to the connector."""

    def __init__(self, connector: Connector, *, secret: str, max_body_bytes: int, nonces: NonceStore) -> None:
        self._connector = connector
        self._secret = secret
        self._max_body_bytes = max_body_bytes
        self._nonces = nonces
        self._watch_threads: anyio.CapacityLimiter | None = None  # made in the event loop, on the first watch

    async def handle(self, request: Request) -> Response:
        operation = request.path_params["operation"]
        try:
            request_type, response_type = _operation_models(operation)
            body = await self._read_body(request)
            self._authenticate(request, operation, body)
            parsed = _parse(request_type, body)
        except RequestRefusedError as refused:
            logger.warning("refused %r request: %s", operation, refused.user_message)
            response = _envelope_response(refused.status, m.error_envelope(refused.code, refused.user_message))
            response.headers.update(refused.headers)
            return response
        with speaking(parsed.language):  # erpsync.sdk.language reads it while the connector answers
            return await self._dispatch(operation, None if request_type is m.EmptyRequest else parsed, response_type)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise _too_big(self._max_body_bytes)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body_bytes:
                raise _too_big(self._max_body_bytes)
        return bytes(body)

    def _authenticate(self, request: Request, operation: str, body: bytes) -> None:
        """Signing v2 over the method and ``/v1/{operation}`` (not the raw URL: a proxy may mount the app deeper)."""
        try:
            verify_v2(
                self._secret,
                method=request.method,
                path=f"/v1/{operation}",
                timestamp=request.headers.get(TIMESTAMP_HEADER),
                nonce=request.headers.get(NONCE_HEADER),
                signature=request.headers.get(SIGNATURE_V2_HEADER),
                body=body,
                nonces=self._nonces,
            )
        except ReplayedError as error:
            replayed = {REFUSAL_HEADER: REPLAYED}
            raise RequestRefusedError(401, ErrorCode.AUTH, f"request refused: {error}", headers=replayed) from None
        except SignatureError as error:
            raise RequestRefusedError(401, ErrorCode.AUTH, f"request refused: {error}") from None
        except NonceStoreFullError as full:
            retry_after = {"Retry-After": f"{full.retry_after:.0f}"}
            message = f"request refused: {full}"
            raise RequestRefusedError(429, ErrorCode.RATE_LIMIT, message, headers=retry_after) from None

    async def _dispatch(self, operation: str, request: m.Request | None, response_type: type[m.Envelope]) -> Response:
        method: Callable[..., Any] = getattr(self._connector, operation)
        args = () if request is None else (request,)
        try:
            result = await self._run(operation, method, args)
        except ErpsyncError as error:
            return _error_response(error)
        except Exception:
            logger.exception("connector %s failed in %s", self._connector.name, operation)
            return _unexpected_failure(operation)
        if not isinstance(result, response_type):
            logger.error("connector %s answered %s with %s", self._connector.name, operation, type(result).__name__)
            return _unexpected_failure(operation)
        if isinstance(result, m.InfoResponse):
            signing = result.capabilities.model_copy(update={"signing": list(ACCEPTED_SIGNING)})
            result = result.model_copy(update={"capabilities": signing})
        return _envelope_response(200, result.model_dump(mode="json"))

    async def _run(self, operation: str, method: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """The connector's method; a blocking ``watch`` waits in threads of its own, so long polls (one per
        connection of every hub) never take the threads the other operations run in."""
        if inspect.iscoroutinefunction(method):
            return await method(*args)
        if operation != "watch":
            return await run_in_threadpool(method, *args)
        if self._watch_threads is None:
            self._watch_threads = anyio.CapacityLimiter(WATCH_THREADS)
        return await anyio.to_thread.run_sync(method, *args, limiter=self._watch_threads)


def _operation_models(operation: str) -> tuple[type[m.Request], type[m.Envelope]]:
    try:
        return m.OPERATIONS[operation]
    except KeyError:
        raise RequestRefusedError(404, ErrorCode.VALIDATION, f"unknown operation {operation!r}") from None


def _parse(request_type: type[m.Request], body: bytes) -> m.Request:
    """The validated request; strict, so ``"5"`` is not an integer, and unknown members are refused at every depth."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestRefusedError(400, ErrorCode.VALIDATION, "request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise RequestRefusedError(400, ErrorCode.VALIDATION, "request body must be a JSON object")
    try:
        parsed = request_type.model_validate_json(body, strict=True, extra="forbid")
    except pydantic.ValidationError as error:
        raise RequestRefusedError(422, ErrorCode.VALIDATION, f"invalid request: {m.describe_invalid(error)}") from None
    return parsed


def _too_big(limit: int) -> RequestRefusedError:
    return RequestRefusedError(413, ErrorCode.VALIDATION, f"request body is larger than {limit} bytes")


def _error_response(error: ErpsyncError) -> Response:
    response = _envelope_response(200, m.error_envelope(error.code, error.user_message, error.tech_message))
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        response.headers["Retry-After"] = f"{error.retry_after:g}"
    return response


def _unexpected_failure(operation: str) -> Response:
    # The traceback went to the connector's log; the hub gets no detail that could leak internals.
    message = f"the connector failed unexpectedly in {operation}; see the connector's log"
    return _envelope_response(200, m.error_envelope(ErrorCode.CONNECTOR, message))


def _envelope_response(status: int, envelope: dict[str, Any]) -> Response:
    return JSONResponse(envelope, status_code=status)


async def _health(request: Request) -> Response:
    return _envelope_response(200, m.Envelope().model_dump(mode="json"))


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Routing failures (unknown path, wrong method) answer with an envelope too."""
    status, headers = (exc.status_code, exc.headers) if isinstance(exc, HTTPException) else (400, None)
    message = f"{request.method} {request.url.path} is not part of protocol v1"
    return JSONResponse(m.error_envelope(ErrorCode.VALIDATION, message), status_code=status, headers=headers)
