"""SqliteConnectionStore keeps connection configs across restarts of a connector."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sdk_dict_erp import SECRET

from erpsync.errors import UnknownConnectionError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.sdk.app import create_app
from erpsync.sdk.connector import Connector
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.testing.server import serve_in_thread

CONFIG: m.Config = {"user": "admin", "password": "hunter2-password", "page_size": 50, "ratio": 0.5, "active": True}


def test_configs_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "connector" / "connections.sqlite3"
    first = SqliteConnectionStore(path)
    first.put("conn-1", CONFIG)
    first.put("conn-2", {"user": "other"})
    first.close()
    second = SqliteConnectionStore(path)
    assert second.get("conn-1") == CONFIG
    assert second.get("conn-2") == {"user": "other"}
    assert second.get("conn-3") is None
    second.close()


def test_put_replaces_and_delete_forgets(tmp_path: Path) -> None:
    store = SqliteConnectionStore(tmp_path / "connections.sqlite3")
    store.put("conn-1", CONFIG)
    store.put("conn-1", {"user": "changed"})
    assert store.get("conn-1") == {"user": "changed"}
    store.delete("conn-1")
    store.delete("never-saved")
    assert store.get("conn-1") is None
    store.close()


def test_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "connections.sqlite3"
    SqliteConnectionStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = SqliteConnectionStore(tmp_path / "connections.sqlite3")

    def save(number: int) -> None:
        for round_ in range(5):
            store.put(f"conn-{number}", {"round": round_})

    threads = [threading.Thread(target=save, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [store.get(f"conn-{number}") for number in range(4)] == [{"round": 4}] * 4
    store.close()


@contextmanager
def connector_on(path: Path) -> Iterator[ConnectorClient]:
    """A connector process using the store at ``path``, and a hub client talking to it."""
    store = SqliteConnectionStore(path)
    app = create_app(Connector(connections=store), secret=SECRET)
    with serve_in_thread(app) as url, ConnectorClient(url, SECRET) as client:
        yield client
    store.close()


def test_a_served_connector_remembers_connections_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "connections.sqlite3"
    with connector_on(path) as client:
        client.save_connection(connection_id="conn-1", config=CONFIG)
    with connector_on(path) as client:
        assert client.test_connection(connection_id="conn-1").ok
        client.delete_connection(connection_id="conn-1")
    with connector_on(path) as client, pytest.raises(UnknownConnectionError):
        client.test_connection(connection_id="conn-1")
