"""Bodies of a resync in any scope (``/connections/{id}/resync``) and of its dry run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from erpsync.protocol.models import ActorType
from erpsync.sync.merge import Side
from erpsync.sync.resync import DryRun, ResyncScope, WouldChange


class ResyncScopeBody(BaseModel):
    source: Side = Field(
        default=Side.CRM, description="crm: CRM values pushed to the ERP; erp: ERP values into the CRM"
    )
    actor_type: ActorType | None = Field(default=None, description="one actor type; None: every synced type")
    entity_ids: list[int] | None = Field(
        default=None, max_length=10_000, description="chosen CRM records (of actor_type); None: every linked record"
    )
    no_blank_overwrite: bool | None = Field(default=None, description="None: the connection's option")

    def scope(self) -> ResyncScope:
        ids = None if self.entity_ids is None else tuple(self.entity_ids)
        return ResyncScope(self.source, self.actor_type, ids)


class FieldWouldChange(BaseModel):
    field: str
    side: str
    """The side it would be written on."""
    old: Any
    new: Any


class RecordWouldChange(BaseModel):
    link_id: int
    entity_type: str
    entity_id: int
    actor_type: str
    erp_key: str
    fields: list[FieldWouldChange]
    error: str | None


class DryRunPublic(BaseModel):
    """What the resync would do: ``records`` read, ``changed`` of them (the first ones listed in ``rows``, fields
    old -> new), ``failing`` it could not resync; ``complete`` False when the scope has more than a dry run reads."""

    records: int
    changed: int
    failing: int
    complete: bool
    rows: list[RecordWouldChange]


def _row(row: WouldChange) -> RecordWouldChange:
    fields = [
        FieldWouldChange(
            field=d.field,
            side=str(d.written_to),
            old=d.crm if d.written_to is Side.CRM else d.erp,
            new=d.new,
        )
        for d in row.changes
    ]
    error = None if row.error is None else row.error.message
    return RecordWouldChange(
        link_id=row.link_id,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        actor_type=row.actor_type,
        erp_key=row.erp_key,
        fields=fields,
        error=error,
    )


def dry_run_public(result: DryRun) -> DryRunPublic:
    return DryRunPublic(
        records=result.records,
        changed=result.changed,
        failing=result.failing,
        complete=result.complete,
        rows=[_row(row) for row in result.rows],
    )
