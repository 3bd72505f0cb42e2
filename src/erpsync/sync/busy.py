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

from erpsync.storage.db import is_locked

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 5.0
GIVE_UP_AFTER_SECONDS = 600.0
"""How long background work keeps trying a busy database before the error is raised as any other."""


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
            if not is_locked(error) or time.monotonic() + delay > deadline:
                raise
            logger.info("%s: the database is busy (attempt %d), trying again in %.2f s", what, attempt, delay)
        sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, MAX_DELAY_SECONDS)
        attempt += 1
