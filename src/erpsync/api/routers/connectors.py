"""``/connectors``: administrators register sync connectors by name, URL and shared secret (SPEC §4)."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync.api.connection_schemas import (
    ConfigFormPublic,
    ConnectorCreate,
    ConnectorPublic,
    ConnectorUpdate,
    connector_public,
)
from erpsync.http.deps import AdminUser, ClientsDep, SessionDep
from erpsync.sync import connectors, setup

router = APIRouter(prefix="/connectors", tags=["connectors"])


@router.get("")
def list_connectors(session: SessionDep, _admin: AdminUser) -> list[ConnectorPublic]:
    return [connector_public(c) for c in connectors.list_connectors(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_connector(session: SessionDep, clients: ClientsDep, admin: AdminUser, body: ConnectorCreate) -> ConnectorPublic:
    connector = setup.add_connector(session, clients, name=body.name, url=body.url, secret=body.secret, by=admin.id)
    return connector_public(connector)


@router.get("/{connector_id}")
def get_connector(session: SessionDep, _admin: AdminUser, connector_id: int) -> ConnectorPublic:
    return connector_public(connectors.get_connector(session, connector_id))


@router.patch("/{connector_id}")
def update_connector(
    session: SessionDep,
    clients: ClientsDep,
    admin: AdminUser,
    connector_id: int,
    body: ConnectorUpdate,
) -> ConnectorPublic:
    connector = setup.update_connector(
        session, clients, connector_id, name=body.name, url=body.url, secret=body.secret, by=admin.id
    )
    return connector_public(connector)


@router.delete("/{connector_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connector(session: SessionDep, admin: AdminUser, connector_id: int) -> None:
    setup.delete_connector(session, connector_id, by=admin.id)


@router.get("/{connector_id}/config-form")
def config_form(session: SessionDep, clients: ClientsDep, _admin: AdminUser, connector_id: int) -> ConfigFormPublic:
    """The connector's config fields and the items of their lists, for the connection dialog."""
    form = setup.connector_config_form(session, clients, connector_id)
    return ConfigFormPublic(fields=form.fields, lists=form.lists)
