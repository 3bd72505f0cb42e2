"""A proxy in front of trytond that passes every call on but loses Tryton's answer to chosen ones.

It stands for a timeout or a dropped connection after Tryton committed: the call took effect, and the caller gets
a 504 Gateway Timeout, as from a reverse proxy whose upstream answered too late.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from erpsync.testing.server import serve_in_thread


@dataclass
class LossyProxy:
    """Loses the answer to the next ``losses`` calls of ``method``; counts the answers it lost."""

    upstream: str
    method: str
    losses: int = 1
    lost: int = 0
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        headers = {name: value for name, value in request.headers.items() if name in ("authorization", "content-type")}
        answer = await self._http.post(f"{self.upstream}{request.url.path}", content=body, headers=headers)
        if self.losses and _method(body) == self.method:
            self.losses -= 1
            self.lost += 1
            return Response("upstream timed out", status_code=504)
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")


def _method(body: bytes) -> str | None:
    try:
        method = json.loads(body).get("method")
    except (ValueError, AttributeError):
        return None
    return method if isinstance(method, str) else None


@contextmanager
def lossy_proxy(upstream: str, *, method: str) -> Iterator[tuple[str, LossyProxy]]:
    """Serve a ``LossyProxy`` to ``upstream`` on a free port; yields its URL and the proxy."""
    proxy = LossyProxy(upstream, method)
    app = Starlette(routes=[Route("/{path:path}", proxy.forward, methods=["POST"])])
    with serve_in_thread(app) as url:
        yield url, proxy
