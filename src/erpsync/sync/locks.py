"""Leases in the database: one holder per name until it releases or its lease expires, across processes.

A lease is a row (name, holder, expires_at). Taking one is a single conditional write: insert the row if the name is
free, else take it over only if it has expired (or is already ours). On SQLite writers are serialised by the write
lock; on PostgreSQL the row lock makes a concurrent UPDATE re-check its WHERE clause, so exactly one taker wins.
A holder that dies leaves a lease that simply expires. While a holder lives, ``kept`` renews its lease from a
background thread, so a live run keeps it however long one of its steps takes (a connector call with retries can
outlast the TTL) and the TTL only bounds how long a dead holder blocks the name. Names: ``connection_lock(id)`` (one
run per connection) and ``link_lock(id)`` (one sync of a record at a time).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from erpsync.errors import ConflictError
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncLock, utcnow

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=60)
"""How long a dead holder blocks a name; a live one renews its lease every third of it (``kept``)."""
POLL_SECONDS = 0.05


class LockedError(ConflictError):
    """Someone else holds the lease."""


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    ttl: timedelta


def connection_lock(connection_id: int) -> str:
    return f"connection:{connection_id}"


def link_lock(link_id: int) -> str:
    return f"link:{link_id}"


def new_holder() -> str:
    """A holder id unique to this process and call: host, pid and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _insert_if_free(session: Session, name: str, holder: str, expires_at: datetime) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(SyncLock).values(name=name, holder=holder, expires_at=expires_at)
    return _changed(session, insert.on_conflict_do_nothing(index_elements=["name"])) == 1


def _take_over(session: Session, name: str, holder: str, now: datetime, expires_at: datetime) -> bool:
    takeover = (
        update(SyncLock)
        .where(SyncLock.name == name, or_(SyncLock.expires_at < now, SyncLock.holder == holder))
        .values(holder=holder, expires_at=expires_at)
    )
    return _changed(session, takeover) == 1


def _changed(session: Session, statement: Executable) -> int:
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def try_acquire(database: Database, lease: Lease) -> bool:
    """Take ``lease`` if its name is free, expired or already ours (then the lease is extended)."""
    now = utcnow()
    expires_at = now + lease.ttl
    with database.session() as session:
        return _insert_if_free(session, lease.name, lease.holder, expires_at) or _take_over(
            session, lease.name, lease.holder, now, expires_at
        )


def renew(database: Database, lease: Lease) -> bool:
    """Extend a lease we hold; False when it expired and someone else took it."""
    with database.session() as session:
        extend = (
            update(SyncLock)
            .where(SyncLock.name == lease.name, SyncLock.holder == lease.holder)
            .values(expires_at=utcnow() + lease.ttl)
        )
        return _changed(session, extend) == 1


def release(database: Database, lease: Lease) -> None:
    release_each(database, [lease])


def try_acquire_each(
    database: Database, names: Iterable[str], *, holder: str, ttl: timedelta = DEFAULT_TTL
) -> list[Lease]:
    """Take each free lease of ``names`` in one transaction; returns those taken (the others are busy)."""
    now = utcnow()
    taken = []
    with database.session() as session:
        for name in names:
            if _insert_if_free(session, name, holder, now + ttl) or _take_over(session, name, holder, now, now + ttl):
                taken.append(Lease(name, holder, ttl))
    return taken


def release_each(database: Database, leases: Iterable[Lease]) -> None:
    with database.session() as session:
        for lease in leases:
            session.execute(delete(SyncLock).where(SyncLock.name == lease.name, SyncLock.holder == lease.holder))


@contextmanager
def kept(database: Database, lease: Lease) -> Iterator[Lease]:
    """Renew ``lease`` (taken already) every third of its TTL until the block ends; the lease is not released here.

    Renewal stops when someone else has taken the lease over: the holder notices with its own ``renew`` at its next
    step and stops. A failed renewal (database unreachable) is retried at the next beat."""
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(database, lease, stop), name=f"lease-{lease.name}", daemon=True)
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()


def _beat(database: Database, lease: Lease, stop: threading.Event) -> None:
    while not stop.wait(lease.ttl.total_seconds() / 3):
        try:
            if not renew(database, lease):
                return
        except Exception:  # a lost database connection: the lease may expire; the holder's own writes fail too
            logger.warning("could not renew the lease %s", lease.name, exc_info=True)


@contextmanager
def held(
    database: Database,
    name: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    wait: float = 0.0,
    holder: str | None = None,
) -> Iterator[Lease]:
    """Hold the lease ``name`` for the block (``kept`` alive while it runs); ``LockedError`` if it is still taken after
    ``wait`` seconds."""
    lease = Lease(name, holder or new_holder(), ttl)
    deadline = time.monotonic() + wait
    while not try_acquire(database, lease):
        if time.monotonic() >= deadline:
            raise LockedError(f"{name} is busy: another sync holds it")
        time.sleep(POLL_SECONDS)
    try:
        with kept(database, lease):
            yield lease
    finally:
        release(database, lease)
