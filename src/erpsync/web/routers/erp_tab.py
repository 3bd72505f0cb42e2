"""The ERP tab of the company, person and project screens (SPEC §5.1): ``/{companies|persons|projects}/{id}/erp``.

Only users with the ERP licence get it, and only with at least one active connection they can see (``tab_visible``
decides whether the view page shows the tab at all). Everything goes through ``erpsync.sync.erp_tab``, which checks
the connection's visibility and the entity again on every call, in short sessions of its own: the handlers that call a
connector (and the entity check of ``TargetDep``) never begin the request's session, so no SQLite write lock is held
while the connector answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from erpsync import accounts
from erpsync.crm.fields import EntityType
from erpsync.errors import ErpsyncError, NotFoundError, UnavailableError, ValidationError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import User
from erpsync.sync import connection_visibility, erp_tab, field_history, live
from erpsync.sync.merge import Side
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine
from erpsync.web import criteria, crm_forms, pages, segments
from erpsync.web.erp_values import parse_value, value_text
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.security import WebLicensed

router = page_router()


def tab_visible(session: Session, user: User) -> bool:
    """Whether the entity screens show the ERP tab to ``user``."""
    licensed = accounts.has_licence(user, accounts.Licence.ERP)
    return licensed and bool(connection_visibility.visible_connections(session, user, active_only=True))


class _Tab:
    """The ERP tab of one entity family."""

    def __init__(self, segment: str, entity_type: EntityType) -> None:
        self.segment = segment
        self.entity_type = entity_type

    def entity(self, engine: Engine, entity_id: int) -> erp_tab.EntityRef:
        ref = erp_tab.EntityRef(self.entity_type, entity_id)
        or_404(lambda: erp_tab.read_entity(engine, ref))
        return ref

    def url(self, entity_id: int, path: str = "") -> str:
        return f"/{self.segment}/{entity_id}/erp{path}"

    def page(
        self,
        request: Request,
        engine: Engine,
        user: User,
        entity_id: int,
        *,
        result: tuple[int, RecordResult | None, str | None] | None = None,
    ) -> Response:
        ref, user_id = erp_tab.EntityRef(self.entity_type, entity_id), user.id
        entity = _call(lambda: erp_tab.read_entity(engine, ref))
        sections = [_translated(request, section) for section in _call(lambda: erp_tab.sections(engine, user_id, ref))]
        linked = [section.connection_id for section in sections if section.link]
        context = {
            "segment": self.segment,
            "section": self.segment,
            "base": f"/{self.segment}",
            "entity": entity,
            "entity_type": self.entity_type.value,
            "title_of": crm_forms.title_of,
            "sections": sections,
            "last_writes": field_history.last_writes_by_connection(
                engine.database, ref.entity_type.value, entity_id, linked
            ),
            "live_connections": _live_connections(engine),
            "tab_url": self.url(entity_id),
            "erp_tab": True,
            "result": result,
        }
        return pages.render(request, "crm/erp.html", context, user=user)


def _live_connections(engine: Engine) -> set[int]:
    with engine.database.read_session() as session:
        return live.live_connection_ids(session)


def _translated(request: Request, section: erp_tab.Section) -> erp_tab.Section:
    if not section.unavailable:
        return section
    return section.model_copy(update={"error": pages.text(request, "erp.not_answering")})


def _call(operation: Any) -> Any:
    try:
        return operation()
    except NotFoundError as missing:
        raise PageNotFoundError from missing


def _dialog(
    request: Request, user: User, template: str, context: dict[str, Any], *, error: ErpsyncError | None = None
) -> Response:
    """A dialog; with the reason a request was refused (422) or the connector failed (502)."""
    code = status.HTTP_200_OK
    if error is not None:
        code = (
            status.HTTP_422_UNPROCESSABLE_CONTENT
            if isinstance(error, ValidationError)
            else status.HTTP_503_SERVICE_UNAVAILABLE
            if isinstance(error, UnavailableError)
            else status.HTTP_502_BAD_GATEWAY
        )
        context = {**context, "error": pages.error_text(request, error)}
    return pages.render_dialog(request, template, {"error": None, **context}, user=user, status_code=code)


def _actor_type(text: object) -> m.ActorType:
    try:
        return m.ActorType(str(text))
    except ValueError:
        raise PageNotFoundError from None


# --- search -----------------------------------------------------------------------------------------------------------


def _search_context(
    tab: _Tab, entity_id: int, connection_id: int, actor_type: m.ActorType, fields: list[m.FieldMeta]
) -> dict[str, Any]:
    return {
        "action": tab.url(entity_id, f"/{connection_id}/search"),
        "connect_url": tab.url(entity_id, f"/{connection_id}/connect"),
        "create_url": tab.url(entity_id, f"/{connection_id}/create?actor_type={actor_type.value}"),
        "back_url": tab.url(entity_id),
        "actor_type": actor_type,
        "fields": fields,
        "operators": m.OPERATORS_BY_TYPE,
        "rows": range(criteria.ADVANCED_ROWS),
        "hits": [],
        "searched": False,
    }


# --- compare and connect ----------------------------------------------------------------------------------------------


def _winners(form: FormData) -> dict[str, Side]:
    winners = {}
    for key, value in form.multi_items():
        if key.startswith("winner.") and value in (Side.CRM.value, Side.ERP.value):
            winners[key.removeprefix("winner.")] = Side(str(value))
    return winners


def _refused_fields(error: erp_tab.RefusedRequestError, member: str) -> dict[str, str]:
    """The refused parts of a request, by the field they concern (``("values", key)`` -> key)."""
    return {str(loc[1]): message for loc, message in error.problems if len(loc) > 1 and loc[0] == member}


# --- the routes -------------------------------------------------------------------------------------------------------


TABS = {segment: _Tab(segment, entity_type) for segment, entity_type in crm_forms.ENTITY_BY_SEGMENT.items()}


@dataclass(frozen=True)
class _Target:
    """The entity whose ERP tab a request is on (it exists: 404 otherwise)."""

    tab: _Tab
    entity_id: int
    entity: erp_tab.EntityRef

    def url(self, path: str = "") -> str:
        return self.tab.url(self.entity_id, path)


async def _engine(database: DatabaseDep, clients: ClientsDep) -> Engine:
    return Engine(database, clients)


def _target(request: Request, engine: Annotated[Engine, Depends(_engine)], entity_id: int) -> _Target:
    """The entity, checked in a short read session of its own: the request's session does not begin."""
    tab = TABS[segments.segment_of(request)]
    return _Target(tab, entity_id, tab.entity(engine, entity_id))


