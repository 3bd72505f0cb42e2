"""Fixtures: one trytond and one served Tryton connector per module, a configured hub on SQLite per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.crypto import Cipher, key_from_secret
from erpsync.sdk.app import create_app
from erpsync.storage.db import Database
from erpsync.sync.connections import hub_clients
from erpsync.testing.db import sqlite_template
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton import ROLE_CATEGORIES, cache_dir, ensure_template, ensure_venv, tryton_server

from .tryton_world import PARTY_CATEGORIES, SECRET, Hub, TrytonDesk, build_hub

__all__ = ["sqlite_template"]

HubFactory = Callable[[str], Hub]
HUB_KEY = "e2e tryton hub secret " * 2  # the hub's key for secrets at rest, for tests that also serve its app


@pytest.fixture(scope="module")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonDesk]:
    """One trytond for the module, with the categories its users file parties under."""
    cache = cache_dir()
    bin_dir = ensure_venv(cache)
    workdir = tmp_path_factory.mktemp("tryton-e2e")
    template = ensure_template(cache, bin_dir)
    with tryton_server(bin_dir=bin_dir, template=template, workdir=workdir) as server, server.rpc() as rpc:
        ids = rpc.create("party.category", [{"name": name} for name in PARTY_CATEGORIES])
        roles = {name: rpc.search("party.category", [["name", "=", name]])[0] for name in ROLE_CATEGORIES}
        yield TrytonDesk(server, rpc, dict(zip(PARTY_CATEGORIES, ids, strict=True)) | roles)


@pytest.fixture(scope="module")
def connector() -> Iterator[TrytonConnector]:
    served = TrytonConnector()
    yield served
    served.close()


@pytest.fixture(scope="module")
def connector_url(connector: TrytonConnector) -> Iterator[str]:
    with serve_in_thread(create_app(connector, secret=SECRET)) as url:
        yield url


@pytest.fixture
def open_hub(sqlite_template: Path, tmp_path: Path, tryton: TrytonDesk) -> Iterator[HubFactory]:
    """Builds the test's hub against a connector URL: the module's, or a middleware's in front of it."""
    path = tmp_path / "hub.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    clients = hub_clients(database, Cipher(key_from_secret(HUB_KEY)), timeout=30)
    try:
        yield lambda url: build_hub(database, clients, url, tryton)
    finally:
        clients.close()
        database.dispose()


@pytest.fixture
def hub(open_hub: HubFactory, connector_url: str) -> Hub:
    return open_hub(connector_url)
