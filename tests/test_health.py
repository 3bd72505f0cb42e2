"""The probes over real HTTP: ``/healthz`` answers while the process runs; ``/readyz`` says ready only when the
database answers at the newest schema and the broker (when configured) answers, and never names an address or a
secret."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.health import database_problem
from erpsync.storage.migrate import upgrade
from erpsync.testing.server import serve_in_thread
from erpsync.testing.services import REDIS_URL, ensure_redis_running

PASSWORD_IN_URL = "pr0be-s3cret"


@contextmanager
def _hub(database: Database, settings: Settings) -> Iterator[httpx.Client]:
    with serve_in_thread(create_app(settings, database=database)) as url, httpx.Client(base_url=url) as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket is closed


def test_live_and_ready_on_both_databases(database: Database, tmp_path: Path) -> None:
    with _hub(database, Settings(data_dir=tmp_path / "data")) as client:
        live = client.get("/healthz")
        ready = client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
    assert ready.headers["Cache-Control"] == "no-store"


def test_not_ready_while_the_schema_is_behind(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(database.engine, "0006_link_retry_index")
    try:
        with _hub(database, Settings(data_dir=tmp_path / "data")) as client:
            behind = client.get("/readyz")
            alive = client.get("/healthz")
        upgrade(database.engine)
        with _hub(database, Settings(data_dir=tmp_path / "data")) as client:
            current = client.get("/readyz")
    finally:
        database.dispose()
    assert behind.status_code == 503
    assert behind.json()["status"] == "not ready"
    assert "0006_link_retry_index" in behind.json()["checks"]["database"]
    assert "erpsync db upgrade" in behind.json()["checks"]["database"]
    assert alive.status_code == 200  # the process is up; only readiness fails
    assert current.status_code == 200


def test_an_unreachable_database_is_named_without_its_address_or_password() -> None:
    database = Database(f"postgresql+psycopg://erpsync:{PASSWORD_IN_URL}@127.0.0.1:{_closed_port()}/nowhere")
    try:
        problem = database_problem(database)
    finally:
        database.dispose()
    assert problem is not None
    assert problem.startswith("database not reachable")
    assert PASSWORD_IN_URL not in problem
    assert "127.0.0.1" not in problem


def test_the_broker_is_checked_when_configured(database: Database, tmp_path: Path) -> None:
    ensure_redis_running()
    answering = Settings(data_dir=tmp_path / "data", redis_url=REDIS_URL)
    silent = Settings(data_dir=tmp_path / "data", redis_url=f"redis://:{PASSWORD_IN_URL}@127.0.0.1:{_closed_port()}/0")
    with _hub(database, answering) as client:
        up = client.get("/readyz")
    with _hub(database, silent) as client:
        down = client.get("/readyz")
    assert (up.status_code, up.json()["checks"]["broker"]) == (200, "ok")
    assert down.status_code == 503
    assert down.json()["checks"] == {"database": "ok", "broker": "broker not reachable (ConnectionError)"}
    assert PASSWORD_IN_URL not in down.text
