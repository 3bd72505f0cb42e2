"""The Tryton connector: parties and projects of a Tryton 8.2 database over JSON-RPC."""

from __future__ import annotations

from erpsync.connectors.tryton.connector import TrytonConnector
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.settings import Settings


def build_connector(settings: Settings) -> TrytonConnector:
    """The connector as `erpsync connector serve tryton` runs it; connections survive restarts in data_dir."""
    return TrytonConnector(connections=SqliteConnectionStore(settings.data_dir / "tryton-connector.sqlite"))


__all__ = ["TrytonConnector", "build_connector"]
