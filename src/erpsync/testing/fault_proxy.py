"""A fault-injecting HTTP proxy on loopback, to put between the hub and a connector in tests.

``running_fault_proxy(upstream_url)`` serves real TCP on a free loopback port and forwards each request to the
connector, one request per connection (``Connection: close``). ``proxy.inject(Fault.X, operation=..., times=...)``
queues faults; the next request for that operation (any operation when None) meets the first matching fault:

- ``DROP``: the connection closes before the request reaches the connector.
- ``LOSE_ANSWER``: the connector handles the request, then the connection closes with no answer.
- ``DELAY``: the connector handles the request after ``delay`` seconds (past the client's timeout).
- ``RATE_LIMIT``: 429 with ``Retry-After: retry_after``; the connector never sees it.
- ``SERVER_ERROR``: 500 with an HTML body; the connector never sees it.
- ``TRUNCATE``: the connector's answer, cut in half, its ``Content-Length`` unchanged.
- ``MALFORMED``: the connector's answer replaced by JSON that does not parse.
- ``REPLAY``: the request is sent to the connector twice; the client gets the second answer.

The proxy is bounded: it stops by itself after ``lifetime`` seconds and refuses headers or bodies over a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import httpx

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_LIFETIME_SECONDS = 300.0
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


class Fault(StrEnum):
    DROP = "drop"
    LOSE_ANSWER = "lose_answer"
    DELAY = "delay"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    TRUNCATE = "truncate"
    MALFORMED = "malformed"
    REPLAY = "replay"


@dataclass
class _Rule:
    fault: Fault
    operation: str | None
    remaining: int
    delay: float
    retry_after: float

    def matches(self, operation: str) -> bool:
        return self.remaining > 0 and self.operation in (None, operation)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def operation(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class FaultProxy:
    """Forwards to ``upstream``; ``inject`` queues faults; ``injected`` counts the faults that happened."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.injected: Counter[Fault] = Counter()
        self.operations: list[str] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._handlers: set[asyncio.Task[None]] = set()
        self._upstream_client: httpx.AsyncClient | None = None  # made in the proxy's event loop, used only there

    def inject(
        self,
        fault: Fault,
        *,
        operation: str | None = None,
        times: int = 1,
        delay: float = 0.0,
        retry_after: float = 0.0,
    ) -> None:
        """Queue ``fault`` for the next ``times`` requests of ``operation`` (of any operation when None)."""
        with self._lock:
            self._rules.append(_Rule(fault, operation, times, delay, retry_after))

    def clear(self) -> None:
        """Forget the faults not met yet."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def _take(self, operation: str) -> _Rule | None:
        with self._lock:
            self.operations.append(operation)
            rule = next((rule for rule in self._rules if rule.matches(operation)), None)
            if rule is not None:
                rule.remaining -= 1
                self.injected[rule.fault] += 1
            return rule

    # --- serving one connection -------------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request = await _read_request(reader)
            if request is not None:
                await self._answer(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent garbage: nothing to answer
        except asyncio.CancelledError:
            # stop_handlers ended it; this handler is the task's outermost frame, and on Python 3.11 the stream
            # server's done-callback would log the cancellation as an error if it escaped
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def stop_handlers(self) -> None:
        """End the connections still open (idle keep-alives, answers held back) so no socket outlives the proxy."""
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._upstream_client is not None:
            await self._upstream_client.aclose()

    async def _answer(self, request: _Request, writer: asyncio.StreamWriter) -> None:
        rule = self._take(request.operation)
        fault = rule.fault if rule else None
        if fault is Fault.DROP:
            return
        if fault is Fault.RATE_LIMIT:
            assert rule is not None
            await _write(writer, _Response(429, [("Retry-After", f"{rule.retry_after:g}")], b"slow down"))
            return
        if fault is Fault.SERVER_ERROR:
            await _write(writer, _Response(500, [("Content-Type", "text/html")], b"<h1>Internal Server Error</h1>"))
            return
        if fault is Fault.DELAY:
            assert rule is not None
            await asyncio.sleep(rule.delay)
        response = await self._forward(request)
        if fault is Fault.REPLAY:
            response = await self._forward(request)
        if fault is Fault.LOSE_ANSWER:
            return
        if fault is Fault.TRUNCATE:
            await _write(writer, response, body=response.body[: len(response.body) // 2])
            return
        if fault is Fault.MALFORMED:
            response = _Response(response.status, [("Content-Type", "application/json")], b'{"ok": tru, "actors": [')
        await _write(writer, response)

    async def _forward(self, request: _Request) -> _Response:
        headers = [(name, value) for name, value in request.headers if name.lower() not in _HOP_BY_HOP]
        if self._upstream_client is None:
            self._upstream_client = httpx.AsyncClient(timeout=60)
        answer = await self._upstream_client.request(
            request.method, self.upstream + request.path, headers=headers, content=request.body
        )
        kept = [(name, value) for name, value in answer.headers.items() if name.lower() not in _HOP_BY_HOP]
        return _Response(answer.status_code, kept, answer.content)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("request headers too large")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:] if line)]
    length = int(next((value for name, value in headers if name.lower() == "content-length"), "0"))
    if length > MAX_BODY_BYTES:
        raise ValueError("request body too large")
    body = await reader.readexactly(length) if length else b""
    return _Request(method, path, headers, body)


async def _write(writer: asyncio.StreamWriter, response: _Response, *, body: bytes | None = None) -> None:
    """Send ``response``; with ``body`` given, send that instead but declare the full body's length."""
    sent = response.body if body is None else body
    lines = [f"HTTP/1.1 {response.status} X", *(f"{name}: {value}" for name, value in response.headers)]
    lines += [f"Content-Length: {len(response.body)}", "Connection: close", "", ""]
    writer.write("\r\n".join(lines).encode("latin-1") + sent)
    await writer.drain()


@contextmanager
def running_fault_proxy(upstream: str, *, lifetime: float = DEFAULT_LIFETIME_SECONDS) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of ``upstream`` on a free loopback port until the block ends or ``lifetime`` passes."""
    proxy = FaultProxy(upstream)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, limit=MAX_HEADER_BYTES)
        port = server.sockets[0].getsockname()[1]
        proxy.url = f"http://127.0.0.1:{port}"
        ready.set()
        async with server:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=lifetime)
            server.close()
            await proxy.stop_handlers()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name="fault-proxy", daemon=True)
    thread.start()
    if not ready.wait(timeout=10):
        raise RuntimeError("the fault proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()
