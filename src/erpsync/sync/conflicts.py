"""The conflict inbox: a person decides the conflicts no rule should.

A field whose policy is *ask* (``merge.Policy.ASK``) is not settled when both sides changed it to different values:
the merge writes nothing and keeps the agreed value (``DecisionKind.ASKED``), the record keeps syncing its other
fields, and the engine notes the conflict here (``note``) with both values, who changed the CRM value and when each
side changed. One open conflict per link and field: a later sync updates its values, and one where both sides came
to agree by themselves closes it (resolution ``same``).

The inbox (``inbox``) shows a user the open conflicts of the CRM values they changed, in connections they may see;
administrators see every one. ``settle`` settles one or many at once with the side chosen: it moves each link's
agreed value of the field to the *other* side's value, so the link's next sync sees only the chosen side changed and
carries its value to the other side through the usual merge and write path (``operations.resolve_conflicts`` then
syncs those links at once).

Public names: ``ConflictView``, ``note``, ``inbox``, ``settle``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol.models import Value
from erpsync.storage.tables import ErpConnection, ErpLink, SyncConflict, User, utcnow
from erpsync.sync import links
from erpsync.sync.connection_visibility import visible_connections
from erpsync.sync.merge import Decision, DecisionKind, Side, with_agreed

INBOX_LIMIT = 500


class ConflictView(BaseModel):
    """One open conflict as the inbox shows it."""

    model_config = ConfigDict(frozen=True)

    id: int
    connection_id: int
    connection_name: str
    link_id: int
    entity_type: str
    entity_id: int
    erp_key: str
    field: str
    agreed_value: Value
    crm_value: Value
    erp_value: Value
    crm_changed_by: str
    crm_changed_at: dt.datetime | None
    erp_changed_at: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime


# --- the engine's side ----------------------------------------------------------------------------------------------


def note(
    session: Session,
    link: ErpLink,
    decisions: Sequence[Decision],
    *,
    crm_changed_by: str,
    crm_changed_at: dt.datetime | None,
    erp_changed_at: str | None,
) -> None:
    """Open or update the conflicts of ``link``'s asked decisions; close the open ones of fields settled since."""
    open_rows = {
        row.field: row
        for row in session.scalars(
            select(SyncConflict).where(SyncConflict.link_id == link.id, SyncConflict.resolved_at.is_(None))
        )
    }
    now = utcnow()
    for decision in decisions:
        row = open_rows.get(decision.field)
        if decision.kind is not DecisionKind.ASKED:
            if row is not None:  # both sides agree now, or one side gave in: nothing waits any more
                row.resolved_at, row.resolved_by, row.resolution = now, "sync", "same"
            continue
        if row is None:
            row = SyncConflict(
                link_id=link.id,
                connection_id=link.connection_id,
                entity_type=link.entity_type,
                entity_id=link.entity_id,
                field=decision.field,
                first_seen_at=now,
            )
            session.add(row)
        row.agreed_value, row.crm_value, row.erp_value = decision.old, decision.crm, decision.erp
        row.crm_changed_by, row.crm_changed_at, row.erp_changed_at = crm_changed_by, crm_changed_at, erp_changed_at
        row.last_seen_at = now


# --- the inbox ------------------------------------------------------------------------------------------------------


def inbox(session: Session, user: User | None, *, connection_id: int | None = None) -> list[ConflictView]:
    """The open conflicts ``user`` decides: of the CRM values they changed (every one for administrators and for the
    command line, ``user`` None), in the connections they may see; oldest first."""
    live = select(ErpConnection).where(ErpConnection.deleted_at.is_(None))
    seen = session.scalars(live) if user is None else visible_connections(session, user)
    names = {connection.id: connection.name for connection in seen}
    query = (
        select(SyncConflict, ErpLink.erp_key)
        .join(ErpLink, ErpLink.id == SyncConflict.link_id)
        .where(SyncConflict.resolved_at.is_(None), SyncConflict.connection_id.in_(names))
        .order_by(SyncConflict.first_seen_at, SyncConflict.id)
        .limit(INBOX_LIMIT)
    )
    if connection_id is not None:
        query = query.where(SyncConflict.connection_id == connection_id)
    if user is not None and not user.is_admin:
        query = query.where(SyncConflict.crm_changed_by == f"user:{user.id}")
    return [_view(row, erp_key, names[row.connection_id]) for row, erp_key in session.execute(query)]


def _view(row: SyncConflict, erp_key: str, connection_name: str) -> ConflictView:
    values: dict[str, Any] = {
        name: getattr(row, name)
        for name in ConflictView.model_fields
        if name not in ("connection_name", "erp_key") and hasattr(row, name)
    }
    return ConflictView(connection_name=connection_name, erp_key=erp_key, **values)


def settle(session: Session, conflict_ids: Sequence[int], side: Side, *, user: User | None) -> list[int]:
    """Settle the open conflicts ``conflict_ids`` (each in ``user``'s inbox, else ``NotFoundError`` and nothing
    changed) in favour of ``side``; the links to sync now, in the caller's transaction."""
    wanted = set(conflict_ids)
    if not wanted:
        raise ValidationError("choose at least one conflict to resolve")
    mine = {view.id: view for view in inbox(session, user)}
    missing = sorted(wanted - mine.keys())
    if missing:
        raise NotFoundError(f"no open conflict with id {missing[0]} in your inbox")
    return _settled(session, [mine[i] for i in sorted(wanted)], side, user)


def _settled(session: Session, views: Sequence[ConflictView], side: Side, user: User | None) -> list[int]:
    now, by = utcnow(), "cli" if user is None else f"user:{user.id}"
    ids = [view.id for view in views]
    rows = {row.id: row for row in session.scalars(select(SyncConflict).where(SyncConflict.id.in_(ids)))}
    touched: dict[int, ErpLink] = {}
    for view in views:
        row = rows[view.id]
        link = touched.get(row.link_id) or links.get_link(session, row.link_id)
        touched[link.id] = link
        losing = row.erp_value if side is Side.CRM else row.crm_value
        link.agreed_json = with_agreed(link.agreed_json, row.field, losing)  # the next sync sees only ``side`` changed
        row.resolved_at, row.resolved_by, row.resolution = now, by, side.value
    for connection_id in sorted({view.connection_id for view in views}):
        settled = [view for view in views if view.connection_id == connection_id]
        detail = {
            "conflicts": [v.id for v in settled],
            "side": side.value,
            "fields": sorted({v.field for v in settled}),
        }
        audit.record(
            session,
            user_id=None if user is None else user.id,
            action="conflicts.resolve",
            target_type="connection",
            target_id=connection_id,
            detail=detail,
        )
    return list(touched)
