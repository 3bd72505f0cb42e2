"""The CRM change sequence and the change feed the sync engine reads by watermark.

Public names: ``next_change_seq(session)``, ``current_watermark(session)``, ``CrmChange``,
``changes_since(session, entity_type, watermark, *, limit)``.

Why a one-row counter instead of a database sequence: a sequence hands out numbers at call time, so a transaction that
took 7 can commit after one that took 8; a reader that saw 8 and moved its watermark past it would never see 7. Here
every CRM write runs ``UPDATE change_counter SET value = value + 1`` in its own transaction. That row is locked until
the transaction ends (PostgreSQL's row lock; SQLite's write lock, taken at BEGIN IMMEDIATE), so writers are serialised
and commit in sequence order: once number n is visible, every smaller number is committed or rolled back for good.
The cost is that CRM writes do not run in parallel; keep such transactions short (no network calls inside them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from erpsync.crm import notify
from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.fields import EntityType
from erpsync.storage.tables import ChangeCounter, CrmDeletion

COUNTER_ID = 1


def next_change_seq(session: Session) -> int:
    """Take the next sequence number; the counter row stays locked until the caller's transaction ends."""
    return take_change_seqs(session, 1)


def take_change_seqs(session: Session, count: int) -> int:
    """Take ``count`` numbers at once (a bulk write) and return the last; locked like ``next_change_seq``."""
    notify.mark_changed(session)
    counter = ChangeCounter.__table__  # the table, not the class: no ORM bookkeeping for one counter row
    assert isinstance(counter, Table)
    bump = (
        update(counter)
        .where(counter.c.id == COUNTER_ID)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    )
    return int(session.execute(bump).scalar_one())


def current_watermark(session: Session) -> int:
    """The newest sequence number handed out: every change so far is at or below it."""
    return int(session.execute(select(ChangeCounter.value).where(ChangeCounter.id == COUNTER_ID)).scalar_one())


@dataclass(frozen=True)
class CrmChange:
    entity_type: EntityType
    entity_id: int
    change_seq: int
    changed_by: str
    deleted: bool


def _live_changes(session: Session, entity_type: EntityType, watermark: int, limit: int) -> list[CrmChange]:
    table = ENTITY_TABLES[entity_type]
    rows = session.execute(
        select(table.id, table.change_seq, table.changed_by)
        .where(table.change_seq > watermark)
        .order_by(table.change_seq)
        .limit(limit)
    )
    return [CrmChange(entity_type, row.id, row.change_seq, row.changed_by, deleted=False) for row in rows]


def _deletions(session: Session, entity_type: EntityType, watermark: int, limit: int) -> list[CrmChange]:
    rows = session.scalars(
        select(CrmDeletion)
        .where(CrmDeletion.entity_type == entity_type.value, CrmDeletion.change_seq > watermark)
        .order_by(CrmDeletion.change_seq)
        .limit(limit)
    )
    return [CrmChange(entity_type, row.entity_id, row.change_seq, row.changed_by, deleted=True) for row in rows]


def changes_since(
    session: Session,
    entity_type: EntityType,
    watermark: int,
    *,
    limit: int = 500,
) -> list[CrmChange]:
    """Entities of ``entity_type`` changed or deleted after ``watermark``, oldest first, at most ``limit``.

    Each entity appears with its latest change only; the next watermark is the last item's ``change_seq``. The engine
    skips the changes tagged with its own origin (``changed_by == "sync:<connection id>"``) after advancing past them.
    """
    merged = sorted(
        _live_changes(session, entity_type, watermark, limit) + _deletions(session, entity_type, watermark, limit),
        key=lambda change: change.change_seq,
    )
    return merged[:limit]
