"""Sync connectors, ERP connections (who may use them, the actor fields they report) and their sync configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpsync.storage.tables.base import Base, new_stamp, utcnow


class SyncConnector(Base):
    __tablename__ = "sync_connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    info_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ErpConnection(Base):
    __tablename__ = "erp_connections"
    __table_args__ = (
        Index(
            "uq_erp_connections_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    connector_id: Mapped[int] = mapped_column(ForeignKey("sync_connectors.id", ondelete="RESTRICT"), index=True)
    everyone: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    config_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # sync priority: lower is served first and wins ties
    deleted_at: Mapped[dt.datetime | None]
    actor_types_json: Mapped[list[Any]] = mapped_column(default=list)
    # Replaced by every change of the sync configuration or the metadata cache: the key of what processes derive
    # from them (``sync.configuration``'s cache). Random, so a rolled-back change's stamp never comes back.
    config_stamp: Mapped[str] = mapped_column(String(32), default=new_stamp)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    connector: Mapped[SyncConnector] = relationship(lazy="joined")
    actor_fields: Mapped[list[ConnectionActorFields]] = relationship(
        cascade="all, delete-orphan", order_by="ConnectionActorFields.actor_type"
    )


class ConnectionUser(Base):
    __tablename__ = "connection_users"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class ConnectionGroup(Base):
    __tablename__ = "connection_groups"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True)


class ConnectionActorFields(Base):
    """A cache of what the connector reported for one actor type of one connection."""

    __tablename__ = "connection_actor_fields"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    fields_json: Mapped[list[Any]] = mapped_column(default=list)
    searchable_json: Mapped[list[Any]] = mapped_column(default=list)
    read_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- sync configuration ----------------------------------------------------------------------------------------------


class SyncActorMapping(Base):
    """One actor type's configuration in one connection: master switch, field rows (with rank and policy override)
    and create defaults; each saved whole, so JSON (see ``erpsync.sync.configuration``)."""

    __tablename__ = "sync_actor_mappings"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    fields_json: Mapped[list[Any]] = mapped_column(default=list)
    defaults_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    erp_delete: Mapped[str] = mapped_column(String(16), default="keep", server_default="keep")
    crm_delete: Mapped[str] = mapped_column(String(24), default="unlink", server_default="unlink")
    filter_json: Mapped[dict[str, Any]] = mapped_column(default=dict)  # a SyncFilter (sync.filters)
    auto_json: Mapped[dict[str, Any]] = mapped_column(default=dict)  # an AutoCreate (sync.auto_create)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncListMapping(Base):
    """The pairing of one ERP list's items with the items of one CRM list, in one connection."""

    __tablename__ = "sync_list_mappings"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    list_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    crm_list: Mapped[str] = mapped_column(String(32))
    items_json: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ERP item key -> CRM item id or null


class SyncConnectionPolicy(Base):
    """A connection's conflict policy and blank option; no row means the defaults (``newest``, option off)."""

    __tablename__ = "sync_connection_policies"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    policy: Mapped[str] = mapped_column(String(16), default="newest")
    no_blank_overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
