"""A connection's sync configuration (SPEC §4 *Configure*, *Active*), for administrators; every change is audited.

``/connections/{id}/mappings/{actor_type}`` (with its delete policies, and ``/delete-preview``), ``/list-mappings``,
``/defaults/{actor_type}``, ``/ranks/{actor_type}``, ``/policy``, ``/activate``, ``/deactivate`` and
``/sync-priority``. The per-field conflict policy is part of the mapping rows (``policy`` on a row overrides the
connection's); ``/policy`` holds the connection's policy and the
*do not overwrite non-blank with blank* option. A save that breaks a rule answers 422 and an activation that is
refused 409, both with ``{"detail": [every reason]}`` (see ``refused``); nothing changes then.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from erpsync.api.configuration_schemas import (
    ActivationPublic,
    DefaultsBody,
    DeletePreviewPublic,
    ListMappingsBody,
    MappingBody,
    PolicyBody,
    PriorityBody,
    PriorityPublic,
    RanksBody,
    priority_public,
    problem_public,
)
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.errors import ConflictError, NotFoundError
from erpsync.http.deps import AdminUser, ClientsDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import configuration, configuration_loading, configure, connection_visibility, deletes
from erpsync.sync.configuration_views import (
    DefaultsView,
    ListMappingsView,
    MappingView,
    RanksView,
    defaults_view,
    list_mappings_view,
    mapping_view,
    ranks_view,
)
from erpsync.sync.mapping import ErpDeletePolicy

router = APIRouter(tags=["configuration"])

_CONNECTION = "/connections/{connection_id}"


async def refused(_request: Request, exc: Exception) -> JSONResponse:
    """The answer to a ``RefusedError``: every reason, in the shape of FastAPI's own validation errors."""
    assert isinstance(exc, configuration.RefusedError)
    code = status.HTTP_409_CONFLICT if isinstance(exc, ConflictError) else status.HTTP_422_UNPROCESSABLE_CONTENT
    detail = [problem_public(problem).model_dump() for problem in exc.problems]
    return JSONResponse({"detail": detail}, status_code=code)


def _connection(session: SessionDep, admin: User, connection_id: int) -> ErpConnection:
    connection = connection_visibility.get_connection(session, connection_id, user=admin)
    if connection.deleted_at is not None:
        raise NotFoundError(f"connection {connection.name!r} is deleted: restore it to configure it")
    return connection


def _screen(session: SessionDep, connection: ErpConnection, actor_type: str) -> tuple[m.ActorType, list[m.FieldMeta]]:
    """The actor type (404 when the connection has no part of it) and its ERP fields."""
    erp_fields = configuration_loading.erp_fields_of(session, connection, actor_type)
    return m.ActorType(actor_type), erp_fields


# --- field mappings ---------------------------------------------------------------------------------------------------


@router.get(_CONNECTION + "/mappings/{actor_type}")
def get_mapping(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str) -> MappingView:
    connection = _connection(session, admin, connection_id)
    parsed, erp_fields = _screen(session, connection, actor_type)
    return mapping_view(configuration_loading.mapping_of(session, connection, parsed), erp_fields)


@router.put(_CONNECTION + "/mappings/{actor_type}")
def put_mapping(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int, actor_type: str, body: MappingBody
) -> MappingView:
    connection = _connection(session, admin, connection_id)
    parsed, erp_fields = _screen(session, connection, actor_type)
    saved = configure.save_mapping(session, clients, connection, body.to_mapping(parsed), by=admin.id)
    return mapping_view(saved, erp_fields)


@router.get(_CONNECTION + "/mappings/{actor_type}/delete-preview")
def get_delete_preview(
    session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str, erp_delete: ErpDeletePolicy
) -> DeletePreviewPublic:
    """What ``erp_delete`` would do to today's broken links of the actor type, before it is saved; writes nothing."""
    connection = _connection(session, admin, connection_id)
    parsed, _ = _screen(session, connection, actor_type)
    found = deletes.preview(session, connection.id, parsed, erp_delete)
    return DeletePreviewPublic(erp_delete=erp_delete, **asdict(found))


# --- list mappings ----------------------------------------------------------------------------------------------------


def _list_mappings(session: SessionDep, clients: ClientsDep, connection: ErpConnection) -> ListMappingsView:
    config = configuration_loading.load_config(session, connection)
    offered = configuration_loading.offered_fields(connection)
    crm_items = {name: crm_lists.list_items(session, name) for name in CrmList}
    erp_lists = configure.erp_lists(session, clients, connection, configuration_loading.erp_list_names(connection))
    return list_mappings_view(config, offered, erp_lists=erp_lists, crm_items=crm_items)


