"""Import from ERP (SPEC §5.3), a wizard for administrators on the selected connection: actor type -> criteria (every
actor of the type, or advanced criteria) -> the actors found, with checkboxes -> per ticked row what the import will
do -> the run, a background job (its live progress and result: ``sync_jobs``) -> *Undo*.

Each step after the first carries the choices so far in its query string (actor type, scope, criteria), so a step
can be reloaded and the next one posts to the same query; the ticked rows travel in the posted form. Everything goes
through ``erpsync.sync.imports``; the request's transaction is ended before the connector is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep, send_job
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import imports, jobs, operations
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.erp_tab import RefusedRequestError, RestrictionInput
from erpsync.sync.mapping import ENTITY_FOR_ACTOR
from erpsync.sync.work import Engine, passes
from erpsync.web import criteria as search_criteria  # the step handler below is named criteria
from erpsync.web import crm_forms, pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.i18n import Translator
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin
from erpsync.web.service_messages import ServiceText

router = page_router(SYNC_TAB)

WIZARD = "/connections/{connection_id}/import"
IMPORT = "/connections/{connection_id}/imports/{job_id}"
SCOPE_CRITERIA = "criteria"
EVERYTHING = "everything"
"""The results step's option to import every actor found, not only the ticked rows (a search may find more than the
preview lists)."""


def connection_of(session: Session, admin: User, connection_id: int) -> ErpConnection:
    return or_404(lambda: get_connection(session, connection_id, user=admin))


def _mapped_types(engine: Engine, session: Session, connection: ErpConnection) -> list[m.ActorType]:
    return [p.actor_type for p in passes(engine, session, connection)]


@dataclass(frozen=True)
class Choice:
    """The wizard's choices so far, read from the query string."""

    actor_type: m.ActorType
    criteria: bool
    fields: list[m.FieldMeta]
    restrictions: list[RestrictionInput]
    rows: list[int]  # the criteria form's row of each restriction

    @property
    def search(self) -> list[RestrictionInput] | None:
        return self.restrictions if self.criteria else None


def _choice(request: Request, session: Session, admin: User, connection_id: int) -> Choice:
    params = request.query_params
    try:
        actor_type = m.ActorType(str(params.get("actor_type") or ""))
    except ValueError:
        raise PageNotFoundError from None
    fields = search_criteria.searchable(session, admin, connection_id, actor_type)
    return Choice(
        actor_type=actor_type,
        criteria=params.get("scope") == SCOPE_CRITERIA,
        fields=fields,
        restrictions=search_criteria.restrictions(params, fields),
        rows=search_criteria.filled_rows(params),
    )


