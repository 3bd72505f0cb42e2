"""The Sync tab's *Automatic creation* screen, for administrators: an actor type's setting (``sync.auto_config``: a
direction and the match keys), *Preview* (what it would do to today's data, nothing saved) and *Save*; below, the
connection's review list (``sync.auto_reviews``) with its actions: link to a candidate, create new, ignore."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from erpsync.errors import ErpsyncError, ValidationError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import (
    auto_config,
    auto_reviews,
    configuration,
    configuration_loading,
    connection_visibility,
)
from erpsync.sync.auto_matching import WAITING
from erpsync.sync.auto_reviews import ReviewAction
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, AutoCreate, AutoDirection
from erpsync.sync.match_keys import AUTO_CRITERIA
from erpsync.sync.work import Engine
from erpsync.web import pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

_AUTO = "/connections/{connection_id}/auto-create"
ActorTypeQuery = Annotated[str | None, Query(max_length=32)]


def _screen(
    session: SessionDep, admin: User, connection_id: int, actor_type: str | None
) -> tuple[ErpConnection, m.ActorType]:
    connection = or_404(lambda: connection_visibility.get_connection(session, connection_id, user=admin))
    offered = configuration_loading.offered_fields(connection)
    chosen = next((t for t in m.ActorType if t in offered and actor_type in (None, t.value)), None)
    if connection.deleted_at is not None or chosen is None:
        raise PageNotFoundError
    return connection, chosen


def _render(
    request: Request,
    session: SessionDep,
    admin: User,
    connection: ErpConnection,
    actor_type: m.ActorType,
    auto: AutoCreate,
    **extra: Any,
) -> Response:
    context = {
        "screen": "auto_create",
        "actor_types": [t for t in m.ActorType if t in configuration_loading.offered_fields(connection)],
        "actor_type": actor_type,
        "auto": auto,
        "directions": list(AutoDirection),
        "keys": [criterion.code for criterion in AUTO_CRITERIA[ENTITY_FOR_ACTOR[actor_type]]],
        "reviews": auto_reviews.list_reviews(session, connection.id),
        "waiting": auto_reviews.list_reviews(session, connection.id, status=WAITING),
        "preview": None,
        "problems": [],
        "decided": request.query_params.get("decided"),
        "connection": connection,
        "section": "settings",
        "back_url": SYNC_TAB,
    } | extra
    code = 422 if context["problems"] else 200
    return pages.render(request, "sync/auto_create.html", context, user=admin, status_code=code)


@router.get(_AUTO)
def get_auto_create(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, actor_type: ActorTypeQuery = None
) -> Response:
    connection, chosen = _screen(session, admin, connection_id, actor_type)
    saved = configuration_loading.mapping_of(session, connection, chosen).auto_create
    return _render(request, session, admin, connection, chosen, saved)


@router.post(_AUTO)
def post_auto_create(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection, chosen = _screen(session, admin, connection_id, actor_type)
    directions = {d.value: d for d in AutoDirection}
    direction = directions.get(str(form.get("direction") or ""), AutoDirection.OFF)
    candidate = AutoCreate(direction=direction, match=tuple(str(key) for key in form.getlist("match")))
    try:
        if form.get("action") == "preview":
            shown = auto_config.preview(Engine(database, clients), connection.id, chosen, candidate)
            return _render(request, session, admin, connection, chosen, candidate, preview=shown)
        auto_config.save_auto_create(session, connection, chosen, candidate, by=admin.id)
    except configuration.RefusedError as refused:
        problems = [configuration.describe(p) for p in refused.problems]
        return _render(request, session, admin, connection, chosen, candidate, problems=problems)
    except ErpsyncError as error:  # the connector did not answer the preview's reads, or the type does not sync
        return _render(request, session, admin, connection, chosen, candidate, problems=[error.user_message])
    url = f"{SYNC_TAB}{_AUTO.format(connection_id=connection.id)}?actor_type={chosen.value}&saved=1"
    return pages.redirect(request, url)


@router.post(_AUTO + "/reviews/{review_id}")
def decide_review(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    review_id: int,
) -> Response:
    """Link, create or ignore. The use case reads, calls the connector and writes in transactions of its own; the
    request's session is first used after it, to show a refusal."""
    actions = {a.value: a for a in ReviewAction}
    action = actions.get(str(form.get("action") or ""))
    base = f"{SYNC_TAB}{_AUTO.format(connection_id=connection_id)}"
    try:
        if action is None:
            raise ValidationError("choose what to do: link, create or ignore")
        if action is ReviewAction.IGNORE:
            auto_reviews.ignore_item(database, connection_id, review_id, by=admin.id)
        else:
            candidate = str(form.get("candidate") or "") or None
            engine = Engine(database, clients)
            auto_reviews.decide(engine, connection_id, review_id, action, candidate=candidate, by=admin.id)
    except ErpsyncError as error:  # an item gone or decided already, a candidate taken meanwhile, the ERP refusing
        connection, chosen = _screen(session, admin, connection_id, None)
        saved = configuration_loading.mapping_of(session, connection, chosen).auto_create
        return _render(request, session, admin, connection, chosen, saved, problems=[error.user_message])
    return pages.redirect(request, f"{base}?decided={action.value}")
