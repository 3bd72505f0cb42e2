"""The background jobs of a connection (administrators): *Resync* (from the CRM or the ERP, for every linked record,
one actor type or chosen records, with the blank-value option and a *Dry run* first), and the page of an import or
resync job: its live progress (a fragment htmx polls while the job is queued or running: percentage, counts, ETA,
*Cancel*), then its result (an import's created, updated and skipped records, each list selectable, with *Undo*).

The jobs run in the hub's worker (the embedded job thread, or Dramatiq workers with Redis), exactly as when the REST
API starts them; the pages only read the job's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.fields import EntityType
from erpsync.errors import ConflictError, ErpsyncError, ValidationError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep, send_job
from erpsync.protocol import models as m
from erpsync.storage.tables import ImportItem, SyncJob, SyncRun, User
from erpsync.sync import configuration_loading, imports, jobs, operations, resync
from erpsync.sync.job_views import job_public
from erpsync.sync.merge import Side
from erpsync.sync.work import Engine
from erpsync.web import crm_forms, pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_import import connection_of, job_url
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

JOB = "/connections/{connection_id}/jobs/{job_id}"
RESYNC = "/connections/{connection_id}/resync"
POLL_SECONDS = 1
ITEMS_SHOWN = 500
"""Records listed per result list; the counts tell how many there are in all."""
RESULT_LISTS = ("created", "updated", "skipped")
MAX_FIELD = 2000
"""The longest text kept of a resync dialog field (a list of record ids)."""


def _job(session: Session, admin: User, connection_id: int, job_id: int) -> SyncJob:
    connection_of(session, admin, connection_id)
    job = or_404(lambda: jobs.get_job(session, job_id))
    if job.connection_id != connection_id:
        raise PageNotFoundError
    return job


def _titles(session: Session, items: Sequence[ImportItem]) -> dict[int, str]:
    """The CRM records' titles by id; a record deleted since (e.g. by *Undo*) has none."""
    ids = [item.entity_id for item in items if item.entity_id is not None]
    if not items or not ids or items[0].entity_type is None:
        return {}
    table = ENTITY_TABLES[EntityType(items[0].entity_type)]
    return {entity.id: crm_forms.title_of(entity) for entity in session.scalars(select(table).where(table.id.in_(ids)))}


def _result(session: Session, job: SyncJob, shown: str) -> dict[str, Any]:
    """An ended import's lists, and the chosen one's records with their titles."""
    result = imports.import_result(session, job.id)
    lists = {"created": result.created, "updated": result.linked, "skipped": result.skipped}
    items = lists[shown][:ITEMS_SHOWN]
    return {
        "counts": {name: len(listed) for name, listed in lists.items()},
        "shown": shown,
        "records": items,
        "titles": _titles(session, [item for item in items if item.entity_id is not None]),
        "limit": ITEMS_SHOWN,
        "segments": crm_forms.SEGMENT_BY_ENTITY,
    }


def _context(request: Request, session: Session, job: SyncJob, shown: str) -> dict[str, Any]:
    run = session.get(SyncRun, job.run_id) if job.run_id else None
    active = job.status in jobs.ACTIVE
    is_import = job.kind == jobs.JobKind.IMPORT.value
    app = request.app
    urls = {
        name: str(app.url_path_for(f"sync_job_{name}", connection_id=job.connection_id, job_id=job.id))
        for name in ("live", "cancel")
    }
    urls["page"] = job_url(request, job.connection_id, job.id)
    if is_import:
        urls["undo"] = str(app.url_path_for("import_undo_confirm", connection_id=job.connection_id, job_id=job.id))
        urls["again"] = str(app.url_path_for("import_choose", connection_id=job.connection_id))
    return {
        "job": job,
        "progress": job_public(job, run),
        "active": active,
        "is_import": is_import,
        "urls": urls,
        "poll_seconds": POLL_SECONDS,
        "result": _result(session, job, shown) if is_import and not active else None,
        "result_lists": RESULT_LISTS,
        "undoable": is_import and not active and job.status != jobs.JobStatus.UNDONE.value and job.created > 0,
        "section": "settings",
    }


ListQuery = Annotated[str, Query(alias="list", pattern="^(created|updated|skipped)$")]


