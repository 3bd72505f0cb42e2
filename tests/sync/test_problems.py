"""Problems grouped by cause (in SQL, by the links' error cause), retried a group at a time; broken links unlinked;
a deleted connection purged with its links, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from erpsync import audit
from erpsync.errors import ConflictError, ErrorCode, NotFoundError
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, ErpConnection, ErpLink, SyncConnector, utcnow
from erpsync.sync import links, problems, setup
from erpsync.sync.problems import FixScreen


def _connection(database: Database, name: str = "Main") -> int:
    with database.session() as session:
        connector = SyncConnector(name=f"c {name}", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        connection = ErpConnection(uuid=f"u-{name}", name=name, connector_id=connector.id)
        session.add(connection)
        session.flush()
        return connection.id


def _links(database: Database, connection_id: int, count: int, *, start: int = 0) -> list[ErpLink]:
    with database.session() as session:
        rows = [
            ErpLink(
                connection_id=connection_id,
                entity_type="company",
                entity_id=n,
                actor_type="customer",
                erp_key=f"C{n}",
                agreed_json={},
            )
            for n in range(start, start + count)
        ]
        session.add_all(rows)
        return rows


def _fail(database: Database, ids: list[int], reason: ErrorCode, message: str, *, hours_ago: int = 0) -> None:
    now = utcnow() - timedelta(hours=hours_ago)
    with database.session() as session:
        for link in session.scalars(select(ErpLink).where(ErpLink.id.in_(ids))):
            if reason is ErrorCode.NOT_FOUND:
                links.mark_broken(link, message, now=now)
            else:
                links.mark_failed(link, reason, message.format(n=link.entity_id), now=now)


def test_failing_records_are_grouped_by_cause_with_where_to_fix_it(database: Database) -> None:
    connection_id = _connection(database)
    rows = [row.id for row in _links(database, connection_id, 310)]
    _fail(database, rows[:300], ErrorCode.MAPPING, "list 'country' has no item for 'FI' on customer {n}", hours_ago=2)
    _fail(database, rows[:300], ErrorCode.MAPPING, "list 'country' has no item for 'FI' on customer {n}")
    _fail(database, rows[300:305], ErrorCode.TRANSIENT, "timeout after 5.0 s")
    _fail(database, rows[305:307], ErrorCode.VALIDATION, "NAME is required")
    _fail(database, rows[307:], ErrorCode.NOT_FOUND, "the ERP actor was deleted or is missing")
    with database.read_session() as session:
        groups = problems.problem_groups(session, connection_id, user=None)
        broken = problems.broken_links(session, connection_id, user=None)
    assert [(g.records, g.error_code, g.fix) for g in groups] == [
        (300, "mapping", FixScreen.LIST_MAPPING),
        (5, "transient", FixScreen.CONNECTION),
        (2, "validation", FixScreen.DEFAULTS),
    ]
    biggest = groups[0]
    assert biggest.message == 'list "…" has no item for "…" on customer #'
    assert [example.link_id for example in biggest.examples] == rows[:3]
    assert biggest.first_seen is not None
    assert biggest.last_seen is not None
    assert biggest.last_seen - biggest.first_seen >= timedelta(hours=2) - timedelta(seconds=5)
    assert [link.link_id for link in broken] == rows[307:]


def test_a_group_is_retried_in_one_action_and_audited(database: Database) -> None:
    connection_id = _connection(database)
    rows = [row.id for row in _links(database, connection_id, 8)]
    _fail(database, rows[:6], ErrorCode.VALIDATION, "customer {n} is locked")
    _fail(database, rows[6:], ErrorCode.VALIDATION, "something else")
    with database.read_session() as session:
        cause = problems.problem_groups(session, connection_id, user=None)[0].cause
    with database.sessions() as session:
        assert problems.retry_group(session, connection_id, cause, user=None) == 6
        with pytest.raises(NotFoundError):
            problems.retry_group(session, connection_id, "no-such-cause", user=None)
    with database.read_session() as session:
        due = links.due_for_retry(session, connection_id, utcnow())
        assert sorted(link.id for link in due) == rows[:6]
        (entry,) = audit.entries(session, target_type="connection")
    assert (entry.action, entry.detail_json) == ("retry_group", {"cause": cause, "records": 6})


def test_a_broken_link_is_unlinked_and_nothing_else(database: Database) -> None:
    connection_id = _connection(database)
    rows = [row.id for row in _links(database, connection_id, 2)]
    _fail(database, rows[:1], ErrorCode.NOT_FOUND, "gone")
    with database.sessions() as session:
        with pytest.raises(ConflictError):
            problems.unlink_broken(session, connection_id, rows[1], user=None)
        problems.unlink_broken(session, connection_id, rows[0], user=None)
        with pytest.raises(NotFoundError):
            problems.unlink_broken(session, connection_id, rows[0], user=None)
    with database.read_session() as session:
        assert [link.id for link in session.scalars(select(ErpLink))] == rows[1:]


def test_only_a_deleted_connection_is_purged_with_its_links_and_an_audit_entry(database: Database) -> None:
    connection_id, other_id = _connection(database), _connection(database, "Other")
    _links(database, connection_id, 40)
    _links(database, other_id, 3)
    with database.sessions() as session, pytest.raises(ConflictError, match="not deleted"):
        setup.purge_connection(session, connection_id, user=None)
    with database.session() as session:
        session.get_one(ErpConnection, connection_id).deleted_at = utcnow()
    with database.sessions() as session:
        assert setup.purge_connection(session, connection_id, user=None) == 40
    with database.read_session() as session:
        assert session.get(ErpConnection, connection_id) is None
        assert session.scalar(select(func.count()).select_from(ErpLink)) == 3
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")).one()
    assert entry.detail_json == {"name": "Main", "links": 40, "via": "cli"}
