"""The sample connector in a process of its own (``python -m bench.connector_proc FOLDER PORT SECRET``), so the hub
process a scenario measures holds only the hub. Counts the protocol operations it answers (``GET /bench/calls``),
which is how scenarios tell how many ``save_actors`` calls a cycle made."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

from erpsync.connectors.sample import CONNECTIONS_FILE, ERP_FILE, SampleConnector, SampleErp
from erpsync.sdk.app import create_app
from erpsync.sdk.store import SqliteConnectionStore

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
CALLS_PATH = "/bench/calls"


class CountingApp:
    """Counts the POSTs per path of the wrapped app and answers the counts at ``CALLS_PATH``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CALLS_PATH:
            body = json.dumps(dict(self.calls)).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            self.calls[scope["path"].rsplit("/", 1)[-1]] += 1
        await self.app(scope, receive, send)


def main(folder: Path, port: int, secret: str) -> None:
    connector = SampleConnector(
        SampleErp(folder / ERP_FILE), connections=SqliteConnectionStore(folder / CONNECTIONS_FILE)
    )
    app = CountingApp(create_app(connector, secret=secret))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