@router.get(JOB, name="sync_job")
def job_page(
    request: Request,
    session: SessionDep,
    admin: WebAdmin,
    connection_id: int,
    job_id: int,
    shown: ListQuery = "created",
) -> Response:
    job = _job(session, admin, connection_id, job_id)
    connection = connection_of(session, admin, connection_id)
    context = {**_context(request, session, job, shown), "connection": connection}
    return pages.render(request, "sync/job.html", context, user=admin)


@router.get(JOB + "/live", name="sync_job_live")
def job_live(
    request: Request,
    session: SessionDep,
    admin: WebAdmin,
    connection_id: int,
    job_id: int,
    shown: ListQuery = "created",
) -> Response:
    """The part of the job's page that changes: htmx polls it while the job is queued or running."""
    job = _job(session, admin, connection_id, job_id)
    return pages.render(request, "sync/job_live.html", _context(request, session, job, shown), user=admin)


@router.post(JOB + "/cancel", name="sync_job_cancel")
def cancel_job(
    request: Request, session: SessionDep, database: DatabaseDep, admin: WebAdmin, connection_id: int, job_id: int
) -> Response:
    """A queued job stops at once, a running one at its next page; what it did so far stays."""
    with suppress(ConflictError):  # it ended meanwhile: its page shows how
        or_404(lambda: operations.cancel_job(session, database, connection_id, job_id, user=admin))
    return pages.redirect(request, job_url(request, connection_id, job_id))


# --- resync ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ResyncForm:
    """The resync dialog's choices: the side whose values win, the actor type, chosen records, the blank option."""

    source: str = "crm"
    actor_type: str = ""
    records: str = ""
    no_blank_overwrite: bool = False

    @classmethod
    def of(cls, form: FormData) -> _ResyncForm:
        text = {key: str(form.get(key) or "").strip()[:MAX_FIELD] for key in ("source", "actor_type", "records")}
        return cls(text["source"] or "crm", text["actor_type"], text["records"], "no_blank_overwrite" in form)

    def scope(self) -> resync.ResyncScope:
        """``ValidationError`` for a side, actor type or record id that is none."""
        try:
            ids = [int(part) for part in self.records.replace(",", " ").split()]
            actor_type = m.ActorType(self.actor_type) if self.actor_type else None
            return resync.ResyncScope(Side(self.source), actor_type, tuple(ids) if ids else None)
        except ValueError as wrong:
            raise ValidationError(str(wrong)) from wrong


def _resync_dialog(
    request: Request,
    session: Session,
    admin: User,
    connection_id: int,
    *,
    choices: _ResyncForm | None = None,
    error: str | None = None,
    preview: resync.DryRun | None = None,
) -> Response:
    connection = connection_of(session, admin, connection_id)
    config = configuration_loading.load_config(session, connection)
    blank = config.no_blank_overwrite if choices is None else choices.no_blank_overwrite
    context = {
        "connection": connection,
        "choices": choices or _ResyncForm(),
        "actor_types": sorted(config.mappings),
        "no_blank_overwrite": blank,
        "action": str(request.app.url_path_for("resync_start", connection_id=connection_id)),
        "back_url": "/settings/sync",
        "error": error,
        "preview": preview,
    }
    code = status.HTTP_409_CONFLICT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "sync/resync_dialog.html", context, user=admin, status_code=code)


@router.get(RESYNC, name="resync_confirm")
def confirm_resync(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    return _resync_dialog(request, session, admin, connection_id)


@router.post(RESYNC, name="resync_start")
def start_resync(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
) -> Response:
    """*Dry run* shows what the resync would change, in the dialog; *Resync* runs it as a background job whose page
    shows the progress (and, at its end, its run with *Undo*)."""
    connection_of(session, admin, connection_id)
    choices = _ResyncForm.of(form)
    sync, blank = Engine(database, clients), choices.no_blank_overwrite
    try:
        scope = choices.scope()
        if "dry_run" in form:
            found = operations.dry_run_resync(
                session, sync, connection_id, no_blank_overwrite=blank, user=admin, scope=scope
            )
            return _resync_dialog(request, session, admin, connection_id, choices=choices, preview=found)
        job = operations.start_resync(session, sync, connection_id, no_blank_overwrite=blank, user=admin, scope=scope)
    except ErpsyncError as refused:  # a wrong choice, or an import or resync of the connection under way
        error = pages.error_text(request, refused)
        return _resync_dialog(request, session, admin, connection_id, choices=choices, error=error)
    send_job(request.app.state, job.id)
    return pages.redirect(request, job_url(request, connection_id, job.id))
