"""The error taxonomy: each error type says what the caller should do about it.

The same types serve both sides of the connector protocol: a connector raises them and the SDK turns them into
an envelope with ``error_code``; the hub's client turns such an envelope back into the same type.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """The error codes of docs/protocol.md ("Error codes"), ``unknown_connection`` included."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    VALIDATION = "validation"
    MAPPING = "mapping"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    TRANSIENT = "transient"
    CONNECTOR = "connector"
    UNKNOWN_CONNECTION = "unknown_connection"


class Action(StrEnum):
    """What the engine does when it meets an error."""

    RETRY = "retry"  # try again later, with backoff
    SKIP_RECORD = "skip_record"  # log it on the record, go on with the batch
    FIX_CONFIG = "fix_config"  # nothing works until an administrator acts
    RESEND_CONNECTION = "resend_connection"  # the connector forgot the connection: send it again


class ErpsyncError(Exception):
    """Base of every error erpsync raises on purpose."""

    code: ClassVar[ErrorCode] = ErrorCode.CONNECTOR
    action: ClassVar[Action] = Action.SKIP_RECORD

    def __init__(self, user_message: str, *, tech_message: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.tech_message = tech_message


class AuthError(ErpsyncError):
    code = ErrorCode.AUTH
    action = Action.FIX_CONFIG


class RateLimitError(ErpsyncError):
    code = ErrorCode.RATE_LIMIT
    action = Action.RETRY

    def __init__(self, user_message: str, *, tech_message: str = "", retry_after: float | None = None) -> None:
        super().__init__(user_message, tech_message=tech_message)
        self.retry_after = retry_after


class ValidationError(ErpsyncError):
    code = ErrorCode.VALIDATION


class MappingError(ErpsyncError):
    code = ErrorCode.MAPPING


class ConflictError(ErpsyncError):
    code = ErrorCode.CONFLICT


class NotFoundError(ErpsyncError):
    code = ErrorCode.NOT_FOUND


class TransientError(ErpsyncError):
    code = ErrorCode.TRANSIENT
    action = Action.RETRY


class UnavailableError(TransientError):
    """The hub did not even ask the connector: it is not answering (its circuit is open) or has as many calls in
    flight as it may. Fails fast; ``retry_after`` says when asking again makes sense."""

    def __init__(self, user_message: str, *, tech_message: str = "", retry_after: float = 1.0) -> None:
        super().__init__(user_message, tech_message=tech_message)
        self.retry_after = retry_after


class ConnectorError(ErpsyncError):
    """The connector misbehaved (bad answer, protocol violation) or failed in a way it did not classify."""

    code = ErrorCode.CONNECTOR


class UnknownConnectionError(ErpsyncError):
    code = ErrorCode.UNKNOWN_CONNECTION
    action = Action.RESEND_CONNECTION


ERROR_TYPES: dict[ErrorCode, type[ErpsyncError]] = {
    cls.code: cls
    for cls in (
        AuthError,
        RateLimitError,
        ValidationError,
        MappingError,
        ConflictError,
        NotFoundError,
        TransientError,
        ConnectorError,
        UnknownConnectionError,
    )
}


def error_for(code: str, user_message: str, *, tech_message: str = "") -> ErpsyncError:
    """Build the typed error for a wire ``error_code``; unknown codes become ``ConnectorError``."""
    try:
        cls = ERROR_TYPES[ErrorCode(code)]
    except ValueError:
        return ConnectorError(user_message, tech_message=f"unknown error_code {code!r}: {tech_message}")
    return cls(user_message, tech_message=tech_message)


# --- causes: the same failure on many records -----------------------------------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”")
_NUMBERISH = re.compile(r"\b(?=[\w.-]*\d)[\w.-]+\b")  # numbers, ids, keys, dates: any token with a digit in it
_SPACES = re.compile(r"\s+")
CAUSE_MESSAGE_LENGTH = 500


def normalise_message(message: str) -> str:
    """The message with what differs from record to record replaced: quoted values by ``"…"``, tokens with a digit
    (numbers, ids, keys, dates) by ``#``; so one cause on many records reads as one message."""
    text = _QUOTED.sub('"…"', message)
    text = _NUMBERISH.sub("#", text)
    return _SPACES.sub(" ", text).strip()[:CAUSE_MESSAGE_LENGTH]


def cause_key(code: str, message: str) -> str:
    """The key of a failure's cause: its error code and normalised message, hashed to a fixed length."""
    digest = hashlib.sha256(f"{code}\n{normalise_message(message)}".encode()).hexdigest()
    return digest[:32]
