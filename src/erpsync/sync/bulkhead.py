"""A bulkhead per sync connector: bounded calls in flight and a circuit breaker, so one slow or hung connector costs
the hub a few threads, never all of them.

Every operation the hub's client performs on a connector, its retries included, passes ``Bulkhead.__call__`` (the
client's ``CallGuard``):

- at most ``concurrency`` operations are in flight per connector (``watch``, a long poll, takes no slot: the live
  supervisor bounds how many are open); an interactive one (a person waits: the ERP tab, Test connection) that finds
  them all taken waits ``interactive_wait_seconds`` for one (a healthy connector frees a slot within milliseconds, so
  a burst of users queues instead of being refused), then fails with ``UnavailableError``, and fails at once when
  no slot has been freed for longer than that wait (a stuck connector: waiting would only hold a request thread); a
  background one waits longer (``background_wait_seconds``);
- the circuit breaker (the maintained ``circuitbreaker`` package) opens after ``failures`` consecutive operations
  that got no answer even after the client's retries (timeouts, refused connections, gateway errors); while it is
  open every operation fails at once with ``UnavailableError``; after ``reset_seconds`` one trial is let through, and
  its answer closes the circuit again. Answers that are the ERP's own refusals (validation, conflict, auth) are
  answers: they keep it closed.

Public names: ``BulkheadPolicy``, ``Bulkhead``, ``NOT_ANSWERING``, ``BUSY``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from circuitbreaker import STATE_HALF_OPEN, CircuitBreaker

from erpsync import metrics
from erpsync.errors import ErpsyncError, TransientError, UnavailableError
from erpsync.settings import Settings

logger = logging.getLogger(__name__)

NOT_ANSWERING = "the ERP is not answering; try again in a little while"
BUSY = "the ERP is busy with other requests; try again in a moment"
LONG_POLLS = frozenset({"watch"})
BUSY_LOG_SECONDS = 60.0  # a full bulkhead is logged at most once per this long, with the refusals counted since


@dataclass(frozen=True)
class BulkheadPolicy:
    concurrency: int = 8
    failures: int = 5
    reset_seconds: float = 30.0
    background_wait_seconds: float = 60.0
    interactive_wait_seconds: float = 2.0
    interactive_budget_seconds: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BulkheadPolicy:
        return cls(
            concurrency=settings.connector_concurrency,
            failures=settings.breaker_failures,
            reset_seconds=settings.breaker_reset_seconds,
            interactive_wait_seconds=settings.connector_slot_wait_seconds,
            interactive_budget_seconds=settings.interactive_budget_seconds,
        )


def _unanswered(_type: type[BaseException], error: BaseException) -> bool:
    return isinstance(error, TransientError) and not isinstance(error, UnavailableError)


class Bulkhead:
    """The guard of one connector's client (``erpsync.protocol.client.CallGuard``)."""

    def __init__(self, name: str, policy: BulkheadPolicy) -> None:
        self.name = name
        self.policy = policy
        self._slots = threading.BoundedSemaphore(policy.concurrency)
        self._breaker = CircuitBreaker(
            failure_threshold=policy.failures,
            recovery_timeout=policy.reset_seconds,
            expected_exception=_unanswered,
            name=f"connector {name}",
        )
        self._trial = threading.Lock()  # half-open: one trial request at a time, the others fail fast
        self._count_lock = threading.Lock()
        self._in_flight = 0
        self._full_since: float | None = None  # every slot taken, none freed since (time.monotonic())
        self._busy_lock = threading.Lock()
        self._busy_refusals = 0  # refusals of a full bulkhead not logged yet
        self._busy_logged_at = -BUSY_LOG_SECONDS

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        return str(self._breaker.state)

    def __call__(self, operation: str, send: Callable[[], dict[str, Any]], *, interactive: bool) -> dict[str, Any]:
        """``send`` within the bulkhead, timed (``erpsync_connector_request_seconds``) with its outcome."""
        started, outcome = time.perf_counter(), "ok"
        try:
            return self._guarded(operation, send, interactive=interactive)
        except ErpsyncError as error:
            outcome = "unavailable" if isinstance(error, UnavailableError) else str(error.code)
            raise
        finally:
            metrics.CONNECTOR_SECONDS.labels(self.name, operation, outcome).observe(time.perf_counter() - started)
            metrics.CIRCUIT_STATE.labels(self.name).set(metrics.CIRCUIT_STATES.get(self.state, 0))

    def _guarded(self, operation: str, send: Callable[[], dict[str, Any]], *, interactive: bool) -> dict[str, Any]:
        self.refuse_while_open()
        if operation in LONG_POLLS:  # bounded by the live supervisor; it would hold a slot for its whole wait
            return self._through_breaker(operation, send)
        if not self._take_slot(interactive=interactive):
            self._log_busy(operation)
            raise UnavailableError(BUSY, tech_message=f"{self.policy.concurrency} calls in flight", retry_after=1.0)
        try:
            return self._through_breaker(operation, send)
        finally:
            self._free_slot()

    def _take_slot(self, *, interactive: bool) -> bool:
        """A person waits briefly for a slot, background work longer (both bounded); but a person does not wait on a
        connector none of whose calls has ended for longer than that wait (stuck: waiting would only hold a request
        thread), while a burst on a healthy one, whose slots turn over every few milliseconds, queues."""
        wait = self.policy.interactive_wait_seconds if interactive else self.policy.background_wait_seconds
        taken = self._slots.acquire(blocking=False)
        if not taken and wait > 0 and not (interactive and self._stuck_longer_than(wait)):
            taken = self._slots.acquire(timeout=wait)
        if taken:
            with self._count_lock:
                self._in_flight += 1
                if self._in_flight == self.policy.concurrency:
                    self._full_since = time.monotonic()
        return taken

    def _free_slot(self) -> None:
        with self._count_lock:
            self._in_flight -= 1
            self._full_since = None
        self._slots.release()

    def _stuck_longer_than(self, seconds: float) -> bool:
        full_since = self._full_since
        return full_since is not None and time.monotonic() - full_since > seconds

    def _log_busy(self, operation: str) -> None:
        """One line when the bulkhead is first found full, then at most one every ``BUSY_LOG_SECONDS`` counting the
        refusals since (each is counted in the metrics): a hung connector refuses hundreds a minute."""
        now = time.monotonic()
        with self._busy_lock:
            self._busy_refusals += 1
            if now - self._busy_logged_at < BUSY_LOG_SECONDS:
                return
            refusals, self._busy_refusals, self._busy_logged_at = self._busy_refusals, 0, now
        logger.warning(
            "connector %s: %s refused, %d calls in flight (%d refused since the last such line)",
            self.name,
            operation,
            self.policy.concurrency,
            refusals,
        )

    def refuse_while_open(self) -> None:
        """``UnavailableError`` at once while the circuit is open: before a use case's own reads, to refuse cheaply."""
        if self._breaker.opened:
            retry_after = max(1.0, float(self._breaker.open_remaining))
            raise UnavailableError(NOT_ANSWERING, tech_message="circuit open", retry_after=retry_after)

    def _through_breaker(self, operation: str, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if self._breaker.state != STATE_HALF_OPEN:
            return self._counted(operation, send)
        if not self._trial.acquire(blocking=False):
            raise UnavailableError(NOT_ANSWERING, tech_message="circuit half-open, trial in flight", retry_after=1.0)
        try:
            return self._counted(operation, send)
        finally:
            self._trial.release()

    def _counted(self, operation: str, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        was_closed = self._breaker.closed
        try:
            with self._breaker:
                return send()
        finally:
            if was_closed and self._breaker.opened:
                logger.error("connector %s: circuit opened after %s failed", self.name, operation)
