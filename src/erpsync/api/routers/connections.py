"""``/connections``: ERP connections (SPEC §4): test before save, saved inactive, visibility, soft delete."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status

from erpsync import accounts
from erpsync.api.connection_schemas import (
    CheckResult,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionSummary,
    ConnectionTest,
    ConnectionUpdate,
    connection_public,
    connection_summary,
)
from erpsync.errors import ErpsyncError
from erpsync.http.deps import AdminUser, ClientsDep, CurrentUser, SessionDep
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import connection_visibility, connections, setup
from erpsync.sync.connectors import ConnectorClients

router = APIRouter(prefix="/connections", tags=["connections"])


def _public(session: SessionDep, clients: ConnectorClients, connection: ErpConnection) -> ConnectionPublic:
    secret_keys = sorted(connections.stored_secrets(clients.cipher, connection))
    return connection_public(session, connection, secret_keys)


def _require_erp_access(user: User) -> None:
    if not (user.is_admin or accounts.has_licence(user, accounts.Licence.ERP)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs the ERP licence")


@router.get("")
def list_connections(
    session: SessionDep,
    clients: ClientsDep,
    user: CurrentUser,
    deleted: bool = Query(default=False, description="list soft-deleted connections instead (administrators)"),
) -> list[ConnectionPublic] | list[ConnectionSummary]:
    """Administrators get every connection with its config (no secrets); licensed users the ones they can see."""
    _require_erp_access(user)
    if user.is_admin:
        return [
            _public(session, clients, c)
            for c in connection_visibility.visible_connections(session, user, deleted=deleted)
        ]
    return [connection_summary(c) for c in connection_visibility.visible_connections(session, user)]


@router.post("/test")
def check_before_save(session: SessionDep, clients: ClientsDep, admin: AdminUser, body: ConnectionTest) -> CheckResult:
    """Run the connector's test on entered values; a failed test is an answer (``ok: false``), not an error."""
    try:
        answer = setup.check_config(
            session,
            clients,
            connector_id=body.connector_id,
            config=body.config,
            connection_id=body.connection_id,
            user=admin,
        )
    except ErpsyncError as exc:
        return CheckResult(ok=False, state="error", user_message=exc.user_message, error_code=exc.code.value)
    return CheckResult(ok=True, state=answer.state.value, user_message=answer.user_message or "Test passed.")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_connection(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, body: ConnectionCreate
) -> ConnectionPublic:
    draft = connections.ConnectionDraft(
        name=body.name,
        connector_id=body.connector_id,
        config=body.config,
        visibility=body.visibility.to_visibility(),
        description=body.description,
    )
    connection = setup.create_connection(session, clients, draft, by=admin.id)
    return _public(session, clients, connection)


@router.get("/{connection_id}")
def get_connection(
    session: SessionDep, clients: ClientsDep, user: CurrentUser, connection_id: int
) -> ConnectionPublic | ConnectionSummary:
    _require_erp_access(user)
    connection = connection_visibility.get_connection(session, connection_id, user=user)
    return _public(session, clients, connection) if user.is_admin else connection_summary(connection)


@router.patch("/{connection_id}")
def update_connection(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int, body: ConnectionUpdate
) -> ConnectionPublic:
    connection = setup.update_connection(
        session,
        clients,
        connection_id,
        name=body.name,
        config=body.config,
        visibility=body.visibility.to_visibility() if body.visibility else None,
        description=body.description,
        user=admin,
    )
    return _public(session, clients, connection)


@router.post("/{connection_id}/test")
def check_saved(session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int) -> CheckResult:
    """Run the connector's ``test_connection`` on the saved connection."""
    try:
        answer = setup.check_connection(session, clients, connection_id, user=admin)
    except ErpsyncError as exc:
        return CheckResult(ok=False, state="error", user_message=exc.user_message, error_code=exc.code.value)
    return CheckResult(ok=True, state=answer.state.value, user_message=answer.user_message or "Test passed.")


@router.post("/{connection_id}/refresh")
def refresh_metadata(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int
) -> dict[str, list[str]]:
    """Read actor types and fields again; answers the field keys per actor type the connector no longer reports."""
    return setup.refresh_metadata(session, clients, connection_id, user=admin)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connection(session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int) -> None:
    setup.delete_connection(session, clients, connection_id, user=admin)


@router.post("/{connection_id}/restore")
def restore_connection(
    session: SessionDep, clients: ClientsDep, admin: AdminUser, connection_id: int
) -> ConnectionPublic:
    connection = setup.restore_connection(session, clients, connection_id, user=admin)
    return _public(session, clients, connection)
