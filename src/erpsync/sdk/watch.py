"""Helpers for a Python connector that answers ``watch`` (docs/protocol.md, *watch*): a signal its writes raise, a
bounded wait on it, and the answer built within the request's limit.

A connector calls ``ChangeSignal.changed()`` after every write it commits; its ``watch`` looks for changes after the
request's position and, while there are none, waits on the signal. Changes it cannot see being made (another process
writing to the ERP) are found by looking again every ``poll_seconds``. ::

    def watch(self, request: WatchRequest) -> WatchResponse:
        position = request.since or self.erp.position()
        found = self.signal.wait_for(lambda: self.erp.changed_after(position, request.limit + 1), request)
        return watch_answer(found or [], limit=request.limit, next_since=...)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse, capped_wait

FoundT = TypeVar("FoundT")

DEFAULT_POLL_SECONDS = 1.0


class ChangeSignal:
    """Wakes the watches waiting in this process when the connector has written something."""

    def __init__(self, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._condition = threading.Condition()
        self._generation = 0

    def changed(self) -> None:
        """Call after a write has committed."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait_for(self, look: Callable[[], FoundT | None], request: WatchRequest) -> FoundT | None:
        """``look()`` until it finds something (not None), waking at each ``changed()`` and every ``poll_seconds``;
        None once the request's wait (capped at ``MAX_WAIT_SECONDS``) has passed."""
        deadline = time.monotonic() + capped_wait(request)
        while True:
            with self._condition:
                generation = self._generation
            found = look()
            remaining = deadline - time.monotonic()
            if found is not None or remaining <= 0:
                return found
            with self._condition:
                self._condition.wait_for(partial(self._moved_past, generation), min(remaining, self.poll_seconds))

    def _moved_past(self, generation: int) -> bool:
        return self._generation != generation


def watch_answer(changed: Iterable[tuple[m.ActorType, str]], *, limit: int, next_since: str | None) -> WatchResponse:
    """The answer naming at most ``limit`` of ``changed`` (each key once), ``more`` when some were left out."""
    hints: dict[m.ActorType, list[str]] = {}
    seen: set[tuple[m.ActorType, str]] = set()
    more = False
    for actor_type, key in changed:
        if (actor_type, key) in seen:
            continue
        if len(seen) >= limit:
            more = True
            break
        seen.add((actor_type, key))
        hints.setdefault(actor_type, []).append(key)
    return WatchResponse(changed=hints, more=more, next_since=next_since)
