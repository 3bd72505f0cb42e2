"""Bodies of the import, resync and background-job endpoints; a job's progress is ``erpsync.sync.job_views``, a
preview row the service's ``erpsync.sync.imports.PreviewRow``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from erpsync.protocol import models as m
from erpsync.storage.tables import ImportItem, SyncRun
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.imports import PREVIEW_LIMIT, ImportResult
from erpsync.sync.job_views import JobPublic, job_public


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
