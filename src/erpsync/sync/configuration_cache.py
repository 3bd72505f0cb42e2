"""What each process derives from a connection's configuration, kept until the configuration changes.

Parsing a connection's configuration (its mapping, list mapping and defaults rows into models, the connector's field
metadata into ``FieldMeta``) costs more than the rest of an ERP tab request. Every change of them replaces the
connection's ``config_stamp`` in the same transaction (``sync.configuration.changed``), so an entry is keyed by the
connection's uuid and stamp: a process sees a change as soon as it reads the connection row that carries it, with no
message between processes (several web processes, Dramatiq workers). Stamps are random, so a rolled-back change's
stamp never comes back, and entries of replaced stamps simply age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from erpsync.storage.tables import ErpConnection

T = TypeVar("T")

MAX_ENTRIES = 512


class StampedCache:
    """A bounded, thread-safe map of (connection uuid, config stamp, what) to a value derived from them."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, connection: ErpConnection, what: str, build: Callable[[], T]) -> T:
        """The value ``build`` gives for ``connection`` as it stands; built once per stamp (the caller's types must
        match per ``what``). Values are shared between threads: never change them."""
        key = (connection.uuid, connection.config_stamp, what)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                value: T = self._entries[key]
                return value
        value = build()  # outside the lock: two threads may both build it, and either result is right
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = StampedCache()
"""The process's cache (``sync.configuration`` and ``sync.connections`` read through it)."""
