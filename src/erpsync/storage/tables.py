"""Every table of the hub as SQLAlchemy 2 typed ORM models; Alembic migrations follow this file.

Public names: ``Base``, ``UtcDateTime``, ``utcnow``; CRM: ``ChangeCounter``, ``ListItem``, ``Company``, ``Person``,
``Project`` (all ``CrmEntity``), ``CrmDeletion``,
``ENTITY_TABLES``; access: ``User``, ``Group``, ``GroupMember``, ``ApiToken``, ``WebSession``,
``LoginThrottle``;
ERP side: ``SyncConnector``, ``ErpConnection``, ``ConnectionUser``, ``ConnectionGroup``, ``ConnectionActorFields``;
``AuditEntry``.

CRM columns are named by ``CrmField.attr`` and sized by ``CrmField.max_length`` from ``erpsync.crm.fields``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from erpsync.crm.fields import CRM_FIELDS, EntityType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_stamp() -> str:
    """A fresh, never repeated version stamp (``ErpConnection.config_stamp``)."""
    return uuid.uuid4().hex


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset: it is stored and read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def _crm_text(entity: EntityType, key: str) -> Mapped[str | None]:
    return mapped_column(String(CRM_FIELDS[entity][key].max_length))


def _list_item() -> Mapped[int | None]:
    # The FK proves the item exists; that it belongs to the field's list is checked by the CRM service.
    return mapped_column(ForeignKey("list_items.id", ondelete="RESTRICT"))


# --- CRM -------------------------------------------------------------------------------------------------------------


class ChangeCounter(Base):
    """One row holding the last CRM change sequence number; see ``erpsync.crm.changes`` for why a row."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ListItem(Base):
    __tablename__ = "list_items"
    __table_args__ = (Index("ix_list_items_list_name_rank", "list_name", "rank"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CrmEntity(Base):
    """Columns every CRM entity has besides its catalogue fields."""

    __abstract__ = True
    # Ids are never reused (SQLite would reuse the highest after a delete): a tombstone names one entity for good.
    __table_args__: Any = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    changed_by: Mapped[str] = mapped_column(String(64))  # "user:<id>", "sync:<connection id>", "system"


_C = EntityType.COMPANY
_P = EntityType.PERSON
_J = EntityType.PROJECT


class Company(CrmEntity):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(CRM_FIELDS[_C]["NAME"].max_length), index=True)
    department: Mapped[str | None] = _crm_text(_C, "DEPARTMENT")
    number1: Mapped[str | None] = _crm_text(_C, "NUMBER1")
    number2: Mapped[str | None] = _crm_text(_C, "NUMBER2")
    vat_number: Mapped[str | None] = _crm_text(_C, "VATNO")
    phone: Mapped[str | None] = _crm_text(_C, "PHONE")
    fax: Mapped[str | None] = _crm_text(_C, "FAX")
    email: Mapped[str | None] = _crm_text(_C, "EMAIL")
    url: Mapped[str | None] = _crm_text(_C, "URL")
    postal_address1: Mapped[str | None] = _crm_text(_C, "POSTALAD1")
    postal_address2: Mapped[str | None] = _crm_text(_C, "POSTALAD2")
    postal_address3: Mapped[str | None] = _crm_text(_C, "POSTALAD3")
    postal_zip: Mapped[str | None] = _crm_text(_C, "POSTALZIP")
    postal_city: Mapped[str | None] = _crm_text(_C, "POSTALCITY")
    postal_county: Mapped[str | None] = _crm_text(_C, "POSTALCOUNTY")
    postal_state: Mapped[str | None] = _crm_text(_C, "POSTALSTATE")
    street_address1: Mapped[str | None] = _crm_text(_C, "STREETAD1")
    street_address2: Mapped[str | None] = _crm_text(_C, "STREETAD2")
    street_address3: Mapped[str | None] = _crm_text(_C, "STREETAD3")
    street_zip: Mapped[str | None] = _crm_text(_C, "STREETZIP")
    street_city: Mapped[str | None] = _crm_text(_C, "STREETCITY")
    street_county: Mapped[str | None] = _crm_text(_C, "STREETCOUNTY")
    street_state: Mapped[str | None] = _crm_text(_C, "STREETSTATE")
    country_id: Mapped[int | None] = _list_item()
    business_id: Mapped[int | None] = _list_item()
    category_id: Mapped[int | None] = _list_item()

    persons: Mapped[list[Person]] = relationship(back_populates="company", passive_deletes=True)


class Person(CrmEntity):
    __tablename__ = "persons"

    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    first_name: Mapped[str | None] = _crm_text(_P, "FIRSTNAME")
    middle_name: Mapped[str | None] = _crm_text(_P, "MIDDLENAME")
    last_name: Mapped[str | None] = _crm_text(_P, "LASTNAME")
    title: Mapped[str | None] = _crm_text(_P, "TITLE")
    position: Mapped[str | None] = _crm_text(_P, "POSITION")
    number: Mapped[str | None] = _crm_text(_P, "NUMBER")
    phone_direct: Mapped[str | None] = _crm_text(_P, "PHONE_DIRECT")
    phone_private: Mapped[str | None] = _crm_text(_P, "PHONE_PRIVATE")
    phone_mobile: Mapped[str | None] = _crm_text(_P, "PHONE_MOBILE")
    phone_other: Mapped[str | None] = _crm_text(_P, "PHONE_OTHER")
    email: Mapped[str | None] = _crm_text(_P, "EMAIL")
    url: Mapped[str | None] = _crm_text(_P, "URL")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    postal_address1: Mapped[str | None] = _crm_text(_P, "POSTALAD1")
    postal_address2: Mapped[str | None] = _crm_text(_P, "POSTALAD2")
    postal_address3: Mapped[str | None] = _crm_text(_P, "POSTALAD3")
    postal_zip: Mapped[str | None] = _crm_text(_P, "POSTALZIP")
    postal_city: Mapped[str | None] = _crm_text(_P, "POSTALCITY")
    country_id: Mapped[int | None] = _list_item()

    company: Mapped[Company | None] = relationship(back_populates="persons")


class Project(CrmEntity):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(CRM_FIELDS[_J]["NAME"].max_length), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = _crm_text(_J, "NUMBER")
    url: Mapped[str | None] = _crm_text(_J, "URL")
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status_id: Mapped[int | None] = _list_item()


class CrmDeletion(Base):
    """A tombstone: the change feed reports deleted entities with the sequence number of their deletion."""

    __tablename__ = "crm_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    changed_by: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


ENTITY_TABLES: dict[EntityType, type[CrmEntity]] = {
    EntityType.COMPANY: Company,
    EntityType.PERSON: Person,
    EntityType.PROJECT: Project,
}


# --- users and access ------------------------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    licences: Mapped[str] = mapped_column(String(255), default="")  # comma-separated, e.g. "erp"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(secondary="group_members", order_by="User.id")


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak gives no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class WebSession(Base):
    """A sign-in to the web pages; the cookie holds a random id, only its SHA-256 is stored. Not an API token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class LoginThrottle(Base):
    """Failed sign-ins for one login name (known or not) from one client address, and until when it must wait."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("login", "address", name="uq_login_throttles_login_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime] = mapped_column(index=True)


