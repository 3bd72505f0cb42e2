"""The wire side of the hub's connector client: a request built as the protocol's model, an answer read into its
envelope or the typed error it means, and batches split and merged."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import orjson
import pydantic

from erpsync.errors import (
    AuthError,
    ConnectorError,
    ErpsyncError,
    RateLimitError,
    TransientError,
    ValidationError,
    error_for,
)
from erpsync.protocol import models as m
from erpsync.protocol.signing import REFUSAL_HEADER, REPLAYED

ResponseT = TypeVar("ResponseT", bound=m.Envelope)
_GATEWAY_STATUSES = frozenset({502, 503, 504})
_STATE_SEVERITY = (m.State.OK, m.State.OK_WITH_INFO, m.State.WARNING, m.State.ERROR)


# --- reading answers ----------------------------------------------------------------------------------------------


def answer(operation: str, response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status in _GATEWAY_STATUSES:
        raise TransientError(f"the connector is unavailable (HTTP {status} to {operation})")
    if status == 429:
        raise RateLimitError("the connector asks the hub to slow down", retry_after=retry_after_header(response))
    document = json_object(response)
    if status == 401 and response.headers.get(REFUSAL_HEADER) == REPLAYED:
        # This very request reached the connector before (duplicated on the way): it may have been performed, as
        # after a lost answer, so it is sent again under a new nonce; every operation is safe to send again.
        raise TransientError(f"the connector received this {operation} request twice and refused the second")
    if status == 401:
        message = document.get("user_message") if document else None
        raise AuthError(str(message or "the connector refused the hub's signature; check the shared secret"))
    if document is None:
        raise ConnectorError(f"the connector answered {operation} with HTTP {status} and no JSON envelope")
    envelope = read_envelope(operation, document)
    if not envelope.ok:
        raise typed_error(envelope, response)
    if status != 200:
        raise ConnectorError(f"the connector answered {operation} with ok: true but HTTP {status}")
    return document


def validated(operation: str, document: dict[str, Any], response_type: type[ResponseT]) -> ResponseT:
    """The answer as its operation's response model, or ``ConnectorError`` naming what does not match."""
    try:
        return response_type.model_validate(document)
    except pydantic.ValidationError as error:
        raise ConnectorError(
            f"the connector's answer to {operation} does not match protocol v1",
            tech_message=m.describe_invalid(error),
        ) from None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, None when it has none. UTF-8 (JSON's own encoding) is read by ``orjson``, several
    times faster than ``json`` on a page of actors; what it refuses (another charset, an integer beyond 64 bits, a
    ``NaN``) is read as ``json`` reads it."""
    document: Any = None
    if (response.charset_encoding or "utf-8").lower() in _UTF_8:
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            document = None
    if document is None:
        try:
            document = response.json()
        except ValueError:
            return None
    return document if isinstance(document, dict) else None


_UTF_8 = frozenset({"utf-8", "utf8"})


def read_envelope(operation: str, document: dict[str, Any]) -> m.Envelope:
    try:
        return m.Envelope.model_validate(document)
    except pydantic.ValidationError as error:
        raise ConnectorError(
            f"the connector's answer to {operation} is not a protocol v1 envelope",
            tech_message=m.describe_invalid(error),
        ) from None


def typed_error(envelope: m.Envelope, response: httpx.Response) -> ErpsyncError:
    message = envelope.user_message or f"the connector reported {envelope.error_code or 'an error'}"
    error = error_for(envelope.error_code, message, tech_message=envelope.tech_message)
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after_header(response)
    return error


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After``: a number of seconds or an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# --- building requests and merging batches ------------------------------------------------------------------------


def request(operation: str, **members: Any) -> m.Request:
    request_type, _ = m.OPERATIONS[operation]
    try:
        return request_type.model_validate(members)
    except pydantic.ValidationError as error:
        raise ValidationError(f"invalid {operation} request: {m.describe_invalid(error)}") from None


_ItemT = TypeVar("_ItemT")


def batches(items: Sequence[_ItemT], size: int) -> Iterator[list[_ItemT]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def merged_envelope(pages: Sequence[m.Envelope]) -> dict[str, Any]:
    """One envelope for several batches: the most severe state and every distinct message."""
    return {
        "state": max((page.state for page in pages), key=_STATE_SEVERITY.index, default=m.State.OK),
        "user_message": "\n".join(dict.fromkeys(page.user_message for page in pages if page.user_message)),
        "tech_message": "\n".join(dict.fromkeys(page.tech_message for page in pages if page.tech_message)),
    }


def reindexed(error: m.ActorError, *, offset: int, batch_length: int) -> m.ActorError:
    if error.index >= batch_length:
        raise ConnectorError(f"save_actors reported an error for actor {error.index} of a batch of {batch_length}")
    return error.model_copy(update={"index": error.index + offset})
