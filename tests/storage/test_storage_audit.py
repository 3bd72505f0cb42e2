"""The audit log records who changed what, and never a secret value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erpsync import audit
from erpsync.errors import NotFoundError, ValidationError
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, User, utcnow


def test_entries_are_kept_with_secrets_redacted(database: Database) -> None:
    detail = {"name": "main", "config": {"company": "1", "password": "p4ss", "api_key": "k"}, "secret": "s"}
    with database.session() as session:
        audit.record(session, user_id=None, action="create", target_type="connection", target_id=7, detail=detail)
    with database.session() as session:
        (entry,) = audit.entries(session, target_type="connection")
    assert (entry.action, entry.target_id) == ("create", "7")
    assert entry.detail_json == {
        "name": "main",
        "config": {"company": "1", "password": audit.REDACTED, "api_key": audit.REDACTED},
        "secret": audit.REDACTED,
    }


def test_the_log_is_searched_by_who_what_and_when_a_page_at_a_time(database: Database) -> None:
    with database.session() as session:
        admin = User(login="admin", password_hash="x", is_admin=True)
        session.add(admin)
        session.flush()
        admin_id = admin.id
        for n in range(7):
            audit.record(session, user_id=admin_id, action="update", target_type="connection", target_id=n)
        audit.record(session, user_id=None, action="purge", target_type="connection", target_id=3)
        old = audit.record(session, user_id=admin_id, action="create", target_type="user", target_id=9)
        old.at = utcnow() - timedelta(days=10)
    with database.read_session() as session:
        everything = audit.search(session, audit.AuditFilter())
        assert everything.total == 9
        assert [e.id for e in everything.entries] == sorted((e.id for e in everything.entries), reverse=True)
        page = audit.search(session, audit.AuditFilter(who="admin", action="update", per_page=3, page=3))
        assert (page.total, [e.target_id for e in page.entries]) == (7, ["0"])
        assert [e.who for e in audit.search(session, audit.AuditFilter(who="system")).entries] == ["system"]
        recent = audit.search(session, audit.AuditFilter(since=utcnow() - timedelta(days=1)))
        assert recent.total == 8
        older = audit.search(session, audit.AuditFilter(until=utcnow() - timedelta(days=1), target_type="user"))
        assert [(e.who, e.target_id) for e in older.entries] == [("admin", "9")]
        with pytest.raises(NotFoundError):
            audit.search(session, audit.AuditFilter(who="nobody"))
        with pytest.raises(ValidationError):
            audit.search(session, audit.AuditFilter(since=utcnow(), until=utcnow() - timedelta(days=1)))


def test_a_secret_written_before_redaction_existed_is_redacted_on_read(database: Database) -> None:
    with database.session() as session:
        session.add(AuditEntry(action="update", target_type="connector", detail_json={"secret": "plain"}))
    with database.read_session() as session:
        (entry,) = audit.search(session, audit.AuditFilter()).entries
    assert entry.detail == {"secret": audit.REDACTED}