@dataclass(frozen=True)
class _SearchQuery:
    actor_type: str
    text: str | None
    advanced: bool
    page: int = 1


async def _search_query(
    actor_type: Annotated[str, Query(max_length=32)],
    text: Annotated[str | None, Query(max_length=255)] = None,
    advanced: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=erp_tab.MAX_PAGE)] = 1,
) -> _SearchQuery:
    return _SearchQuery(actor_type, text, advanced, page)


def _page_url(request: Request) -> str:
    """The search asked, without its page number: the pager adds one."""
    params = [(key, value) for key, value in request.query_params.multi_items() if key != "page"]
    return f"{request.url.path}?{urlencode(params)}&page="


TargetDep = Annotated[_Target, Depends(_target)]
EngineDep = Annotated[Engine, Depends(_engine)]


def read_sections(request: Request, engine: EngineDep, user: WebLicensed, target: TargetDep) -> Response:
    return target.tab.page(request, engine, user, target.entity_id)


def search(
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    target: TargetDep,
    connection_id: int,
    query: Annotated[_SearchQuery, Depends(_search_query)],
) -> Response:
    """The connect dialog: runs at once with the entity's name; or the text typed, or the advanced criteria."""
    chosen, user_id = _actor_type(query.actor_type), user.id
    fields = _call(lambda: erp_tab.search_fields(engine, user_id, connection_id, chosen))
    context = _search_context(target.tab, target.entity_id, connection_id, chosen, fields)
    restrictions = criteria.restrictions(request.query_params, fields) if query.advanced else None
    context |= {"text": query.text, "advanced": query.advanced, "params": request.query_params, "searched": True}
    try:
        found = _call(
            lambda: erp_tab.search_page(
                engine,
                user_id,
                target.entity,
                connection_id,
                actor_type=chosen,
                text=query.text,
                restrictions=restrictions,
                page=query.page,
            )
        )
        context |= {"hits": found.hits, "page": found.page, "more": found.more}
        context |= {"first_hit": (found.page - 1) * erp_tab.SEARCH_LIMIT + 1, "page_url": _page_url(request)}
    except ErpsyncError as error:
        return _dialog(request, user, "crm/erp_search.html", context, error=error)
    return _dialog(request, user, "crm/erp_search.html", context)


