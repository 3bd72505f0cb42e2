"""``SqliteConnectionStore``: a connector's connection configs in a SQLite file, so they survive restarts."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from erpsync.protocol import models as m

_SCHEMA = "CREATE TABLE IF NOT EXISTS connection (connection_id TEXT PRIMARY KEY, config TEXT NOT NULL)"


class SqliteConnectionStore:
    """A ``ConnectionStore`` backed by one SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection guarded by a lock: the SDK calls connectors from a thread pool.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        Path(path).chmod(0o600)  # configs hold ERP credentials: readable by the connector's user only
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(_SCHEMA)

    def get(self, connection_id: str) -> m.Config | None:
        with self._lock:
            row = self._db.execute("SELECT config FROM connection WHERE connection_id = ?", (connection_id,)).fetchone()
        if row is None:
            return None
        config: m.Config = json.loads(row[0])
        return config

    def put(self, connection_id: str, config: m.Config) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO connection (connection_id, config) VALUES (?, ?) "
                "ON CONFLICT (connection_id) DO UPDATE SET config = excluded.config",
                (connection_id, json.dumps(config)),
            )

    def delete(self, connection_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM connection WHERE connection_id = ?", (connection_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
