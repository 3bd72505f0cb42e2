"""The import's use cases: preview, start, read the result of, undo and run an import."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.service import delete_entity
from erpsync.errors import ConflictError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ImportItem, SyncJob, utcnow
from erpsync.sync import jobs, links, locks
from erpsync.sync.erp_tab import RestrictionInput
from erpsync.sync.imports.classification import Classifier, ItemAction, Verb
from erpsync.sync.imports.paging import import_pager
from erpsync.sync.imports.scope import pass_for, search_actors
from erpsync.sync.mapping import ENTITY_FOR_ACTOR
from erpsync.sync.matching import CrmIndex
from erpsync.sync.work import Engine

PREVIEW_LIMIT = 200
UNDO_LOCK_WAIT_SECONDS = 10.0

# --- preview --------------------------------------------------------------------------------------------------------


class PreviewRow(BaseModel):
    """What an import would do with one ERP actor, for the API's answer (``verb`` as ``action``) and the web page."""

    model_config = ConfigDict(frozen=True)

    erp_key: str
    label: str
    verb: Verb = Field(serialization_alias="action")
    entity_id: int | None
    reason: str = Field(description="why it is linked or skipped, in English")
    reason_code: str = Field(default="", description="the reason as a code (sync.imports.reasons); empty: none")
    reason_values: dict[str, str | int] = Field(default_factory=dict, description="the values the reason names")


def preview(
    engine: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    limit: int = PREVIEW_LIMIT,
) -> list[PreviewRow]:
    """What an import would do with each actor the search finds (or the first ``limit`` actors of the type)."""
    p, searchable = pass_for(engine, connection_id, actor_type)
    if restrictions is not None:
        actors = search_actors(p, searchable, restrictions, limit)
    else:
        actors = p.client.changes(
            connection_id=p.connection_uuid, actor_type=actor_type, since=None, field_keys=p.field_keys, limit=limit
        ).actors
    with closing(CrmIndex(p.entity_type)) as index, engine.database.read_session() as session:
        verdicts = Classifier(p, index).page(session, actors)
    return [
        PreviewRow(
            erp_key=v.erp_key,
            label=_label(v.actor),
            verb=v.verb,
            entity_id=v.entity_id,
            reason=v.why.text if v.why else "",
            reason_code=v.why.code if v.why else "",
            reason_values=dict(v.why.values) if v.why else {},
        )
        for v in verdicts
    ]


def _label(actor: m.Actor) -> str:
    parts = [str(actor.fields.get(key) or "") for key in ("name", "first_name", "last_name")]
    return " ".join(part for part in parts if part) or actor.erp_key or ""


# --- starting, undoing and reading an import ------------------------------------------------------------------------


def start_import(
    engine: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    erp_keys: Sequence[str] | None = None,
    user_id: int | None = None,
) -> SyncJob:
    """Queue an import: every actor of the type, the actors a search finds, or the given keys (the ticked rows; with
    a search, only those of its hits)."""
    p, searchable = pass_for(engine, connection_id, actor_type)
    keys: list[str] | None = list(dict.fromkeys(erp_keys)) if erp_keys is not None else None
    if restrictions is not None:
        found = [actor.erp_key or "" for actor in search_actors(p, searchable, restrictions, m.MAX_LIMIT)]
        keys = found if keys is None else [key for key in found if key in set(keys)]
    job = SyncJob(
        kind=jobs.JobKind.IMPORT.value,
        connection_id=connection_id,
        actor_type=actor_type.value,
        keys_json=keys,
        criteria_json=[vars(r) for r in restrictions or []],
        total=None if keys is None else len(keys),
        created_by=user_id,
    )
    with engine.database.session() as session:
        return jobs.add_job(session, job)


@dataclass(frozen=True)
class ImportResult:
    job: SyncJob
    created: list[ImportItem]
    linked: list[ImportItem]
    skipped: list[ImportItem]


def import_result(session: Session, job_id: int) -> ImportResult:
    job = jobs.get_job(session, job_id, kind=jobs.JobKind.IMPORT)
    items = session.scalars(select(ImportItem).where(ImportItem.job_id == job_id).order_by(ImportItem.id)).all()
    by_action = {action: [item for item in items if item.action == action.value] for action in ItemAction}
    return ImportResult(job, by_action[ItemAction.CREATED], by_action[ItemAction.LINKED], by_action[ItemAction.SKIPPED])


def undo_import(database: Database, job_id: int) -> int:
    """Delete the CRM entities the import created (their links go with them); returns how many were deleted.
    Nothing is deleted in the ERP. Holds the connection's lease, so no sync works on them meanwhile."""
    with database.read_session() as session:
        job = jobs.get_job(session, job_id, kind=jobs.JobKind.IMPORT)
    if job.status in jobs.ACTIVE or job.status == jobs.JobStatus.UNDONE.value:
        raise ConflictError(f"import {job_id} is {job.status}: only a finished import can be undone")
    with (
        locks.held(database, locks.connection_lock(job.connection_id), wait=UNDO_LOCK_WAIT_SECONDS),
        database.session() as session,
    ):
        entity_type = ENTITY_FOR_ACTOR[m.ActorType(job.actor_type or "")]
        created = session.scalars(
            select(ImportItem.entity_id).where(
                ImportItem.job_id == job_id, ImportItem.action == ItemAction.CREATED.value
            )
        ).all()
        deleted = 0
        for entity_id in created:
            if entity_id is None or session.get(ENTITY_TABLES[entity_type], entity_id) is None:
                continue  # deleted meanwhile
            links.remove_entity_links(session, entity_type, entity_id, connection_id=job.connection_id)
            delete_entity(session, entity_type, entity_id, changed_by=f"import-undo:{job_id}")
            deleted += 1
        stored = jobs.get_job(session, job_id)
        stored.status, stored.undone_at = jobs.JobStatus.UNDONE.value, utcnow()
    return deleted


def run_import(engine: Engine, job_id: int, **options: Any) -> SyncJob | None:
    """Run or resume an import job (``jobs.run_job`` options: ``lease_ttl``, ``progress``)."""
    return jobs.run_job(engine, job_id, import_pager, **options)
