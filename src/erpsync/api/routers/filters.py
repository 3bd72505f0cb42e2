"""An actor type's sync filter (``sync.filters``), for administrators: ``/connections/{id}/filters/{actor_type}``
(read and replace, audited) and ``.../preview`` (what a candidate filter would stop, nothing written). A bad filter
answers 422 with every reason (``configuration.refused``)."""

from __future__ import annotations

from fastapi import APIRouter

from erpsync.api.filter_schemas import FilterPreviewPublic
from erpsync.errors import NotFoundError
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import configuration_loading, connection_visibility, filter_config
from erpsync.sync.mapping import SyncFilter
from erpsync.sync.work import Engine

router = APIRouter(tags=["configuration"])

_FILTER = "/connections/{connection_id}/filters/{actor_type}"


def _connection(session: SessionDep, admin: User, connection_id: int, actor_type: str) -> ErpConnection:
    connection = connection_visibility.get_connection(session, connection_id, user=admin)
    if connection.deleted_at is not None:
        raise NotFoundError(f"connection {connection.name!r} is deleted: restore it to configure it")
    configuration_loading.erp_fields_of(session, connection, actor_type)  # 404 for an actor type it has no part of
    return connection


@router.get(_FILTER)
def get_filter(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str) -> SyncFilter:
    connection = _connection(session, admin, connection_id, actor_type)
    return configuration_loading.mapping_of(session, connection, m.ActorType(actor_type)).sync_filter


@router.put(_FILTER)
def put_filter(
    session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str, body: SyncFilter
) -> SyncFilter:
    connection = _connection(session, admin, connection_id, actor_type)
    return filter_config.save_filter(session, connection, m.ActorType(actor_type), body, by=admin.id)


@router.post(_FILTER + "/preview")
def preview_filter(
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
    connection_id: int,
    actor_type: str,
    body: SyncFilter,
) -> FilterPreviewPublic:
    _connection(session, admin, connection_id, actor_type)
    shown = filter_config.preview(Engine(database, clients), connection_id, m.ActorType(actor_type), body)
    return FilterPreviewPublic.of(shown)
