"""``/history``: the field history of a record (administrators), revert of one field, undo of a run, and how long the
history is kept."""

from __future__ import annotations

from fastapi import APIRouter, Query

from erpsync.api.history_schemas import (
    FieldChangePublic,
    HistorySettingsBody,
    RunUndoPublic,
    field_change_public,
    undo_public,
)
from erpsync.crm.fields import EntityType
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep
from erpsync.sync import field_history, operations
from erpsync.sync.work import Engine

router = APIRouter(tags=["history"])


@router.get("/history/{entity_type}/{entity_id}")
def record_history(
    entity_type: EntityType,
    entity_id: int,
    session: SessionDep,
    _admin: AdminUser,
    connection_id: int | None = Query(default=None, description="only the changes through this connection"),
    limit: int = Query(default=100, ge=1, le=field_history.MAX_HISTORY_PAGE),
    offset: int = Query(default=0, ge=0),
) -> list[FieldChangePublic]:
    """Every field change of the record, newest first, with its writer, side, old and new value."""
    changes = field_history.record_history(
        session, entity_type.value, entity_id, connection_id=connection_id, limit=limit, offset=offset
    )
    return [field_change_public(change) for change in changes]


@router.post("/history/changes/{change_id}/revert")
def revert_field(
    change_id: int, session: SessionDep, database: DatabaseDep, clients: ClientsDep, admin: AdminUser
) -> RunUndoPublic:
    """Write back the value the change replaced, on the side it was made; left alone (and listed) when the field was
    edited since. The revert is a run of its own, audited."""
    return undo_public(operations.revert_field(session, Engine(database, clients), change_id, user=admin))


@router.post("/runs/{run_id}/undo")
def undo_run(
    run_id: int, session: SessionDep, database: DatabaseDep, clients: ClientsDep, admin: AdminUser
) -> RunUndoPublic:
    """Undo a sync cycle, resync, import (or an undo) field by field from the stored old and new values, on both
    sides; fields edited since are left alone and listed. 409 while the run runs or once it was undone."""
    return undo_public(operations.undo_run(session, Engine(database, clients), run_id, user=admin))


@router.get("/engine/history")
def read_history_settings(session: SessionDep, _admin: AdminUser) -> HistorySettingsBody:
    return HistorySettingsBody(days=field_history.history_days(session))


@router.put("/engine/history")
def save_history_settings(session: SessionDep, _admin: AdminUser, body: HistorySettingsBody) -> HistorySettingsBody:
    return HistorySettingsBody(days=operations.save_history_days(session, body.days))
