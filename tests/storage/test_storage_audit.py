"""The audit log records who changed what, and never a secret value."""

from __future__ import annotations

from erpsync import audit
from erpsync.storage.db import Database


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
