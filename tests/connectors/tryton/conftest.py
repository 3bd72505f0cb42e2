"""Fixtures: a real trytond per test (or per module), and the Tryton connector saved with a connection to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.protocol import models as m
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.testing.tryton import TrytonServer, cache_dir, ensure_template, ensure_venv, tryton_server

CONNECTION = "tryton-test-connection"


@pytest.fixture(scope="session")
def tryton_install() -> tuple[Path, Path]:
    """The Tryton venv's bin folder and the template database, built once per machine."""
    cache = cache_dir()
    bin_dir = ensure_venv(cache)
    return bin_dir, ensure_template(cache, bin_dir)


@pytest.fixture
def tryton(tryton_install: tuple[Path, Path], tmp_path: Path) -> Iterator[TrytonServer]:
    """A fresh Tryton database served on a free port, for this test alone."""
    bin_dir, template = tryton_install
    with tryton_server(bin_dir=bin_dir, template=template, workdir=tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def shared_tryton(
    tryton_install: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    """One Tryton database for a whole module whose tests only read what the module seeded."""
    bin_dir, template = tryton_install
    with tryton_server(bin_dir=bin_dir, template=template, workdir=tmp_path_factory.mktemp("tryton")) as server:
        yield server


@contextmanager
def saved_connector(server: TrytonServer, store_path: Path) -> Iterator[TrytonConnector]:
    """The connector with a connection to ``server`` saved as ``CONNECTION``; its sessions closed at the end."""
    connector = TrytonConnector(connections=SqliteConnectionStore(store_path))
    try:
        connector.save_connection(m.SaveConnectionRequest(connection_id=CONNECTION, config=server.config()))
        yield connector
    finally:
        connector.close()


@pytest.fixture
def connector(tryton: TrytonServer, tmp_path: Path) -> Iterator[TrytonConnector]:
    with saved_connector(tryton, tmp_path / "connections.sqlite") as saved:
        yield saved
