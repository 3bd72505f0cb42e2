"""Databases for tests, on SQLite and PostgreSQL, migrated like production.

Public names: ``POSTGRES_ADMIN_URL`` (override with ``ERPSYNC_TEST_POSTGRES_URL``), ``ensure_postgres_running()``,
``postgres_database()`` (a fresh uniquely named database, migrated, dropped afterwards), ``migrated_database(url)``,
``clear_database(database)``, ``BACKENDS``; pytest fixtures ``postgres_url`` (one database per test session, i.e.
per xdist worker), ``sqlite_template`` and ``database`` (function scope, parametrized over both backends: a new SQLite
file per test, or the session's PostgreSQL database emptied). To use them in a test folder, in its conftest.py:

    from erpsync.testing.db import database, postgres_url, sqlite_template  # noqa: F401
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.storage.tables import Base, ChangeCounter

POSTGRES_ADMIN_URL = os.environ.get("ERPSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_START_TIMEOUT = 30.0
BACKENDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)


def _postgres_answers() -> bool:
    try:
        with _admin_connection():
            return True
    except psycopg.OperationalError:
        return False


def _start_installed_clusters() -> None:
    versions = Path("/etc/postgresql")
    if not versions.is_dir():
        raise RuntimeError(f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL} and is not installed here")
    for version in sorted(path.name for path in versions.iterdir()):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)


def ensure_postgres_running() -> None:
    """Start the installed PostgreSQL cluster if it is down; raise if it still does not answer."""
    if _postgres_answers():
        return
    _start_installed_clusters()
    deadline = time.monotonic() + POSTGRES_START_TIMEOUT
    while not _postgres_answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not come up at {POSTGRES_ADMIN_URL}")
        time.sleep(0.2)


def migrated_database(url: str) -> Database:
    database = Database(url)
    upgrade(database.engine)
    return database


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a new, migrated PostgreSQL database, dropped (with any open connections) when the block ends."""
    ensure_postgres_running()
    name = f"erpsync_test_{uuid.uuid4().hex}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # name is ours: hex digits only
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrated_database(url).dispose()
        yield url
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_database(database: Database) -> None:
    """Empty every table but the schema version and the change counter (which only ever grows)."""
    kept = {"alembic_version", ChangeCounter.__tablename__}
    tables = [table.name for table in Base.metadata.sorted_tables if table.name not in kept]
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, migrated once and copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "erpsync.sqlite"
    migrated_database(f"sqlite:///{path}").dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgres":
        database = Database(request.getfixturevalue("postgres_url"))
        clear_database(database)
    else:
        path = tmp_path / "erpsync.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()
