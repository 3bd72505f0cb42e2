"""Request and response bodies for sync connectors and ERP connections (SPEC §9); secrets are never in a response."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync import connection_visibility

_Name = Field(min_length=1, max_length=255)
_Url = Field(min_length=1, max_length=1000)
_Secret = Field(min_length=1, max_length=1000)
_Config: Any = Field(default_factory=dict, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectorCreate(Strict):
    name: str = _Name
    url: str = _Url
    secret: str = _Secret


class ConnectorUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    url: str | None = Field(default=None, min_length=1, max_length=1000)
    secret: str | None = Field(default=None, min_length=1, max_length=1000)


class ConnectorPublic(BaseModel):
    id: int
    name: str
    url: str
    info: dict[str, Any]
    created_at: dt.datetime


def connector_public(connector: SyncConnector) -> ConnectorPublic:
    return ConnectorPublic(
        id=connector.id,
        name=connector.name,
        url=connector.url,
        info=connector.info_json,
        created_at=connector.created_at,
    )


class ConfigFormPublic(BaseModel):
    fields: list[m.FieldMeta]
    lists: dict[str, list[m.ListItem]]


class VisibilityBody(Strict):
    everyone: bool = True
    users: list[int] = Field(default_factory=list, max_length=10_000)
    groups: list[int] = Field(default_factory=list, max_length=10_000)

    def to_visibility(self) -> connection_visibility.Visibility:
        return connection_visibility.Visibility(
            everyone=self.everyone, users=tuple(self.users), groups=tuple(self.groups)
        )


class ConnectionCreate(Strict):
    name: str = _Name
    connector_id: int
    visibility: VisibilityBody = Field(default_factory=VisibilityBody)
    config: dict[str, m.Value] = _Config
    description: str = Field(default="", max_length=2000)


class ConnectionUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    visibility: VisibilityBody | None = None
    config: dict[str, m.Value] | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ConnectionTest(Strict):
    connector_id: int
    config: dict[str, m.Value] = _Config
    connection_id: int | None = Field(
        default=None, description="an existing connection whose stored passwords fill blanks"
    )


class CheckResult(BaseModel):
    ok: bool
    state: str
    user_message: str
    error_code: str = ""


class ConnectionPublic(BaseModel):
    id: int
    connection_uuid: str
    name: str
    connector_id: int
    connector_name: str
    visibility: VisibilityBody
    config: dict[str, m.Value]
    secrets_set: list[str] = Field(description="password fields that hold a value (the values are never returned)")
    description: str
    active: bool
    deleted: bool
    priority: int
    actor_types: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class ConnectionSummary(BaseModel):
    """What a user who is not an administrator may know of a connection they can see."""

    id: int
    name: str
    description: str
    active: bool
    actor_types: list[str]


def connection_public(session: Session, connection: ErpConnection, secret_keys: list[str]) -> ConnectionPublic:
    visibility = connection_visibility.visibility_of(session, connection)
    return ConnectionPublic(
        id=connection.id,
        connection_uuid=connection.uuid,
        name=connection.name,
        connector_id=connection.connector_id,
        connector_name=connection.connector.name,
        visibility=VisibilityBody(
            everyone=visibility.everyone, users=list(visibility.users), groups=list(visibility.groups)
        ),
        config=dict(connection.config_json),
        secrets_set=secret_keys,
        description=connection.description,
        active=connection.active,
        deleted=connection.deleted_at is not None,
        priority=connection.priority,
        actor_types=list(connection.actor_types_json),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def connection_summary(connection: ErpConnection) -> ConnectionSummary:
    return ConnectionSummary(
        id=connection.id,
        name=connection.name,
        description=connection.description,
        active=connection.active,
        actor_types=list(connection.actor_types_json),
    )
