"""Bodies of the import, resync and background-job endpoints; a job's progress is ``erpsync.sync.job_views``, a
preview row the service's ``erpsync.sync.imports.PreviewRow``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import BaseModel, Field
from starlette.datastructures import State

from erpsync.protocol import models as m
from erpsync.storage.tables import ImportItem, SyncRun
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.imports import PREVIEW_LIMIT, ImportResult, PreviewRow
from erpsync.sync.job_views import JobPublic, job_public

ReasonWording = Callable[[Mapping[str, object] | None, str], str]
"""Words an import's reason (``{"code", "values"}`` of ``sync.imports.reasons``, else its English text) in the
language the request is served in; the composition root puts the web catalogs' one on ``app.state.word_reason``."""


def reason_wording(state: State) -> ReasonWording:
    """The app's ``ReasonWording``; without one (an app without the web catalogs), the English text as stored."""
    wording: ReasonWording | None = getattr(state, "word_reason", None)
    return wording or _english


def _english(_detail: Mapping[str, object] | None, english: str) -> str:
    return english


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
    reason: str | None = Field(description="why it was linked or skipped, in English")
    reason_code: str | None = Field(
        default=None, description="the reason as a code (import.reason.<code>); None: no reason, or an older item"
    )
    reason_text: str | None = Field(
        default=None, description="the reason in the asking user's language (Accept-Language; English by default)"
    )


class PreviewRowPublic(PreviewRow):
    reason_text: str = Field(
        default="", description="the reason in the asking user's language (Accept-Language; English by default)"
    )


def preview_public(row: PreviewRow, word: ReasonWording) -> PreviewRowPublic:
    detail = {"code": row.reason_code, "values": row.reason_values}
    return PreviewRowPublic(**row.model_dump(), reason_text=word(detail, row.reason) if row.reason else "")


class ImportResultPublic(BaseModel):
    job: JobPublic
    created: list[ItemPublic]
    updated: list[ItemPublic]
    skipped: list[ItemPublic]


def _item(item: ImportItem, word: ReasonWording) -> ItemPublic:
    code = (item.reason_detail or {}).get("code")
    return ItemPublic(
        erp_key=item.erp_key,
        entity_type=item.entity_type,
        entity_id=item.entity_id,
        reason=item.reason,
        reason_code=code if isinstance(code, str) else None,
        reason_text=word(item.reason_detail, item.reason) if item.reason else None,
    )


def result_public(result: ImportResult, run: SyncRun | None, word: ReasonWording) -> ImportResultPublic:
    """The job and its items; each reason also worded by ``word`` (the request's language)."""
    return ImportResultPublic(
        job=job_public(result.job, run),
        created=[_item(item, word) for item in result.created],
        updated=[_item(item, word) for item in result.linked],
        skipped=[_item(item, word) for item in result.skipped],
    )


class UndoPublic(BaseModel):
    deleted: int
