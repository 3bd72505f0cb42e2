"""Background work against a busy database: a write that finds the database locked (SQLite ``database is locked``
or ``busy`` once its busy timeout has passed; PostgreSQL serialization failure, deadlock or lock timeout) is tried
again with backoff instead of failing the job or the cycle.

Only a whole transaction is tried again: a failed one has rolled back, so trying it again cannot write anything twice.
Foreground requests are served first meanwhile, since the background work waits outside any transaction.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 5.0
GIVE_UP_AFTER_SECONDS = 600.0
"""How long background work keeps trying a busy database before the error is raised as any other."""

POSTGRES_BUSY_STATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
    }
)
SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says only that the database was busy: the same transaction may succeed later."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in POSTGRES_BUSY_STATES:
        return True
    return any(message in str(original).lower() for message in SQLITE_BUSY_MESSAGES)


def retrying(
    work: Callable[[], T],
    *,
    what: str,
    give_up_after: float = GIVE_UP_AFTER_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``, tried again with exponential backoff (and jitter) while the database is busy, for up to
    ``give_up_after`` seconds; any other error, or a busy one after that, is raised at once."""
    deadline = time.monotonic() + give_up_after
    delay = FIRST_DELAY_SECONDS
    attempt = 1
    while True:
        try:
            return work()
        except DBAPIError as error:
            if not is_busy(error) or time.monotonic() + delay > deadline:
                raise
            logger.info("%s: the database is busy (attempt %d), trying again in %.2f s", what, attempt, delay)
        sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, MAX_DELAY_SECONDS)
        attempt += 1
