"""A unit of work keeps what its block did when the block ends normally, none of it when it raises; ending a
transaction before waiting on a connector keeps what was read readable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry
from erpsync.storage.unit_of_work import end_transaction, unit_of_work


def _entries(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_a_unit_that_ends_normally_is_kept(database: Database) -> None:
    with database.sessions() as session:
        with unit_of_work(session):
            audit.record(session, user_id=None, action="create", target_type="thing", target_id=1)
        assert not session.in_transaction()
    assert _entries(database) == 1


def _refused_write(session: Session) -> None:
    with unit_of_work(session):
        audit.record(session, user_id=None, action="create", target_type="thing", target_id=1)
        session.flush()
        raise RuntimeError("refused")


def test_a_unit_that_raises_keeps_nothing_of_it(database: Database) -> None:
    with database.sessions() as session:
        with pytest.raises(RuntimeError, match="refused"):
            _refused_write(session)
        assert not session.in_transaction()
    assert _entries(database) == 0


def test_the_reads_before_a_unit_belong_to_it(database: Database) -> None:
    with database.sessions() as session:
        session.scalar(select(func.count()).select_from(AuditEntry))
        assert session.in_transaction()
        with unit_of_work(session):
            audit.record(session, user_id=None, action="create", target_type="thing", target_id=1)
        assert not session.in_transaction()
    assert _entries(database) == 1


def test_ending_the_transaction_keeps_what_was_read(database: Database) -> None:
    with database.session() as session:
        audit.record(session, user_id=None, action="create", target_type="thing", target_id=1)
    with database.sessions() as session:
        (entry,) = audit.entries(session, target_type="thing")
        end_transaction(session)
        assert not session.in_transaction()
        assert entry.action == "create"  # read without beginning a new transaction
        assert not session.in_transaction()
