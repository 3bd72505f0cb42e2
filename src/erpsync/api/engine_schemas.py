"""Bodies of ``/engine``, ``/runs`` (with any run's progress) and the per-connection sync endpoints (health, failing
records). What Sync now and Retry answer is the service's own view, ``erpsync.sync.record.RecordResult``."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field

from erpsync.storage.tables import ErpLink, SyncEvent, SyncJob, SyncRun
from erpsync.sync.engine_settings import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS
from erpsync.sync.erp_tab import LinkView
from erpsync.sync.job_views import JobPublic, job_public
from erpsync.sync.runs import Health, progress_of


class EngineBody(BaseModel):
    running: bool
    interval_seconds: int = Field(ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS)


class RunPublic(BaseModel):
    id: int
    connection_id: int | None
    kind: str
    status: str
    counts: dict[str, int] = Field(
        description="records, crm_writes, erp_writes, conflicts, errors, broken; and what automatic creation did:"
        " auto_linked, auto_created, to_review (absent in runs from before it was counted)"
    )
    error: str | None
    error_reason: str | None
    progress_done: int
    progress_total: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


def run_public(run: SyncRun) -> RunPublic:
    return RunPublic(
        id=run.id,
        connection_id=run.connection_id,
        kind=run.kind,
        status=run.status,
        counts=run.counts_json,
        error=run.error,
        error_reason=run.error_reason,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


class RunProgressPublic(RunPublic):
    """Any run (sync, Sync now, import, resync) and how far it is: ``progress_done`` records of ``progress_total``
    (None while unknown: a sync's ERP pass cannot know it in advance, and then ``percentage`` and ``eta_seconds`` are
    None too), ``counts`` so far; ``job`` is the import or resync the run is an attempt of."""

    percentage: float | None
    eta_seconds: float | None
    cancel_requested: bool
    job: JobPublic | None


def run_progress_public(run: SyncRun, job: SyncJob | None, *, now: dt.datetime) -> RunProgressPublic:
    progress = progress_of(run, now=now)
    return RunProgressPublic(
        **run_public(run).model_dump(),
        percentage=progress.percentage,
        eta_seconds=progress.eta_seconds,
        cancel_requested=run.cancel_requested,
        job=None if job is None else job_public(job, run),
    )


class EventPublic(BaseModel):
    """One record in one run: ``changes`` has per field old, crm, erp, new, winner, reason, written_to."""

    id: int
    link_id: int | None
    entity_type: str | None
    entity_id: int | None
    actor_type: str | None
    erp_key: str | None
    changes: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    at: dt.datetime


def event_public(event: SyncEvent) -> EventPublic:
    return EventPublic(
        id=event.id,
        link_id=event.link_id,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        actor_type=event.actor_type,
        erp_key=event.erp_key,
        changes=event.changes_json,
        errors=event.errors_json,
        at=event.at,
    )


class HealthPublic(BaseModel):
    in_sync: int
    failing: int
    broken: int
    filtered: int = 0
    last_run: RunPublic | None


def health_public(health: Health) -> HealthPublic:
    last = run_public(health.last_run) if health.last_run else None
    return HealthPublic(**asdict(health.links), last_run=last)


class LinkPublic(LinkView):
    """A link as the failing-records list answers it: the ERP tab's view of a link, with its id, its entity and its
    retry state."""

    id: int
    entity_type: str
    entity_id: int
    error_reason: str | None
    attempts: int
    next_attempt_at: dt.datetime | None


def link_public(link: ErpLink) -> LinkPublic:
    return LinkPublic(
        **LinkView.of(link).model_dump(),
        id=link.id,
        entity_type=link.entity_type,
        entity_id=link.entity_id,
        error_reason=link.error_reason,
        attempts=link.attempts,
        next_attempt_at=link.next_attempt_at,
    )