@dataclass
class Step:
    """Renders the wizard's steps for one request; a refusal goes back to the step whose input it concerns."""

    request: Request
    session: Session
    engine: Engine
    admin: User
    connection: ErpConnection

    def url(self, name: str) -> str:
        return str(self.request.app.url_path_for(name, connection_id=self.connection.id))

    def render(self, template: str, context: dict[str, Any], code: int = status.HTTP_200_OK) -> Response:
        shared = {
            "connection": self.connection,
            "section": "settings",
            "query": self.request.url.query,
            "error": None,
            "problems": [],
            "urls": {name: self.url(f"import_{name}") for name in ("choose", "criteria", "results", "preview", "run")},
        }
        return pages.render(self.request, template, {**shared, **context}, user=self.admin, status_code=code)

    def choose(self, chosen: m.ActorType | None = None, error: str | None = None) -> Response:
        context = {
            "step": "choose",
            "actor_types": [m.ActorType(value) for value in self.connection.actor_types_json],
            "mapped": _mapped_types(self.engine, self.session, self.connection),
            "chosen": chosen,
            "error": error,
        }
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
        return self.render("sync/import_choose.html", context, code)

    def criteria(
        self,
        choice: Choice,
        *,
        problems: Sequence[str] = (),
        row_errors: dict[int, str] | None = None,
        error: str | None = None,
        code: int = status.HTTP_200_OK,
    ) -> Response:
        context = {
            "step": "criteria",
            "choice": choice,
            "params": self.request.query_params,
            "operators": m.OPERATORS_BY_TYPE,
            "rows": range(search_criteria.ADVANCED_ROWS),
            "problems": list(problems),
            "row_errors": row_errors or {},
            "error": error,
        }
        return self.render("sync/import_criteria.html", context, code)

    def found(self, choice: Choice, on_found: Callable[[list[imports.PreviewRow]], Response]) -> Response:
        """Runs the choice's search (the preview of its actors) and hands them on; a refusal goes back a step."""
        if choice.criteria and not choice.restrictions:
            return self.criteria(choice, error=self.t("import.no_criteria"), code=status.HTTP_422_UNPROCESSABLE_CONTENT)
        try:
            rows = operations.preview_import(
                self.session,
                self.engine,
                self.connection.id,
                choice.actor_type,
                restrictions=choice.search,
                user=self.admin,
            )
        except RefusedRequestError as refused:
            return self._refused(choice, refused)
        except NotFoundError as missing:
            raise PageNotFoundError from missing
        except ValidationError as error:  # the connection does not map the actor type
            return self.choose(choice.actor_type, error.user_message)
        except ErpsyncError as error:
            return self.criteria(choice, error=error.user_message, code=status.HTTP_502_BAD_GATEWAY)
        return on_found(rows)

    def _refused(self, choice: Choice, refused: RefusedRequestError) -> Response:
        problems = [message for _, message in refused.problems]
        if len(refused.codes) == len(problems):  # worded in the page's language
            said = ServiceText(Translator(pages.language_of(self.request)))
            problems = [said.criterion(code, values) for code, values in refused.codes]
        row_errors = {
            choice.rows[loc[1]]: message
            for (loc, _), message in zip(refused.problems, problems, strict=True)
            if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(choice.rows)
        }
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return self.criteria(choice, problems=problems, row_errors=row_errors, code=code)

    def results(
        self,
        choice: Choice,
        rows: list[imports.PreviewRow],
        *,
        ticked: Sequence[str] | None = None,
        error: str | None = None,
    ) -> Response:
        context = {
            "step": "results",
            "choice": choice,
            "rows": rows,
            "ticked": set(ticked) if ticked is not None else {row.erp_key for row in rows},
            "limit": imports.PREVIEW_LIMIT,
            "error": error,
        }
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
        return self.render("sync/import_results.html", context, code)

    def preview(
        self,
        choice: Choice,
        rows: list[imports.PreviewRow],
        picked: Picked,
        *,
        error: str | None = None,
        code: int = status.HTTP_200_OK,
    ) -> Response:
        context = {
            "step": "preview",
            "choice": choice,
            "rows": picked.rows(rows),
            "picked": picked,
            "segments": crm_forms.SEGMENT_BY_ENTITY,
            "entity_type": ENTITY_FOR_ACTOR[choice.actor_type].value,
            "error": error,
        }
        return self.render("sync/import_preview.html", context, code)

    def t(self, key: str) -> str:
        return Translator(pages.language_of(self.request))(key)


@dataclass(frozen=True)
class Picked:
    """The ticked rows of the results step, or every actor found."""

    keys: list[str]
    everything: bool

    @classmethod
    def of(cls, form: FormData) -> Picked:
        keys = [str(key) for key in form.getlist("erp_key") if str(key)]
        return cls(list(dict.fromkeys(keys)), EVERYTHING in form)

    @property
    def empty(self) -> bool:
        return not self.keys and not self.everything

    def rows(self, rows: Sequence[imports.PreviewRow]) -> list[imports.PreviewRow]:
        return list(rows) if self.everything else [row for row in rows if row.erp_key in set(self.keys)]


def _step(
    request: Request, session: Session, database: Database, clients: ConnectorClients, admin: User, connection_id: int
) -> Step:
    connection = connection_of(session, admin, connection_id)
    return Step(request, session, Engine(database, clients), admin, connection)


# --- the steps ------------------------------------------------------------------------------------------------------


@router.get(WIZARD, name="import_choose")
def choose(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
) -> Response:
    """Step 1: the actor type (the connection is the one selected on the Sync tab)."""
    return _step(request, session, database, clients, admin, connection_id).choose()


@router.get(WIZARD + "/criteria", name="import_criteria")
def criteria(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
) -> Response:
    """Step 2: every actor of the type, or advanced criteria on its searchable fields; refused for a type the
    connection does not map."""
    step = _step(request, session, database, clients, admin, connection_id)
    choice = _choice(request, session, admin, connection_id)
    try:
        imports.import_pass(step.engine, session, step.connection, choice.actor_type)
    except ValidationError as error:
        return step.choose(choice.actor_type, error.user_message)
    return step.criteria(choice)


