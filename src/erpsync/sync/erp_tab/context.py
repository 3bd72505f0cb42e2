"""One connection seen from one entity: the context every ERP tab operation reads first, and the access checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, Entity, get_entity, read_record
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.pacing import time_budget
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import links
from erpsync.sync.configuration_cache import cache
from erpsync.sync.configuration_loading import offered_fields
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.connections import client_for
from erpsync.sync.erp_tab.views import LinkView
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, ActorTypeMapping
from erpsync.sync.work import Engine, Pass

P = ParamSpec("P")
R = TypeVar("R")


def interactive(function: Callable[Concatenate[Engine, P], R]) -> Callable[Concatenate[Engine, P], R]:
    """A use case a person waits on: each connector operation in it ends within the interactive time budget, and a
    connector whose bulkhead is full or whose circuit is open fails it at once (``erpsync.sync.bulkhead``)."""

    @functools.wraps(function)
    def within_budget(engine: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with time_budget(engine.clients.interactive_budget):
            return function(engine, *args, **kwargs)

    return within_budget


@dataclass(frozen=True)
class EntityRef:
    entity_type: EntityType
    entity_id: int


class RefusedRequestError(ValidationError):
    """A request with bad parts; ``problems`` holds each one as (location, message), e.g. (("restrictions", 0,
    "operator"), "...")."""

    def __init__(
        self,
        summary: str,
        problems: Sequence[tuple[tuple[str | int, ...], str]],
        codes: Sequence[tuple[str, Mapping[str, str | int]]] = (),
    ) -> None:
        super().__init__(f"{summary}: " + "; ".join(message for _, message in problems))
        self.problems = tuple(problems)
        self.codes = tuple(codes)
        """Where given, each problem as a code and its values (in ``problems``' order), for the pages to word."""


# --- one connection seen from one entity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """One connection, as read once per request for one entity: its configuration, the entity and their links."""

    engine: Engine
    connection: ErpConnection
    offered: Mapping[m.ActorType, Sequence[m.FieldMeta]]
    searchable: Mapping[m.ActorType, Sequence[str]]
    pass_of: Mapping[m.ActorType, Pass]
    record: CrmRecord
    link: LinkView | None
    parent: LinkView | None  # the link of a person's company in this connection

    @property
    def entity(self) -> EntityRef:
        return EntityRef(self.record.entity_type, self.record.id)

    @property
    def actor_types(self) -> list[m.ActorType]:
        """The actor types this connection syncs for the entity (master switch on, offered by the connector)."""
        return [t for t in m.ActorType if t in self.pass_of and self.pass_of[t].mapping.active]

    def checked_pass(self, actor_type: m.ActorType) -> Pass:
        if actor_type not in self.actor_types:
            offered = ", ".join(t.value for t in self.actor_types) or "none"
            raise ValidationError(
                f"connection {self.connection.name!r} does not sync ERP {actor_type} with this "
                f"{self.entity.entity_type} (it syncs: {offered})"
            )
        return self.pass_of[actor_type]

    def require_link(self) -> LinkView:
        if self.link is None:
            raise NotFoundError(f"this {self.entity.entity_type} is not linked in connection {self.connection.name!r}")
        return self.link

    def require_parent(self) -> LinkView:
        if self.parent is None:
            raise ValidationError("a person links only under its company: link the person's company first")
        return self.parent


def build_context(engine: Engine, session: Session, connection: ErpConnection, record: CrmRecord) -> Context:
    config = engine.load_config(session, connection)
    offered = offered_fields(connection)
    client = client_for(engine.clients, connection)
    pass_of = {
        actor_type: Pass(
            connection.id,
            connection.uuid,
            actor_type,
            config.mappings.get(actor_type, ActorTypeMapping(actor_type=actor_type)),
            fields,
            config,
            client,
        )
        for actor_type, fields in offered.items()
        if ENTITY_FOR_ACTOR[actor_type] is record.entity_type
    }
    link = links.link_for_entity(session, connection.id, record.entity_type, record.id)
    parent = None
    if record.company_id is not None:
        parent = links.link_for_entity(session, connection.id, EntityType.COMPANY, record.company_id)
    return Context(
        engine=engine,
        connection=connection,
        offered=offered,
        searchable=searchable_keys(connection),
        pass_of=pass_of,
        record=record,
        link=LinkView.of(link) if link else None,
        parent=LinkView.of(parent) if parent else None,
    )


def searchable_keys(connection: ErpConnection) -> dict[m.ActorType, list[str]]:
    """The keys the connector last reported searchable, per actor type (the connection's metadata cache)."""
    parsed = cache.get(connection, "searchable", lambda: _parse_searchable(connection))
    return {actor_type: list(keys) for actor_type, keys in parsed.items()}


def _parse_searchable(connection: ErpConnection) -> dict[m.ActorType, tuple[str, ...]]:
    return {m.ActorType(row.actor_type): tuple(row.searchable_json) for row in connection.actor_fields}


def searchable_fields(connection: ErpConnection, actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The fields an advanced search of ``actor_type`` may restrict: searchable, with operators for their type
    (SPEC §6.4)."""
    keys = set(searchable_keys(connection).get(actor_type, []))
    metas = offered_fields(connection).get(actor_type, [])
    return [meta for meta in metas if meta.key in keys and m.OPERATORS_BY_TYPE[meta.type]]


def user_of(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def open_context(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, *, needs_connector: bool = False
) -> Context:
    """The context of one connection for one entity, if the user may use the connection and the entity exists.

    ``needs_connector``: the use case can do nothing without the connector, so a connector whose circuit is open
    refuses it here (``UnavailableError``), before the context's reads: a hung connector's refusals stay cheap."""
    with engine.database.read_session() as session:
        connection = get_connection(session, connection_id, user=user_of(session, user_id))
        if connection.deleted_at is not None or not connection.active:
            raise NotFoundError(f"no active ERP connection with id {connection_id}")
        record = read_record(session, entity.entity_type, entity.entity_id)
        bulkhead = engine.clients.bulkhead(connection.connector_id) if needs_connector else None
        if bulkhead is not None:
            bulkhead.refuse_while_open()
        return build_context(engine, session, connection, record)


def read_entity(engine: Engine, entity: EntityRef) -> Entity:
    """The CRM entity whose tab this is, read in a short read session of its own (``NotFoundError`` when it does not
    exist); its columns stay readable after the session ends."""
    with engine.database.read_session() as session:
        return get_entity(session, entity.entity_type, entity.entity_id)


def search_fields(engine: Engine, user_id: int, connection_id: int, actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The fields an advanced search of ``actor_type`` may restrict in a connection the user can see (``NotFoundError``
    otherwise), read in a short read session of its own."""
    with engine.database.read_session() as session:
        connection = get_connection(session, connection_id, user=user_of(session, user_id))
        return searchable_fields(connection, actor_type)
