"""Bodies of the field history (``/history``), undo of a run and revert of a field, and the history's retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from erpsync.storage.tables import FieldChange
from erpsync.sync.field_history import MAX_HISTORY_DAYS
from erpsync.sync.undo import LeftAlone, Target, UndoResult


class FieldChangePublic(BaseModel):
    """One field changed on one ``side`` (crm or erp) of a linked record: ``old_value`` -> ``new_value`` (keyed by
    the ERP field key), written by ``source`` (sync, import, resync, revert, undo, user_edit) in run ``run_id`` (none
    for a user's CRM edit) through connection ``connection_id``; ``user_id``: who asked, for a resync, revert, undo or
    user edit."""

    id: int
    entity_type: str
    entity_id: int
    connection_id: int | None
    actor_type: str | None
    erp_key: str | None
    run_id: int | None
    side: str
    field: str
    old_value: Any
    new_value: Any
    source: str
    user_id: int | None
    written_by: str | None
    """The value's author: ``user:<id>`` (a CRM edit carried to the ERP, a revert, an undo), ``sync:<connection>``."""
    at: dt.datetime


def field_change_public(change: FieldChange) -> FieldChangePublic:
    return FieldChangePublic(
        id=change.id,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        connection_id=change.connection_id,
        actor_type=change.actor_type,
        erp_key=change.erp_key,
        run_id=change.run_id,
        side=change.side,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
        source=change.source,
        user_id=change.user_id,
        written_by=change.written_by,
        at=change.at,
    )


class WrittenBack(BaseModel):
    entity_type: str
    entity_id: int
    connection_id: int
    side: str
    field: str
    value: Any
    """The value written back (the one the change replaced)."""
    replaced: Any
    """The value it replaced (the one the change wrote)."""


class LeftAlonePublic(WrittenBack):
    reason: str
    """conflict (edited since), not_found, validation, mapping, connector, ..."""
    message: str


def _written(target: Target) -> WrittenBack:
    return WrittenBack(
        entity_type=target.entity_type,
        entity_id=target.entity_id,
        connection_id=target.connection_id,
        side=target.side,
        field=target.field,
        value=target.old,
        replaced=target.new,
    )


def _left(item: LeftAlone) -> LeftAlonePublic:
    return LeftAlonePublic(**_written(item.target).model_dump(), reason=item.reason, message=item.message)


class RunUndoPublic(BaseModel):
    """What an undo or a revert did: its own ``run_id``, the fields written back, those left alone (edited since,
    gone, refused) and, for an import, how many CRM records it created were deleted."""

    run_id: int
    written: list[WrittenBack]
    left_alone: list[LeftAlonePublic]
    deleted: int


def undo_public(result: UndoResult) -> RunUndoPublic:
    return RunUndoPublic(
        run_id=result.run_id,
        written=[_written(t) for t in result.written],
        left_alone=[_left(item) for item in result.left],
        deleted=result.deleted,
    )


class HistorySettingsBody(BaseModel):
    days: int = Field(ge=1, le=MAX_HISTORY_DAYS, description="how many days the field history is kept")