@router.get(_CONNECTION + "/list-mappings")
def get_list_mappings(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int
) -> ListMappingsView:
    """Per ERP list of a synced list field (or with a saved mapping): the pairs, the ERP items and the CRM items."""
    return _list_mappings(session, clients, _connection(session, admin, connection_id))


@router.put(_CONNECTION + "/list-mappings")
def put_list_mappings(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int, body: ListMappingsBody
) -> ListMappingsView:
    """Replace every list mapping of the connection."""
    connection = _connection(session, admin, connection_id)
    configure.save_list_mappings(session, clients, connection, body.to_list_mappings(), by=admin.id)
    return _list_mappings(session, clients, connection)


# --- defaults ---------------------------------------------------------------------------------------------------------


def _defaults(session: SessionDep, connection: ErpConnection, actor_type: str) -> DefaultsView:
    parsed, erp_fields = _screen(session, connection, actor_type)
    defaults = configuration_loading.load_config(session, connection).defaults.get(parsed, {})
    return defaults_view(parsed, defaults, erp_fields)


@router.get(_CONNECTION + "/defaults/{actor_type}")
def get_defaults(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str) -> DefaultsView:
    return _defaults(session, _connection(session, admin, connection_id), actor_type)


@router.put(_CONNECTION + "/defaults/{actor_type}")
def put_defaults(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int, actor_type: str, body: DefaultsBody
) -> DefaultsView:
    connection = _connection(session, admin, connection_id)
    parsed, _erp_fields = _screen(session, connection, actor_type)
    configure.save_defaults(session, clients, connection, parsed, body.defaults, by=admin.id)
    return _defaults(session, connection, actor_type)


# --- ranks ------------------------------------------------------------------------------------------------------------


def _ranks(session: SessionDep, connection: ErpConnection, actor_type: str) -> RanksView:
    parsed, erp_fields = _screen(session, connection, actor_type)
    return ranks_view(configuration_loading.mapping_of(session, connection, parsed), erp_fields)


@router.get(_CONNECTION + "/ranks/{actor_type}")
def get_ranks(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str) -> RanksView:
    return _ranks(session, _connection(session, admin, connection_id), actor_type)


@router.put(_CONNECTION + "/ranks/{actor_type}")
def put_ranks(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str, body: RanksBody) -> RanksView:
    connection = _connection(session, admin, connection_id)
    parsed, _erp_fields = _screen(session, connection, actor_type)
    configure.save_ranks(session, connection, parsed, body.order, by=admin.id)
    return _ranks(session, connection, actor_type)


# --- conflict policy --------------------------------------------------------------------------------------------------


@router.get(_CONNECTION + "/policy")
def get_policy(session: SessionDep, admin: AdminUser, connection_id: int) -> PolicyBody:
    config = configuration_loading.load_config(session, _connection(session, admin, connection_id))
    return PolicyBody(policy=config.policy, no_blank_overwrite=config.no_blank_overwrite)


@router.put(_CONNECTION + "/policy")
def put_policy(session: SessionDep, admin: AdminUser, connection_id: int, body: PolicyBody) -> PolicyBody:
    connection = _connection(session, admin, connection_id)
    configure.save_policy(
        session, connection, policy=body.policy, no_blank_overwrite=body.no_blank_overwrite, by=admin.id
    )
    return body


# --- activation -------------------------------------------------------------------------------------------------------


@router.post(_CONNECTION + "/activate")
def activate(session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int) -> ActivationPublic:
    """Switch the connection on; 409 with every reason when its configuration cannot run."""
    connection = _connection(session, admin, connection_id)
    configure.activate(session, clients, connection, by=admin.id)
    return ActivationPublic(id=connection.id, active=connection.active)


@router.post(_CONNECTION + "/deactivate")
def deactivate(session: SessionDep, admin: AdminUser, connection_id: int) -> ActivationPublic:
    connection = _connection(session, admin, connection_id)
    configure.deactivate(session, connection, by=admin.id)
    return ActivationPublic(id=connection.id, active=connection.active)


# --- sync priority ----------------------------------------------------------------------------------------------------


@router.get("/sync-priority")
def get_priority(session: SessionDep, admin: AdminUser) -> PriorityPublic:
    """Every live connection, in the order the engine serves them."""
    return priority_public(configuration.priority_order(session))


@router.put("/sync-priority")
def put_priority(session: SessionDep, admin: AdminUser, body: PriorityBody) -> PriorityPublic:
    configure.set_priority(session, body.connection_ids, by=admin.id)
    return priority_public(configuration.priority_order(session))
