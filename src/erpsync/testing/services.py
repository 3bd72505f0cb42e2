"""Redis for tests: started when installed but down, restartable in a test, and a fresh key namespace per user.

Public names: ``REDIS_URL`` (override with ``ERPSYNC_TEST_REDIS_URL``), ``redis_answers()``, ``ensure_redis_running()``,
``stop_redis()``, ``unique_namespace()``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid

import redis

REDIS_URL = os.environ.get("ERPSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_START_TIMEOUT = 20.0
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis_running() -> None:
    """Start the installed redis-server if it does not answer; raise if it still does not."""
    if redis_answers():
        return
    subprocess.run(REDIS_START, check=False)
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while not redis_answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not come up at {REDIS_URL}")
        time.sleep(0.1)


def stop_redis() -> None:
    """Shut Redis down without saving (it keeps nothing: a restart loses every queued message)."""
    with contextlib.suppress(redis.ConnectionError):  # the connection drops as the server stops
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).shutdown(nosave=True)
    while redis_answers():
        time.sleep(0.05)


def unique_namespace() -> str:
    """A key prefix no other test (or xdist worker) uses."""
    return f"erpsync-test-{uuid.uuid4().hex[:12]}"
