"""Reading a paged operation's pages ahead in a process of its own.

An import stores one page while the next is fetched. Fetched by a thread of the hub's own process, the answer's
arrival and reading take turns with the storing for Python's single interpreter lock, and the storing runs markedly
slower beside it (docs/operations.md, *Imports and resyncs*). A reader process fetches, parses and checks the answers
on another core instead; the hub gets each page as the JSON document its own client would have read, and reads it
into the operation's model itself (``wire.validated``).

A reader may also ``shape`` each page: what the hub would compute from it anyway, record by record and without
the database (an import translates each actor and computes its match keys), computed in the reader on the other
core and sent with the page. The shape is the hub's own code, given as a picklable callable; the reader applies it,
and a failure of it only sends the page without (the hub then computes it as it always does).

``PageReader(spec)`` starts the process (``python -m erpsync.protocol.pages``: it imports the protocol and its
shape's module alone, in a fraction of a second, while the hub goes on fetching by itself); ``ready`` says when it can
take over, ``start(cursor)`` sets it reading from ``cursor`` on, at most ``AHEAD`` pages ahead of the hub, and
``result`` gives the next page. The
reader's client is the hub's client made again from its ``spec`` (same address, secret, timeouts, retries and the
connector's ``info``) but without its guard or its answer to a forgotten connection: anything the reader fails at
(a call its client refuses, the process dying, a page slower than a call can be) is ``ReaderFailed``, and the hub
fetches that page with its own client, so every failure is met as it is without the reader."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import IO, Any, cast

from erpsync.protocol.client import ClientSpec

logger = logging.getLogger(__name__)

AHEAD = 2
"""Pages the reader holds ready beyond the one the hub stores."""
STARTUP_SECONDS = 30.0
"""Slack on a page's wait for the reader's own start (loaded machine)."""
_READY, _START, _PAGE, _FAILED = "ready", "start", "page", "failed"


class ReaderFailed(Exception):  # noqa: N818 - the reader's end, not an error the user sees
    """The reader cannot give the next page; the hub fetches it itself."""


@dataclass(frozen=True)
class ReadSpec:
    """What the reader reads: ``operation`` with ``members`` and a cursor, by the client ``client`` builds; and
    ``shape``, applied by the reader to each page's document (see the module)."""

    client: ClientSpec
    operation: str
    members: dict[str, Any] = field(default_factory=dict)
    shape: Callable[[dict[str, Any]], Any] | None = None


@dataclass(frozen=True)
class ReadPage:
    """A page's document as the hub's client would have read it, and the reader's ``shape`` of it (None without)."""

    document: dict[str, Any]
    shaped: Any = None


class PageReader:
    """The hub's side of a reader process (see the module)."""

    def __init__(self, spec: ReadSpec) -> None:
        self._wait = spec.client.longest_call_seconds + STARTUP_SECONDS
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        stdin, stdout = cast(IO[bytes], self._process.stdin), cast(IO[bytes], self._process.stdout)  # PIPE: both
        self._to = Connection(os.dup(stdin.fileno()), readable=False)
        self._from = Connection(os.dup(stdout.fileno()), writable=False)
        stdin.close()
        stdout.close()
        self._ready = False
        self.started = False
        self.cursor: str | None = None
        """The cursor of the page ``result`` gives next (once started)."""
        try:
            self._to.send(spec)
        except OSError:
            logger.warning("the page reader did not start", exc_info=True)

    def ready(self, wait: float = 0) -> bool:
        """Whether the process is up and waits for ``start``, waiting up to ``wait`` seconds for it (none: the hub
        fetches by itself meanwhile)."""
        if not self._ready:
            try:
                self._ready = self._from.poll(wait) and self._from.recv() == (_READY,)
            except (EOFError, OSError):
                return False
        return self._ready

    def start(self, cursor: str | None) -> None:
        """Read from the page at ``cursor`` on (as soon as the process is up)."""
        self.started, self.cursor = True, cursor
        try:
            self._to.send((_START, cursor))
        except OSError:  # the process is gone: ``result`` says so
            return

    def has_page(self) -> bool:
        """Whether ``result`` would answer at once: the page (or the reader's end) is in."""
        try:
            return self.ready() and self._from.poll(0)
        except (EOFError, OSError):
            return True

    def result(self) -> ReadPage:
        """The page at ``cursor`` (which then moves to the page's ``next_cursor``)."""
        try:
            if not self._from.poll(self._wait):
                raise ReaderFailed(f"no page within {self._wait:g} seconds")
            if not self._ready and self._from.recv() == (_READY,):
                self._ready = True
                return self.result()
            kind, cursor, payload, shaped = self._from.recv()
        except (EOFError, OSError) as error:
            raise ReaderFailed(f"the reader process ended ({error or type(error).__name__})") from None
        if kind != _PAGE:
            raise ReaderFailed(str(payload))
        if cursor != self.cursor:
            raise ReaderFailed(f"the reader gave the page at {cursor!r}, not at {self.cursor!r}")
        following = payload.get("next_cursor")
        self.cursor = following if isinstance(following, str) else None
        return ReadPage(dict(payload), shaped)

    def close(self) -> None:
        """End the process (at once: what it read ahead is of no use any more)."""
        self._process.kill()
        self._process.wait()
        self._to.close()
        self._from.close()


# --- the reader process ---------------------------------------------------------------------------------------------


def main() -> None:
    """The reader process: the spec and then the start cursor in on standard input, the pages out on a copy of
    standard output (standard output itself goes to standard error, so nothing else printed reaches the hub)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the hub ends it; Ctrl-C on the command line is the hub's
    outbox = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    inbox = Connection(os.dup(0), writable=False)
    try:
        spec: ReadSpec = inbox.recv()
        client = spec.client.build()
        outbox.send((_READY,))
        command, cursor = inbox.recv()
    except (EOFError, OSError):
        return
    if command != _START:
        return
    ready: queue.Queue[tuple[str, str | None, Any, Any] | None] = queue.Queue(maxsize=AHEAD)
    sender = threading.Thread(target=_send_all, args=(ready, outbox), name="page-sender", daemon=True)
    sender.start()
    while True:
        try:
            document = client.document(spec.operation, cursor=cursor, **spec.members)
        except Exception as error:  # the hub fetches this page itself and meets the failure as it always does
            ready.put((_FAILED, cursor, f"{type(error).__name__}: {error}", None))
            break
        ready.put((_PAGE, cursor, document, _shaped(spec.shape, document)))
        following = document.get("next_cursor")
        if not isinstance(following, str):
            break
        cursor = following
    ready.put(None)
    sender.join()
    client.close()


def _shaped(shape: Callable[[dict[str, Any]], Any] | None, document: dict[str, Any]) -> Any:
    if shape is None:
        return None
    try:
        return shape(document)
    except Exception:  # the hub computes it itself
        logger.warning("the page reader could not shape a page; it is sent without", exc_info=True)
        return None


def _send_all(ready: queue.Queue[tuple[str, str | None, Any, Any] | None], outbox: Connection) -> None:
    while (message := ready.get()) is not None:
        try:
            outbox.send(message)
        except OSError:  # the hub is gone (or closed the reader): nothing is left to do
            os._exit(0)


if __name__ == "__main__":
    main()
