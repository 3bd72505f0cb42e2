"""The Tryton connector in a process of its own (``python -m bench.tryton_proc PORT SECRET``), counting the
operations it answers as ``bench.connector_proc`` does for the sample connector."""

from __future__ import annotations

import sys

import uvicorn

from bench.connector_proc import CountingApp
from erpsync.connectors.tryton import TrytonConnector
from erpsync.sdk.app import create_app


def main(port: int, secret: str) -> None:
    app = CountingApp(create_app(TrytonConnector(), secret=secret))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