@router.get(WIZARD + "/results", name="import_results")
def results(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
) -> Response:
    """Step 3: the actors found, each with a checkbox (ticked to start with)."""
    step = _step(request, session, database, clients, admin, connection_id)
    choice = _choice(request, session, admin, connection_id)
    return step.found(choice, lambda rows: step.results(choice, rows))


@router.post(WIZARD + "/preview", name="import_preview")
def preview_import(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
) -> Response:
    """Step 4: per ticked row, create, link to an existing record or skip (with why)."""
    step = _step(request, session, database, clients, admin, connection_id)
    choice, picked = _choice(request, session, admin, connection_id), Picked.of(form)

    def show(rows: list[imports.PreviewRow]) -> Response:
        if picked.empty:
            return step.results(choice, rows, ticked=[], error=step.t("import.tick_rows"))
        return step.preview(choice, rows, picked)

    return step.found(choice, show)


@router.post(WIZARD + "/run", name="import_run")
def start_import(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
) -> Response:
    """Step 5: the import starts as a background job; its page shows the progress and then the result."""
    step = _step(request, session, database, clients, admin, connection_id)
    choice, picked = _choice(request, session, admin, connection_id), Picked.of(form)
    if picked.empty:
        return step.found(choice, lambda rows: step.results(choice, rows, ticked=[], error=step.t("import.tick_rows")))
    try:
        job = operations.start_import(
            session,
            step.engine,
            connection_id,
            choice.actor_type,
            restrictions=choice.search,
            erp_keys=None if picked.everything else picked.keys,
            user=admin,
        )
    except ErpsyncError as error:  # an import or resync of the connection under way, or the connector failed
        message, code = error.user_message, _status_of(error)
        return step.found(choice, lambda rows: step.preview(choice, rows, picked, error=message, code=code))
    send_job(request.app.state, job.id)
    return pages.redirect(request, job_url(request, connection_id, job.id))


def _status_of(error: ErpsyncError) -> int:
    if isinstance(error, ConflictError):
        return status.HTTP_409_CONFLICT
    if isinstance(error, ValidationError):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    return status.HTTP_502_BAD_GATEWAY


def job_url(request: Request, connection_id: int, job_id: int, query: str = "") -> str:
    path = str(request.app.url_path_for("sync_job", connection_id=connection_id, job_id=job_id))
    return f"{path}?{query}" if query else path


# --- undo -----------------------------------------------------------------------------------------------------------


def _import_job(session: Session, admin: User, connection_id: int, job_id: int) -> int:
    connection_of(session, admin, connection_id)
    job = or_404(lambda: jobs.get_job(session, job_id, kind=jobs.JobKind.IMPORT))
    if job.connection_id != connection_id:
        raise PageNotFoundError
    return job.created


def _undo_dialog(
    request: Request, admin: User, connection_id: int, job_id: int, created: int, *, error: str | None = None
) -> Response:
    context = {
        "title_key": "import.undo_title",
        "question_key": "import.undo_question",
        "button_key": "import.undo",
        "message": str(created),
        "action": str(request.app.url_path_for("import_undo", connection_id=connection_id, job_id=job_id)),
        "back_url": job_url(request, connection_id, job_id),
        "error": error,
    }
    code = status.HTTP_409_CONFLICT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "confirm.html", context, user=admin, status_code=code)


@router.get(IMPORT + "/undo", name="import_undo_confirm")
def confirm_undo(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, job_id: int) -> Response:
    created = _import_job(session, admin, connection_id, job_id)
    return _undo_dialog(request, admin, connection_id, job_id, created)


@router.post(IMPORT + "/undo", name="import_undo")
def undo_import(
    request: Request, session: SessionDep, database: DatabaseDep, admin: WebAdmin, connection_id: int, job_id: int
) -> Response:
    """Deletes the CRM records the import created (and their links); nothing is deleted in the ERP."""
    created = _import_job(session, admin, connection_id, job_id)
    try:
        deleted = operations.undo_import(session, database, connection_id, job_id, user=admin)
    except ErpsyncError as refused:  # still running, undone already, or a sync holds the connection
        return _undo_dialog(request, admin, connection_id, job_id, created, error=refused.user_message)
    return pages.redirect(request, job_url(request, connection_id, job_id, f"undone={deleted}"))
