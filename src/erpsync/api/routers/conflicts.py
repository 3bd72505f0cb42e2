"""``/conflicts``: the conflict inbox. Conflicts on fields whose policy is *ask* wait here for the user who changed the
CRM value (administrators see every one); resolving one or many in favour of a side carries its values to both sides
at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from erpsync.http.deps import ClientsDep, DatabaseDep, LicensedUser, SessionDep
from erpsync.sync import conflicts, operations
from erpsync.sync.conflicts import ConflictView
from erpsync.sync.merge import Side
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


class ResolveBody(BaseModel):
    """Which conflicts of your inbox to settle, and the side whose value both sides take."""

    ids: Annotated[list[int], Field(min_length=1, max_length=conflicts.INBOX_LIMIT)]
    side: Side


@router.get("")
def list_conflicts(
    session: SessionDep,
    user: LicensedUser,
    connection_id: int | None = Query(default=None, description="only the conflicts of this connection"),
) -> list[ConflictView]:
    """Your open conflicts, oldest first."""
    return conflicts.inbox(session, user, connection_id=connection_id)


@router.post("/resolve")
def resolve_conflicts(
    body: ResolveBody, session: SessionDep, database: DatabaseDep, clients: ClientsDep, user: LicensedUser
) -> list[RecordResult]:
    """Settle the conflicts ``ids`` in favour of ``side`` and sync their records at once; 404 when one is not in your
    inbox (nothing is changed then)."""
    return operations.resolve_conflicts(session, Engine(database, clients), body.ids, body.side, user=user)
