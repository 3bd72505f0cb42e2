"""Units of work: a use case ends the transaction it works in, keeping what it did or none of it.

Public names: ``unit_of_work(session)``, ``end_transaction(session)``.

The use cases of the service layer take the caller's session (a request's, or one the command line opened with
``Database.sessions()``), do their reads and writes in it and end its transaction themselves: the HTTP layers and the
command line never commit or roll back. Objects loaded before a commit stay readable after it (the session factories
do not expire on commit); after a rollback their attributes are read again when next used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit the session's transaction when the block ends normally; roll it back when the block raises.

    What the session read or wrote before the block (the request's own checks, say) belongs to the same unit."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def end_transaction(session: Session) -> None:
    """End the session's transaction, which has only read so far, before waiting on a connector: no lock (on SQLite
    the write lock) and no pooled connection is held meanwhile. What was loaded stays readable (a commit, not a
    rollback, so nothing is expired); the session begins a new transaction when next used."""
    session.commit()
