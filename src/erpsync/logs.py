"""How the hub's processes log: plain text lines for people (the default) or one JSON object per line for a log
pipeline (``ERPSYNC_LOG_FORMAT=json``), through structlog's formatter on the standard ``logging`` module, so every
library's records (uvicorn, Dramatiq, SQLAlchemy) come out the same way.

Work binds its context (``bound(connection_id=..., run_id=...)``) and every line logged inside carries it. Keys that
name a secret (password, secret, token, authorization, cookie, signature) are redacted whatever logged them; messages
themselves never carry secrets (the code that logs a connector's answer scrubs it first).

Public names: ``LogFormat``, ``configure_logging(log_format, level, stream=None)``, ``bound(**context)``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["text", "json"]

SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|authori[sz]ation|cookie|signature|api[_-]?key", re.IGNORECASE)
REDACTED = "[redacted]"
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq")


def redact_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event:
        if SECRET_KEY.search(key):
            event[key] = REDACTED
    return event


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not to the one there when logging was set up: a
    command run inside another process (a test runner, an embedding tool) may swap stderr and close its own."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        pass


def configure_logging(log_format: LogFormat = "text", level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Send every record of the process to ``stream`` (stderr) in ``log_format``; replaces handlers set before."""
    before: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    last: list[Any] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if log_format == "json"
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=before, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *last]
    )
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in LIBRARY_LOGGERS:  # their own handlers would print a second, differently shaped line
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True


def bound(**context: object) -> AbstractContextManager[object]:
    """Every line logged in this block (this thread or task) carries ``context``."""
    return structlog.contextvars.bound_contextvars(**context)
