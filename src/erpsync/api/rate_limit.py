"""Login rate limiting: at most ``attempts`` tries per client address in a sliding ``window``, across all logins.

The account lockout (``accounts``) stops guessing one account's password; this stops one address from trying many
accounts. It is per process and in memory: behind several API processes each keeps its own count, which only makes the
limit a multiple; the lockout, stored in the database, stays exact.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import HTTPException, Request, status

LOGIN_ATTEMPTS = 20
LOGIN_WINDOW_SECONDS = 60.0

_create_lock = threading.Lock()  # one limiter per app, made on its first login


class SlidingWindowLimiter:
    """Counts attempts per key over the last ``window`` seconds."""

    def __init__(self, *, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, *, now: float | None = None) -> float:
        """Count one attempt for ``key``: 0 when allowed, else the seconds until the oldest one leaves the window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.attempts:
                return seen[0] + self.window - now
            seen.append(now)
            self._forget_idle(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        # Keeps memory bounded by the addresses seen within one window.
        idle = [key for key, seen in self._seen.items() if not seen or seen[-1] <= now - self.window]
        for key in idle:
            del self._seen[key]


def limit_logins(request: Request) -> None:
    """Route dependency: 429 with ``Retry-After`` once the caller's address used up its login attempts."""
    with _create_lock:
        limiter: SlidingWindowLimiter | None = getattr(request.app.state, "login_limiter", None)
        if limiter is None:
            limiter = request.app.state.login_limiter = SlidingWindowLimiter(
                attempts=LOGIN_ATTEMPTS, window=LOGIN_WINDOW_SECONDS
            )
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(address)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many login attempts from this address; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