def connect(
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    form: PostedForm,
    target: TargetDep,
    connection_id: int,
) -> Response:
    """A hit picked: when values differ the user chooses the winner per field first; then the link is made."""
    chosen = _actor_type(form.get("actor_type"))
    erp_key, user_id = str(form.get("erp_key") or ""), user.id
    context: dict[str, Any] = {
        "action": target.url(f"/{connection_id}/connect"),
        "back_url": target.url(),
        "actor_type": chosen,
        "erp_key": erp_key,
        "winners": _winners(form),
        "field_errors": {},
    }
    entity = target.entity
    try:
        comparisons = _call(
            lambda: erp_tab.compare(engine, user_id, entity, connection_id, actor_type=chosen, erp_key=erp_key)
        )
        context["comparisons"] = comparisons
        if form.get("stage") != "winners" and any(c.differ for c in comparisons):
            return _dialog(request, user, "crm/erp_winners.html", context)
        _call(
            lambda: erp_tab.connect_actor(
                engine, user_id, entity, connection_id, actor_type=chosen, erp_key=erp_key, winners=context["winners"]
            )
        )
    except erp_tab.RefusedRequestError as refused:
        context["field_errors"] = _refused_fields(refused, "winners")
        return _dialog(request, user, "crm/erp_winners.html", context, error=refused)
    except ErpsyncError as error:
        context.setdefault("comparisons", [])
        return _dialog(request, user, "crm/erp_winners.html", context, error=error)
    return pages.redirect(request, target.url())


def _create_context(target: _Target, connection_id: int, chosen: m.ActorType) -> dict[str, Any]:
    return {
        "action": target.url(f"/{connection_id}/create?actor_type={chosen.value}"),
        "back_url": target.url(),
        "actor_type": chosen,
        "prompts": [],
        "values": {},
        "update_crm": [],
        "field_errors": {},
        "value_text": value_text,
    }


def create_form(
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    target: TargetDep,
    connection_id: int,
    actor_type: Annotated[str, Query(max_length=32)],
) -> Response:
    """*Create in ERP*: the defaults that ask the user, pre-filled; mandatory ones required."""
    chosen, user_id = _actor_type(actor_type), user.id
    context = _create_context(target, connection_id, chosen)
    try:
        prompts = _call(lambda: erp_tab.create_form(engine, user_id, target.entity, connection_id, actor_type=chosen))
    except ErpsyncError as error:
        return _dialog(request, user, "crm/erp_create.html", context, error=error)
    context |= {"prompts": prompts, "values": {p.key: value_text(p.value) for p in prompts}}
    return _dialog(request, user, "crm/erp_create.html", context)


