"""Serve an ASGI app on a free loopback port in a background thread, for tests and the conformance kit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

PORT_ATTEMPTS = 3


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int | None = None, startup_timeout: float = 10.0
) -> Iterator[str]:
    """Run ``app`` with uvicorn until the block ends; yields its base URL (``http://127.0.0.1:PORT``).

    ``port`` None picks a free one; if another process takes it before uvicorn binds it (tests run in parallel),
    another is tried.
    """
    attempts = 1 if port else PORT_ATTEMPTS
    for _attempt in range(attempts):
        server, thread = _start(app, host, port or free_port(host), startup_timeout)
        if server is not None:
            break
    else:
        raise RuntimeError(f"server on {host} did not start in {attempts} attempt(s)")
    try:
        yield f"http://{host}:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _start(app: Any, host: str, port: int, timeout: float) -> tuple[uvicorn.Server | None, threading.Thread]:
    """A started server, or None when it could not start (its thread ended: the port was taken)."""
    # proxy_headers off, as ``erpsync serve`` has it: X-Forwarded-For is the hub's to judge (ERPSYNC_TRUSTED_PROXIES).
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="auto", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            return None, thread
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=10)
            raise RuntimeError(f"server on {host}:{port} did not start within {timeout} s")
        time.sleep(0.01)
    return server, thread