# --- sync connectors and ERP connections -----------------------------------------------------------------------------


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


# --- audit -----------------------------------------------------------------------------------------------------------


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail_json: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- sync engine -----------------------------------------------------------------------------------------------------


class ErpLink(Base):
    """The binding of one CRM entity to one ERP actor within one connection, with the last agreed values."""

    __tablename__ = "erp_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "entity_type", "entity_id", name="uq_erp_links_entity"),
        UniqueConstraint("connection_id", "actor_type", "erp_key", name="uq_erp_links_actor"),
        Index("ix_erp_links_entity", "entity_type", "entity_id"),
        Index("ix_erp_links_retry", "connection_id", "state", "next_attempt_at"),  # the retry pass, at any size
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    actor_type: Mapped[str] = mapped_column(String(32))
    erp_key: Mapped[str] = mapped_column(String(255))
    agreed_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok, failing, broken
    last_sync_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]  # None while failing: parked
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncWatermark(Base):
    """How far one connection has read each side's changes for one actor type."""

    __tablename__ = "sync_watermarks"

    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    erp_since: Mapped[str | None] = mapped_column(String(64))
    erp_cursor: Mapped[str | None] = mapped_column(String(1000))  # set while a pull is half done
    crm_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncLock(Base):
    """A lease: held by ``holder`` until ``expires_at``; an expired lease may be taken over."""

    __tablename__ = "sync_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("erp_connections.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cycle, connection, record, import, resync
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, ok, partial, failed, cancelled
    counts_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)  # honoured at the next page boundary
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]


class SyncEvent(Base):
    """What happened to one record in one run: fields old -> new, who won and why, errors with a typed reason."""

    __tablename__ = "sync_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the history outlives the link
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None]
    actor_type: Mapped[str | None] = mapped_column(String(32))
    erp_key: Mapped[str | None] = mapped_column(String(255))
    changes_json: Mapped[list[Any]] = mapped_column(default=list)
    errors_json: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncCreate(Base):
    """An actor the hub asked a connector to create, recorded before the call so a retry reuses its key."""

    __tablename__ = "sync_creates"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    actor_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done
    erp_key: Mapped[str | None] = mapped_column(String(255))
    link_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]


class EngineState(Base):
    """The one row of engine settings: automatic sync on or off, and its interval."""

    __tablename__ = "engine_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    running: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- imports -------------------------------------------------------------------------------------------------------


class SyncJob(Base):
    """A background import from the ERP or resync from the CRM: what to do and how far it got. The cursor and counts
    are written in the same transaction as the page they cover, so a crashed job resumes where it stopped."""

    __tablename__ = "sync_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # import, resync
    connection_id: Mapped[int] = mapped_column(ForeignKey("erp_connections.id", ondelete="CASCADE"), index=True)
    actor_type: Mapped[str | None] = mapped_column(String(32))  # import: the ERP actor type imported
    keys_json: Mapped[list[Any] | None] = mapped_column(JSON)  # import: the ERP keys to import; None: every actor
    criteria_json: Mapped[list[Any]] = mapped_column(default=list)  # import: the search that found the keys
    no_blank_overwrite: Mapped[bool] = mapped_column(Boolean, default=False)  # resync
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    cursor: Mapped[str | None] = mapped_column(String(1000))
    total: Mapped[int | None]
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    undone_at: Mapped[dt.datetime | None]


class ImportItem(Base):
    """What an import did with one ERP actor: created or linked a CRM entity, or skipped it (with why)."""

    __tablename__ = "import_items"
    __table_args__ = (UniqueConstraint("job_id", "erp_key", name="uq_import_items_job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    erp_key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))  # created, linked, skipped
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "ENTITY_TABLES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ChangeCounter",
    "Company",
    "ConnectionActorFields",
    "ConnectionGroup",
    "ConnectionUser",
    "CrmDeletion",
    "CrmEntity",
    "ErpConnection",
    "Group",
    "GroupMember",
    "ListItem",
    "Person",
    "Project",
    "SyncActorMapping",
    "SyncConnectionPolicy",
    "SyncConnector",
    "SyncListMapping",
    "User",
    "new_stamp",
    "utcnow",
]