def create(
    request: Request,
    engine: EngineDep,
    user: WebLicensed,
    form: PostedForm,
    target: TargetDep,
    connection_id: int,
    actor_type: Annotated[str, Query(max_length=32)],
) -> Response:
    chosen, user_id, entity = _actor_type(actor_type), user.id, target.entity
    context = _create_context(target, connection_id, chosen)
    try:
        prompts = _call(lambda: erp_tab.create_form(engine, user_id, entity, connection_id, actor_type=chosen))
        context["prompts"] = prompts
        values, errors = _answers(form, prompts)
        update_crm = [p.key for p in prompts if p.from_record and form.get(f"update_crm.{p.key}")]
        context |= {"values": {p.key: str(form.get(f"value.{p.key}") or "") for p in prompts}, "update_crm": update_crm}
        if errors:
            context["field_errors"] = errors
            raise ValidationError("fix the marked values")
        _call(
            lambda: erp_tab.create_in_erp(
                engine, user_id, entity, connection_id, actor_type=chosen, values=values, update_crm=update_crm
            )
        )
    except erp_tab.RefusedRequestError as refused:
        context["field_errors"] = _refused_fields(refused, "values")
        return _dialog(request, user, "crm/erp_create.html", context, error=refused)
    except ErpsyncError as error:
        return _dialog(request, user, "crm/erp_create.html", context, error=error)
    return pages.redirect(request, target.url())


def sync_now(request: Request, engine: EngineDep, user: WebLicensed, target: TargetDep, connection_id: int) -> Response:
    """*Sync now*: this record at once; the tab shows what it did."""
    user_id = user.id
    try:
        result = _call(lambda: erp_tab.sync_now(engine, user_id, target.entity, connection_id))
    except ErpsyncError as error:
        failed = (connection_id, None, pages.error_text(request, error))
        return target.tab.page(request, engine, user, target.entity_id, result=failed)
    done = (connection_id, result, None)
    return target.tab.page(request, engine, user, target.entity_id, result=done)


def confirm_disconnect(
    request: Request, session: SessionDep, user: WebLicensed, target: TargetDep, connection_id: int
) -> Response:
    connection = or_404(lambda: connection_visibility.get_connection(session, connection_id, user=user))
    context = {
        "title_key": "erp.disconnect_title",
        "question_key": "erp.disconnect_question",
        "button_key": "erp.disconnect",
        "message": connection.name,
        "action": target.url(f"/{connection_id}/disconnect"),
        "back_url": target.url(),
        "error": None,
    }
    return pages.render_dialog(request, "confirm.html", context, user=user)


def disconnect(
    request: Request, engine: EngineDep, user: WebLicensed, target: TargetDep, connection_id: int
) -> Response:
    """Removes the link only: nothing is deleted in the ERP."""
    user_id = user.id
    _call(lambda: erp_tab.disconnect(engine, user_id, target.entity, connection_id))
    return pages.redirect(request, target.url())


def _answers(form: FormData, prompts: Sequence[erp_tab.Prompt]) -> tuple[dict[str, m.Value], dict[str, str]]:
    """The typed answers of the create dialog, and per field the message of one of the wrong kind."""
    values: dict[str, m.Value] = {}
    errors: dict[str, str] = {}
    for prompt in prompts:
        value, error = parse_value(prompt.type, str(form.get(f"value.{prompt.key}") or ""))
        if error:
            errors[prompt.key] = error
        values[prompt.key] = value
    return values, errors


segments.route_families(
    router,
    [
        ("GET", "/{entity_id}/erp", read_sections),
        ("GET", "/{entity_id}/erp/{connection_id}/search", search),
        ("POST", "/{entity_id}/erp/{connection_id}/connect", connect),
        ("GET", "/{entity_id}/erp/{connection_id}/create", create_form),
        ("POST", "/{entity_id}/erp/{connection_id}/create", create),
        ("POST", "/{entity_id}/erp/{connection_id}/sync", sync_now),
        ("GET", "/{entity_id}/erp/{connection_id}/disconnect", confirm_disconnect),
        ("POST", "/{entity_id}/erp/{connection_id}/disconnect", disconnect),
    ],
)
