"""The field history (SPEC §4 *History*): every synced field's change on one side of a linked record, with who wrote
it (sync from a connection, an import, a resync, a revert or an undo, and the user who asked), when, and the values
before and after.

Written with the run's per-record event (``runs.add_event``), in the transaction that stores the change, from the
merge's decisions: a decision ``written_to`` a side changed that side from its value then (``crm`` / ``erp``) to
``new``. Values are canonical and keyed by the ERP field key, like the decisions. Read per record (its history page,
the ERP tab's last writer of each field) through the (record, time) index; rows older than the engine settings'
retention are purged in the background, a chunk at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from erpsync.errors import ValidationError
from erpsync.storage.db import Database
from erpsync.storage.tables import EngineState, ErpConnection, ErpLink, FieldChange, SyncRun, User, utcnow
from erpsync.sync.connection_visibility import visible_connections
from erpsync.sync.engine_settings import ENGINE_STATE_ID
from erpsync.sync.merge import Decision

PURGE_CHUNK = 5000
DEFAULT_HISTORY_DAYS = 365
MAX_HISTORY_DAYS = 10 * 365
MAX_HISTORY_PAGE = 1000


class Source(StrEnum):
    """Who wrote a value."""

    SYNC = "sync"  # a sync cycle, Sync now or a record's sync
    IMPORT = "import"
    RESYNC = "resync"
    REVERT = "revert"  # one field set back to its previous value by a user
    UNDO = "undo"  # a run undone
    USER_EDIT = "user_edit"  # a person's edit in the built-in CRM (``sync.crm_edits``): no run


_SOURCE_OF_RUN = {"import": Source.IMPORT, "resync": Source.RESYNC, "revert": Source.REVERT, "undo": Source.UNDO}


def source_of(run: SyncRun) -> Source:
    return _SOURCE_OF_RUN.get(run.kind, Source.SYNC)


def add_decisions(
    session: Session,
    run_id: int,
    link: ErpLink,
    decisions: Sequence[Decision],
    *,
    crm_changed_by: str | None = None,
) -> None:
    """One row per side each decision wrote, in the caller's transaction (the one that stores the event).

    ``written_by`` names the value's author: a value taken from the CRM into the ERP was written by the CRM record's
    last writer (``crm_changed_by``: ``user:<id>`` for a person, the record level being what the CRM keeps); one taken
    from the ERP into the CRM by the connection (``sync:<id>``); a revert's or undo's by the user who asked."""
    written = [d for d in decisions if d.written_to is not None]
    if not written:
        return
    run = session.get(SyncRun, run_id)
    source, user_id = (Source.SYNC, None) if run is None else (source_of(run), run.started_by)
    now = utcnow()
    for decision in written:
        side = str(decision.written_to)
        before = decision.crm if side == "crm" else decision.erp
        session.add(
            FieldChange(
                **_where(link),
                run_id=run_id,
                side=side,
                field=decision.field,
                old_value=before,
                new_value=decision.new,
                source=source.value,
                user_id=user_id,
                written_by=_author(source, user_id, side, link.connection_id, crm_changed_by),
                at=now,
            )
        )


def add_user_edit(session: Session, link: ErpLink, changes: Mapping[str, tuple[Any, Any]], *, user_id: int) -> None:
    """One CRM-side row per field a person's CRM edit changed (``changes``: ERP field key -> (old, new), canonical), in
    the edit's transaction: the ERP tab names the author of a CRM value before any sync carries it."""
    now = utcnow()
    for key, (old, new) in sorted(changes.items()):
        session.add(
            FieldChange(
                **_where(link),
                run_id=None,
                side="crm",
                field=key,
                old_value=old,
                new_value=new,
                source=Source.USER_EDIT.value,
                user_id=user_id,
                written_by=f"user:{user_id}",
                at=now,
            )
        )


def _author(source: Source, user_id: int | None, side: str, connection_id: int, crm_changed_by: str | None) -> str:
    if source in (Source.REVERT, Source.UNDO) and user_id is not None:
        return f"user:{user_id}"
    if side == "erp" and crm_changed_by:
        return crm_changed_by
    return f"sync:{connection_id}"


def _where(link: ErpLink) -> dict[str, Any]:
    return {
        "entity_type": link.entity_type,
        "entity_id": link.entity_id,
        "connection_id": link.connection_id,
        "link_id": link.id,
        "actor_type": link.actor_type,
        "erp_key": link.erp_key,
    }


# --- reading ----------------------------------------------------------------------------------------------------------


