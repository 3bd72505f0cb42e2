"""The database handle: engine and session factory for SQLite (WAL, foreign keys on) or PostgreSQL.

Public names: ``Database`` (``Database.from_settings(settings)``, ``Database(url)``, ``.engine``, ``.session()``,
``.read_session()``,
``.dispose()``), ``normalise_url(url)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from erpsync.settings import Settings
from erpsync.storage.files import private_file

SQLITE_BUSY_TIMEOUT_MS = 10_000
POOL_TIMEOUT_SECONDS = 10.0
CONNECTIONS_PER_THREAD = 2
"""A request or job holds at most this many connections at once: its own session and one the service layer opens."""
SPARE_CONNECTIONS = 8
"""For the background threads of the process (embedded worker, lease renewal, scheduler)."""
DEFAULT_THREADS = 16
"""Starlette's thread pool (anyio's default): the threads that run synchronous handlers and dependencies."""
QUICK_THREADS = 8
"""Threads beside that pool for the short reads every request starts with (who asks, ``erpsync.http.deps``) and the
closing of request sessions: one connection each, so they never queue behind slow requests holding the pool."""


BUSY_RETRY_AFTER_SECONDS = 2.0
"""What a request refused because the database was busy is told to wait before it tries again."""


def pool_size_for(threads: int) -> int:
    """A pool that cannot deadlock: every thread can hold its share of connections at the same time."""
    return threads * CONNECTIONS_PER_THREAD + QUICK_THREADS + SPARE_CONNECTIONS


POSTGRES_BUSY_STATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
    }
)
SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")


def is_locked(error: BaseException) -> bool:
    """Whether ``error`` says only that the database was locked or busy: the same transaction may succeed later."""
    if not isinstance(error, sqlalchemy_exc.DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in POSTGRES_BUSY_STATES:
        return True
    return any(message in str(original).lower() for message in SQLITE_BUSY_MESSAGES)


def is_busy(error: BaseException) -> bool:
    """Whether a request failed only because the database was busy: the pool had no connection in time, or a lock."""
    return isinstance(error, sqlalchemy_exc.TimeoutError) or is_locked(error)


def normalise_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs (SQLAlchemy would default to psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    # In WAL mode NORMAL never corrupts the database; a power cut may lose the last commits, and every watermark is
    # committed with the data it covers, so the next run redoes exactly what was lost. FULL costs an fsync a commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off unless asked, per connection
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


READ_ONLY_OPTION = "erpsync_read_only"


def _begin_immediate(connection: Any) -> None:
    # Take SQLite's write lock at BEGIN: a deferred transaction that reads then writes can deadlock with another one
    # (SQLITE_BUSY without waiting), and the change sequence relies on writers being serialised. Read-only sessions
    # begin deferred: in WAL mode they read a snapshot without waiting for, or blocking, the writer.
    read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_files_private(database: str) -> None:
    # SQLite creates the -wal and -shm files with the database file's mode, so a 0600 database keeps them 0600 too;
    # tightening them as well covers files left by an older version.
    path = Path(database)
    private_file(path)
    for suffix in ("-wal", "-shm"):
        if (companion := path.with_name(path.name + suffix)).exists():
            private_file(companion)


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    database = make_url(url).database
    on_disk = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    pooling: dict[str, Any] = {}
    if database and on_disk:
        _sqlite_files_private(database)
    if database and database != ":memory:":
        pooling = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_SECONDS}
    engine = create_engine(url, connect_args={"check_same_thread": False}, **pooling)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    if database and on_disk:
        event.listen(engine, "connect", lambda _connection, _record: _sqlite_files_private(database))

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself (pysqlite's own is broken)

    event.listen(engine, "begin", _begin_immediate)
    return engine


def create_database_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url`` with this project's per-dialect settings; the pool holds ``pool_size`` connections
    (default: enough for Starlette's thread pool, ``pool_size_for(DEFAULT_THREADS)``) and a checkout waits at most
    ``POOL_TIMEOUT_SECONDS``."""
    url = normalise_url(url)
    size = pool_size or pool_size_for(DEFAULT_THREADS)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, size)
    # PostgreSQL: a small steady pool that may grow to ``size`` under load and shrinks back when idle.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=min(size, 10),
        max_overflow=max(0, size - 10),
        pool_timeout=POOL_TIMEOUT_SECONDS,
    )


class Database:
    """One engine and its session factory; build one per process (or per test)."""

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = normalise_url(url)
        self.engine = create_database_engine(self.url, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.effective_database_url,
            pool_size=settings.database_pool_size or pool_size_for(settings.http_threads),
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only: on SQLite it neither waits for nor blocks writers (its writes would fail)."""
        with self.read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
