"""The pace of a client's calls: how long a call may take (``time_budget``), how long it waits between retries
(``Backoff``) and how far apart it sends requests (``MinInterval``)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_budget: ContextVar[float | None] = ContextVar("erpsync_connector_time_budget", default=None)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Within the block, each operation a client performs ends within ``seconds``, its retries included: what a
    person waiting on a page can bear. Outside any block the client's own timeout and retry budget apply."""
    token = _budget.set(seconds)
    try:
        yield
    finally:
        _budget.reset(token)


def budget() -> float | None:
    """The seconds of the ``time_budget`` block around the caller; None outside one."""
    return _budget.get()


def deadline() -> float | None:
    """When an operation begun now must end (``time.monotonic``), within a ``time_budget`` block; else None."""
    budget = _budget.get()
    return None if budget is None else time.monotonic() + budget


@dataclass(frozen=True)
class Backoff:
    """Retry delays: exponential from ``base`` up to ``cap`` seconds with jitter, at most ``budget`` seconds in all."""

    base: float = 0.25
    cap: float = 8.0
    budget: float = 30.0

    def delay(self, attempt: int) -> float:
        # Equal jitter: never less than half the exponential step, so retries do spread out.
        step: float = min(self.cap, self.base * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)


class MinInterval:
    """Spaces requests at least ``1 / per_second`` apart across threads (a token bucket that holds one token)."""

    def __init__(self, per_second: float | None = None) -> None:
        self._interval = 1 / per_second if per_second else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at)
            self._next_at = start + self._interval
        if start > now:
            time.sleep(start - now)
