"""Bodies of the import, resync and background-job endpoints, and the progress (percentage, ETA) of a job."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from erpsync.protocol import models as m
from erpsync.storage.tables import ImportItem, SyncJob, SyncRun, utcnow
from erpsync.sync import runs
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.imports import PREVIEW_LIMIT, ImportResult, PreviewRow


class RestrictionBody(BaseModel):
    field: str
    operator: str
    values: list[m.Value] = Field(default_factory=list, max_length=m.MAX_KEYS)

    def input(self) -> RestrictionInput:
        return RestrictionInput(field=self.field, operator=self.operator, values=self.values)


class PreviewBody(BaseModel):
    actor_type: m.ActorType
    restrictions: list[RestrictionBody] | None = Field(default=None, description="None: every actor of the type")
    limit: int = Field(default=PREVIEW_LIMIT, ge=1, le=m.MAX_LIMIT)


class ImportBody(BaseModel):
    actor_type: m.ActorType
    restrictions: list[RestrictionBody] | None = Field(default=None, description="None: every actor of the type")
    erp_keys: list[str] | None = Field(default=None, description="the ticked rows; None: all the search finds")


class ResyncBody(BaseModel):
    no_blank_overwrite: bool | None = Field(default=None, description="None: the connection's option")


class PreviewRowPublic(BaseModel):
    erp_key: str
    label: str
    action: str
    entity_id: int | None
    reason: str


def preview_public(row: PreviewRow) -> PreviewRowPublic:
    return PreviewRowPublic(
        erp_key=row.erp_key, label=row.label, action=row.verb.value, entity_id=row.entity_id, reason=row.reason
    )


class JobPublic(BaseModel):
    id: int
    kind: str
    connection_id: int
    actor_type: str | None
    status: str
    run_id: int | None
    total: int | None
    processed: int
    created: int
    linked: int
    skipped: int
    failed: int
    percentage: float | None
    eta_seconds: float | None
    cancel_requested: bool
    error: str | None
    error_reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    undone_at: dt.datetime | None


def _eta(job: SyncJob, run: SyncRun | None) -> float | None:
    """Seconds left at the current run's pace; None before a page is done or when the total is unknown."""
    if run is None or job.total is None:
        return None
    return runs.eta_seconds(run, remaining=job.total - job.processed, now=utcnow())


def job_public(job: SyncJob, run: SyncRun | None) -> JobPublic:
    percentage = None if not job.total else round(100.0 * min(job.processed, job.total) / job.total, 1)
    if job.total == 0 and job.status == "done":
        percentage = 100.0
    return JobPublic(
        id=job.id,
        kind=job.kind,
        connection_id=job.connection_id,
        actor_type=job.actor_type,
        status=job.status,
        run_id=job.run_id,
        total=job.total,
        processed=job.processed,
        created=job.created,
        linked=job.linked,
        skipped=job.skipped,
        failed=job.failed,
        percentage=percentage,
        eta_seconds=_eta(job, run),
        cancel_requested=job.cancel_requested,
        error=job.error,
        error_reason=job.error_reason,
        created_at=job.created_at,
        finished_at=job.finished_at,
        undone_at=job.undone_at,
    )


class ItemPublic(BaseModel):
    erp_key: str
    entity_type: str | None
    entity_id: int | None
    reason: str | None


class ImportResultPublic(BaseModel):
    job: JobPublic
    created: list[ItemPublic]
    updated: list[ItemPublic]
    skipped: list[ItemPublic]


def _item(item: ImportItem) -> ItemPublic:
    return ItemPublic(erp_key=item.erp_key, entity_type=item.entity_type, entity_id=item.entity_id, reason=item.reason)


def result_public(result: ImportResult, run: SyncRun | None) -> ImportResultPublic:
    return ImportResultPublic(
        job=job_public(result.job, run),
        created=[_item(item) for item in result.created],
        updated=[_item(item) for item in result.linked],
        skipped=[_item(item) for item in result.skipped],
    )


class UndoPublic(BaseModel):
    deleted: int
