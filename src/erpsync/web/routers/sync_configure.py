"""The Sync tab's *Configure* screens (SPEC §4), for administrators: mappings, list mapping, defaults, rank fields,
conflict policy, sync priority, and the connections list's *Active* checkbox.

Each save goes through ``erpsync.sync.configuration``, which refuses a change that breaks a rule with every reason; the
screen then lists them all and keeps what was entered. The ERP's list items are read with the request's transaction
ended (``_erp_lists``): on SQLite an open one would block every other writer while the connector answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CRM_FIELDS, CrmList
from erpsync.errors import ErpsyncError
from erpsync.http.deps import ClientsDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import configuration, configuration_loading, configure, connection_visibility, deletes
from erpsync.sync.configuration import RefusedError
from erpsync.sync.configuration_views import (
    ListMappingsView,
    list_mappings_view,
    mapping_view,
    ranks_view,
    settable_fields,
)
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, ActorTypeMapping, CrmDeletePolicy, ErpDeletePolicy, FieldDefault
from erpsync.sync.merge import Direction, Policy
from erpsync.web import configure_forms, pages
from erpsync.web.erp_values import YES, value_text
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.i18n import Translator
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

_CONNECTION = "/connections/{connection_id}"
ActorTypeQuery = Annotated[str | None, Query(max_length=32)]
E = TypeVar("E", bound=StrEnum)


# --- shared by the screens --------------------------------------------------------------------------------------------


def _connection(session: Session, admin: User, connection_id: int) -> ErpConnection:
    connection = or_404(lambda: connection_visibility.get_connection(session, connection_id, user=admin))
    if connection.deleted_at is not None:
        raise PageNotFoundError
    return connection


def _actor_types(session: Session, connection: ErpConnection) -> list[m.ActorType]:
    """The actor types the connector offers, and those mapped before it stopped offering them."""
    offered = configuration_loading.offered_fields(connection)
    mapped = configuration_loading.load_config(session, connection).mappings
    return [actor_type for actor_type in m.ActorType if actor_type in offered or actor_type in mapped]


def _chosen(actor_types: Sequence[m.ActorType], actor_type: str | None) -> m.ActorType:
    for candidate in actor_types:
        if actor_type in (None, candidate.value):
            return candidate
    raise PageNotFoundError


def _render(
    request: Request,
    admin: User,
    template: str,
    connection: ErpConnection | None,
    context: dict[str, Any],
    *,
    problems: Sequence[str] = (),
) -> Response:
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if problems else status.HTTP_200_OK
    shared = {"connection": connection, "problems": problems, "section": "settings", "back_url": SYNC_TAB}
    return pages.render(request, template, {**shared, **context}, user=admin, status_code=code)


def _problems(save: Callable[[], object]) -> list[str]:
    """Run a save of ``erpsync.sync.configure`` (it keeps the change whole or not at all): every reason it was
    refused, none when it was saved."""
    try:
        save()
    except RefusedError as refused:
        return [configuration.describe(problem) for problem in refused.problems]
    except ErpsyncError as error:  # e.g. the connector did not answer with its lists
        return [error.user_message]
    return []


# --- mappings ---------------------------------------------------------------------------------------------------------


def _mapping_context(session: Session, connection: ErpConnection, mapping: ActorTypeMapping) -> dict[str, Any]:
    erp_fields = configuration_loading.erp_fields_of(session, connection, mapping.actor_type)
    entity = ENTITY_FOR_ACTOR[mapping.actor_type]
    return {
        "screen": "mappings",
        "actor_types": _actor_types(session, connection),
        "actor_type": mapping.actor_type,
        "entity": entity.value,
        "mapping": mapping_view(mapping, erp_fields),
        "crm_attrs": {key: field.attr for key, field in CRM_FIELDS[entity].items()},
        "directions": list(Direction),
        "policies": list(Policy),
        "erp_deletes": list(ErpDeletePolicy),
        "crm_deletes": list(CrmDeletePolicy),
        "erp_delete": mapping.erp_delete,
        "delete_preview": deletes.preview(session, connection.id, mapping.actor_type, mapping.erp_delete),
    }


@router.get(_CONNECTION + "/mappings")
def get_mapping(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, actor_type: ActorTypeQuery = None
) -> Response:
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    context = _mapping_context(session, connection, configuration_loading.mapping_of(session, connection, chosen))
    return _render(request, admin, "sync/mappings.html", connection, context)


@router.post(_CONNECTION + "/mappings")
def put_mapping(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    problems: list[str] = []
    mapping = configure_forms.mapping_from_form(form, chosen, problems)
    if not problems:
        problems = _problems(lambda: configure.save_mapping(session, clients, connection, mapping, by=admin.id))
    if problems:
        context = _mapping_context(session, connection, mapping)
        return _render(request, admin, "sync/mappings.html", connection, context, problems=problems)
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection.id}/mappings?actor_type={chosen.value}&saved=1")


@router.get(_CONNECTION + "/mappings/delete-preview")
def get_delete_preview(
    request: Request,
    session: SessionDep,
    admin: WebAdmin,
    connection_id: int,
    erp_delete: Annotated[ErpDeletePolicy, Query()],
    actor_type: ActorTypeQuery = None,
) -> Response:
    """What the ERP delete policy chosen on the mapping screen would do today, swapped in as the choice changes
    (before it is saved); reads only."""
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    preview = deletes.preview(session, connection.id, chosen, erp_delete)
    context = {"erp_delete": erp_delete, "delete_preview": preview}
    return pages.render(request, "sync/delete_preview.html", context, user=admin)


# --- list mapping -----------------------------------------------------------------------------------------------------


def _list_screen(session: Session, clients: ConnectorClients, connection: ErpConnection) -> ListMappingsView:
    config = configuration_loading.load_config(session, connection)
    offered = configuration_loading.offered_fields(connection)
    crm_items = {name: crm_lists.list_items(session, name) for name in CrmList}
    erp_lists = configure.erp_lists(session, clients, connection, configuration_loading.erp_list_names(connection))
    return list_mappings_view(config, offered, erp_lists=erp_lists, crm_items=crm_items, every_list=True)


def _list_context(screen: ListMappingsView) -> dict[str, Any]:
    duplicates = configure_forms.duplicates(screen)
    return {"screen": "list_mapping", "lists": screen.lists, "duplicates": duplicates, "crm_lists": list(CrmList)}


def _list_problem_screen(request: Request, admin: User, connection: ErpConnection, error: ErpsyncError) -> Response:
    context = {"screen": "list_mapping", "lists": {}, "duplicates": {}, "crm_lists": list(CrmList)}
    return _render(request, admin, "sync/list_mapping.html", connection, context, problems=[error.user_message])


@router.get(_CONNECTION + "/list-mapping")
def get_list_mappings(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, connection_id: int
) -> Response:
    connection = _connection(session, admin, connection_id)
    try:
        screen = _list_screen(session, clients, connection)
    except ErpsyncError as error:
        return _list_problem_screen(request, admin, connection, error)
    return _render(request, admin, "sync/list_mapping.html", connection, _list_context(screen))


@router.post(_CONNECTION + "/list-mapping")
def put_list_mappings(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, form: PostedForm, connection_id: int
) -> Response:
    connection = _connection(session, admin, connection_id)
    try:
        screen = _list_screen(session, clients, connection)
    except ErpsyncError as error:
        return _list_problem_screen(request, admin, connection, error)
    problems: list[str] = []
    mappings, shown = configure_forms.list_mappings_from_form(form, screen, problems)
    erp_lists = {name: lists.erp_items for name, lists in screen.lists.items()}
    if not problems:
        problems = _problems(
            lambda: configure.save_list_mappings(
                session, clients, connection, mappings, by=admin.id, known_erp_lists=erp_lists
            )
        )
    if problems:
        return _render(request, admin, "sync/list_mapping.html", connection, _list_context(shown), problems=problems)
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection.id}/list-mapping?saved=1")


# --- defaults ---------------------------------------------------------------------------------------------------------


def _settable(session: Session, connection: ErpConnection, actor_type: m.ActorType) -> list[m.FieldMeta]:
    erp_fields = configuration_loading.erp_fields_of(session, connection, actor_type)
    return settable_fields(erp_fields)


def _defaults_context(
    session: Session,
    clients: ConnectorClients,
    connection: ErpConnection,
    actor_type: m.ActorType,
    defaults: dict[str, FieldDefault],
) -> dict[str, Any]:
    fields = _settable(session, connection, actor_type)
    context = {
        "screen": "defaults",
        "actor_types": _actor_types(session, connection),
        "actor_type": actor_type,
        "fields": fields,
        "defaults": defaults,
        "value_text": value_text,
        "list_items": {},
    }
    names = {meta.list_name for meta in fields if meta.type is m.FieldType.LIST and meta.list_name}
    context["list_items"] = configure.erp_lists(session, clients, connection, names)
    return context


def _defaults_screen(
    request: Request,
    session: Session,
    clients: ConnectorClients,
    admin: User,
    connection: ErpConnection,
    actor_type: m.ActorType,
    defaults: dict[str, FieldDefault],
    refusal: configure_forms.Refusal | None = None,
) -> Response:
    problems, field_errors = (refusal.problems, refusal.field_errors) if refusal else ((), {})
    try:
        context = _defaults_context(session, clients, connection, actor_type, defaults)
    except ErpsyncError as error:
        context = {"screen": "defaults", "actor_types": [], "actor_type": actor_type, "fields": []}
        problems = [*problems, error.user_message]
    context["field_errors"] = field_errors
    if field_errors and not problems:
        problems = [Translator(pages.language_of(request))("connection.fix_values")]
    return _render(request, admin, "sync/defaults.html", connection, context, problems=problems)


@router.get(_CONNECTION + "/defaults")
def get_defaults(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    saved = configuration_loading.load_config(session, connection).defaults.get(chosen, {})
    return _defaults_screen(request, session, clients, admin, connection, chosen, dict(saved))


@router.post(_CONNECTION + "/defaults")
def put_defaults(
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    field_errors: dict[str, str] = {}
    posted = configure_forms.defaults_from_form(form, _settable(session, connection, chosen), field_errors)
    problems: list[str] = []
    if not field_errors:
        problems = _problems(lambda: configure.save_defaults(session, clients, connection, chosen, posted, by=admin.id))
    if problems or field_errors:
        refusal = configure_forms.Refusal(problems, field_errors)
        return _defaults_screen(request, session, clients, admin, connection, chosen, posted, refusal)
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection.id}/defaults?actor_type={chosen.value}&saved=1")


# --- rank fields ------------------------------------------------------------------------------------------------------


@router.get(_CONNECTION + "/ranks")
def get_ranks(
    request: Request,
    session: SessionDep,
    admin: WebAdmin,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
    moved: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    connection = _connection(session, admin, connection_id)
    actor_types = _actor_types(session, connection)
    chosen = _chosen(actor_types, actor_type)
    erp_fields = configuration_loading.erp_fields_of(session, connection, chosen)
    context = {
        "screen": "ranks",
        "actor_types": actor_types,
        "actor_type": chosen,
        "ranks": ranks_view(configuration_loading.mapping_of(session, connection, chosen), erp_fields),
        "moved": moved,
    }
    return _render(request, admin, "sync/ranks.html", connection, context)


@router.post(_CONNECTION + "/ranks")
def move_rank(
    request: Request,
    session: SessionDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection = _connection(session, admin, connection_id)
    chosen = _chosen(_actor_types(session, connection), actor_type)
    move = str(form.get("move") or "")
    order = configure_forms.moved(
        [row.erp_field for row in configuration_loading.mapping_of(session, connection, chosen).fields], move
    )
    _problems(lambda: configure.save_ranks(session, connection, chosen, order, by=admin.id))
    url = f"{SYNC_TAB}/connections/{connection.id}/ranks?actor_type={chosen.value}&moved={move}"
    return pages.redirect(request, url)


# --- conflict policy --------------------------------------------------------------------------------------------------


def _policy_context(policy: Policy, no_blank_overwrite: bool) -> dict[str, Any]:
    return {"screen": "policy", "policies": list(Policy), "policy": policy, "no_blank_overwrite": no_blank_overwrite}


@router.get(_CONNECTION + "/policy")
def get_policy(request: Request, session: SessionDep, admin: WebAdmin, connection_id: int) -> Response:
    connection = _connection(session, admin, connection_id)
    config = configuration_loading.load_config(session, connection)
    context = _policy_context(config.policy, config.no_blank_overwrite)
    return _render(request, admin, "sync/policy.html", connection, context)


@router.post(_CONNECTION + "/policy")
def put_policy(
    request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm, connection_id: int
) -> Response:
    connection = _connection(session, admin, connection_id)
    problems: list[str] = []
    chosen = configure_forms.enum_of(Policy, form.get("policy"), problems) or Policy.NEWEST
    no_blank = "no_blank_overwrite" in form
    if not problems:
        problems = _problems(
            lambda: configure.save_policy(session, connection, policy=chosen, no_blank_overwrite=no_blank, by=admin.id)
        )
    if problems:
        context = _policy_context(chosen, no_blank)
        return _render(request, admin, "sync/policy.html", connection, context, problems=problems)
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection.id}/policy?saved=1")


# --- sync priority ----------------------------------------------------------------------------------------------------


@router.get("/priority")
def get_priority(
    request: Request, session: SessionDep, admin: WebAdmin, moved: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    context = {"screen": "priority", "ordered": configuration.priority_order(session), "moved": moved}
    return _render(request, admin, "sync/priority.html", None, context)


@router.post("/priority")
def move_priority(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm) -> Response:
    move = str(form.get("move") or "")
    order = configure_forms.moved([str(c.id) for c in configuration.priority_order(session)], move)
    ids = [int(key) for key in order]
    _problems(lambda: configure.set_priority(session, ids, by=admin.id))
    return pages.redirect(request, f"{SYNC_TAB}/priority?moved={move}")


# --- activation -------------------------------------------------------------------------------------------------------


@router.post(_CONNECTION + "/active")
def set_active(
    request: Request, session: SessionDep, clients: ClientsDep, admin: WebAdmin, form: PostedForm, connection_id: int
) -> Response:
    """The *Active* checkbox: ticked switches the connection on (refused with every reason), unticked off."""
    connection = _connection(session, admin, connection_id)
    wanted = form.get("active") in ("on", YES)
    if wanted:
        problems = _problems(lambda: configure.activate(session, clients, connection, by=admin.id))
    else:
        problems = _problems(lambda: configure.deactivate(session, connection, by=admin.id))
    if problems:
        context = {"problems": problems, "name": connection.name, "back_url": SYNC_TAB}
        return pages.render_dialog(
            request, "sync/activation_refused.html", context, user=admin, status_code=status.HTTP_409_CONFLICT
        )
    return pages.redirect(request, f"{SYNC_TAB}?saved={'active' if wanted else 'inactive'}")