def record_history(
    session: Session,
    entity_type: str,
    entity_id: int,
    *,
    connection_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[FieldChange]:
    """A record's changes, newest first (optionally those through one connection)."""
    query = (
        select(FieldChange)
        .where(FieldChange.entity_type == entity_type, FieldChange.entity_id == entity_id)
        .order_by(FieldChange.at.desc(), FieldChange.id.desc())
        .limit(min(limit, MAX_HISTORY_PAGE))
        .offset(offset)
    )
    if connection_id is not None:
        query = query.where(FieldChange.connection_id == connection_id)
    return list(session.scalars(query))


def last_writes(session: Session, entity_type: str, entity_id: int, connection_id: int) -> dict[str, FieldChange]:
    """Per ERP field key, the latest change of the record through ``connection_id`` (on either side)."""
    latest: dict[str, FieldChange] = {}
    for change in record_history(session, entity_type, entity_id, connection_id=connection_id, limit=MAX_HISTORY_PAGE):
        latest.setdefault(change.field, change)
    return latest


@dataclass(frozen=True)
class LastWrites:
    """The ERP tab's view: per connection, the latest change of each field of a record (by field key), and the display
    names of their authors."""

    by_connection: dict[int, list[FieldChange]]
    writers: dict[str, str]

    def get(self, connection_id: int, default: list[FieldChange]) -> list[FieldChange]:
        return self.by_connection.get(connection_id, default)


def last_writes_by_connection(
    database: Database, entity_type: str, entity_id: int, connection_ids: Collection[int]
) -> LastWrites:
    with database.read_session() as session:
        found = {cid: last_writes(session, entity_type, entity_id, cid) for cid in connection_ids}
        by_connection = {cid: [changes[key] for key in sorted(changes)] for cid, changes in found.items()}
        writers = writer_names(session, [c for changes in by_connection.values() for c in changes])
    return LastWrites(by_connection, writers)


def visible_history(
    session: Session, user: User, entity_type: str, entity_id: int, *, limit: int = 100
) -> list[FieldChange]:
    """A record's changes through the connections ``user`` may see, newest first."""
    visible = [c.id for c in visible_connections(session, user, deleted=False)]
    query = (
        select(FieldChange)
        .where(FieldChange.entity_type == entity_type, FieldChange.entity_id == entity_id)
        .where(FieldChange.connection_id.in_(visible))
        .order_by(FieldChange.at.desc(), FieldChange.id.desc())
        .limit(min(limit, MAX_HISTORY_PAGE))
    )
    return list(session.scalars(query))


def writer_names(session: Session, changes: Iterable[FieldChange]) -> dict[str, str]:
    """The display name of each change's author: a user's name, a connection's name; other tags as they are."""
    tags = {change.written_by for change in changes if change.written_by}
    ids = {kind: [int(tag.split(":", 1)[1]) for tag in tags if _is_tag(tag, kind)] for kind in ("user", "sync")}
    users = session.execute(select(User.id, User.name).where(User.id.in_(ids["user"]))).all() if ids["user"] else []
    names = {f"user:{row.id}": row.name for row in users}
    if ids["sync"]:
        found = session.execute(select(ErpConnection.id, ErpConnection.name).where(ErpConnection.id.in_(ids["sync"])))
        names |= {f"sync:{row.id}": row.name for row in found}
    return {tag: names.get(tag, tag) for tag in tags}


def _is_tag(tag: str, kind: str) -> bool:
    prefix, _, number = tag.partition(":")
    return prefix == kind and number.isdigit()


def run_changes(session: Session, run_id: int) -> list[FieldChange]:
    """The changes a run made, in the order it made them."""
    return list(session.scalars(select(FieldChange).where(FieldChange.run_id == run_id).order_by(FieldChange.id)))


def get_change(session: Session, change_id: int) -> FieldChange | None:
    return session.get(FieldChange, change_id)


# --- retention --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    rows: int
    before: dt.datetime


def history_days(session: Session) -> int:
    row = session.get(EngineState, ENGINE_STATE_ID)
    return row.history_days if row is not None else DEFAULT_HISTORY_DAYS


def set_history_days(session: Session, days: int) -> int:
    """Keep the history ``days`` days (``ValidationError`` outside 1 to ``MAX_HISTORY_DAYS``), in the caller's
    transaction; the engine's other settings stay as they are."""
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise ValidationError(f"the history is kept 1 to {MAX_HISTORY_DAYS} days, not {days}")
    row = session.get(EngineState, ENGINE_STATE_ID) or EngineState(id=ENGINE_STATE_ID)
    row.history_days = days
    session.add(row)
    session.flush()
    return days


def purge(database: Database, *, now: dt.datetime | None = None, chunk: int = PURGE_CHUNK) -> Purged:
    """Delete the changes older than the retention, ``chunk`` rows per transaction (oldest first, by the time
    index), so a large purge never holds the write lock long."""
    with database.read_session() as session:
        before = (now or utcnow()) - dt.timedelta(days=history_days(session))
    total = 0
    while True:
        with database.session() as session:
            ids = select(FieldChange.id).where(FieldChange.at < before).order_by(FieldChange.at).limit(chunk)
            deleted = list(session.scalars(ids))
            if deleted:
                session.execute(delete(FieldChange).where(FieldChange.id.in_(deleted)))
        total += len(deleted)
        if len(deleted) < chunk:
            return Purged(total, before)


@dataclass
class DailyPurge:
    """The background work's purge: at most once per ``every`` (a day), the first at start-up."""

    every: dt.timedelta = dt.timedelta(days=1)
    last: dt.datetime | None = None

    def tick(self, database: Database, *, now: dt.datetime | None = None) -> Purged | None:
        now = now or utcnow()
        if self.last is not None and now - self.last < self.every:
            return None
        self.last = now
        return purge(database, now=now)
