"""A lean HTTP/1.1 client for ``bench.load_http``: one keep-alive connection per simulated user on asyncio streams,
requests written as bytes, answers read by ``Content-Length`` (or chunks). The load generator shares the machine's
cores with the hub, so the less it spends per request, the more of them the hub gets; a general client (httpx) spends
several times more per request.

Loopback only, no TLS; every request has a timeout.

Public names: ``LeanConnection``, ``Answer``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes


class LeanConnection:
    """One keep-alive connection to ``base_url`` (``http://host:port/prefix``) sending ``headers`` with each request;
    reconnects when the server closed it."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._prefix = parts.path.rstrip("/")
        fixed = {"Host": f"{self._host}:{self._port}", **headers}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self._timeout = timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one request (``body`` as JSON) and read its whole answer, within the timeout."""
        return await asyncio.wait_for(self._exchange(method, path, body), self._timeout)

    async def _exchange(self, method: str, path: str, body: Any) -> Answer:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode() + self._fixed
        if body is not None:
            head += b"content-type: application/json\r\n"
        head += b"content-length: %d\r\n\r\n" % len(payload)
        reader, writer = await self._connected()
        try:
            writer.write(head + payload)
            return await self._answer(reader)
        except BaseException:
            self.close()  # a broken or cancelled exchange leaves the connection in an unknown state
            raise

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None or self._streams[1].is_closing():
            self._streams = await asyncio.open_connection(self._host, self._port)
        return self._streams

    async def _answer(self, reader: asyncio.StreamReader) -> Answer:
        status = int((await reader.readuntil(b"\r\n")).split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n"):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value == b"chunked"
            elif name == b"connection":
                close = value == b"close"
        body = await self._chunks(reader) if chunked else await reader.readexactly(length)
        if close:
            self.close()
        return Answer(status, body)

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # no trailers are sent
        return b"".join(parts)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
