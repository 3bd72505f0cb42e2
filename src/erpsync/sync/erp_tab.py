"""The ERP tab (SPEC §5.1): per connection a CRM user may see, the entity's link and its live ERP fields; search,
compare, connect, create in the ERP, sync now and disconnect.

Every operation first checks access (the connection visible to the user, not deleted and active; the CRM entity
present: ``NotFoundError`` otherwise, so a hidden connection is not disclosed), reads what it needs in a short read
session, calls the connector with no transaction open, then writes in one short transaction. Values cross sides
through ``sync.mapping``; the first sync of a new link is ``sync.merge.connect`` with the user's winners; creates go
through ``sync.creates`` (idempotent); *Sync now* is the engine's ``sync_link``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import delete
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, read_record, write_record
from erpsync.errors import (
    ConflictError,
    ErpsyncError,
    NotFoundError,
    UnavailableError,
    ValidationError,
    error_for,
)
from erpsync.protocol import models as m
from erpsync.protocol.client import time_budget
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, ErpLink, SyncCreate, User
from erpsync.sync import creates, links, merge
from erpsync.sync.configuration import offered_fields
from erpsync.sync.connections import client_for, get_connection, hidden_connection_names, visible_connections
from erpsync.sync.engine import Engine, Pass, RecordResult, sync_link
from erpsync.sync.mapping import (
    ENTITY_FOR_ACTOR,
    ActorTypeMapping,
    FieldDefault,
    Problem,
    validate_defaults,
    winners_by_erp_field,
)
from erpsync.sync.merge import Direction, Side, is_blank, same

SEARCH_LIMIT = 50

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


Display = str | bool
"""A value as it reads: text (a list item by its ERP label), or a checkbox's bool, which the caller words in its
user's language."""


@dataclass(frozen=True)
class EntityRef:
    entity_type: EntityType
    entity_id: int


class RefusedRequestError(ValidationError):
    """A request with bad parts; ``problems`` holds each one as (location, message), e.g. (("restrictions", 0,
    "operator"), "...")."""

    def __init__(self, summary: str, problems: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__(f"{summary}: " + "; ".join(message for _, message in problems))
        self.problems = tuple(problems)


# --- what the tab shows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkView:
    id: int
    actor_type: m.ActorType
    erp_key: str
    state: str
    last_sync_at: dt.datetime | None
    last_error: str | None

    @classmethod
    def of(cls, link: ErpLink) -> LinkView:
        return cls(link.id, m.ActorType(link.actor_type), link.erp_key, link.state, link.last_sync_at, link.last_error)


@dataclass(frozen=True)
class FieldValue:
    """An ERP field as shown: its raw value and how it reads (``Display``)."""

    key: str
    label: str
    value: m.Value
    display: Display


@dataclass(frozen=True)
class Section:
    connection_id: int
    connection_name: str
    actor_types: list[m.ActorType]
    link: LinkView | None
    fields: list[FieldValue]
    error: str | None = None
    unavailable: bool = False  # the error is the connector's bulkhead refusing: it is not answering or is full


@dataclass(frozen=True)
class Hit:
    erp_key: str
    actor_type: m.ActorType
    fields: list[FieldValue]
    linked: bool  # linked to a CRM entity in this connection already


@dataclass(frozen=True)
class FieldComparison:
    """One synced field in the connect dialog: both sides' values (in ERP terms) and whether the user must choose."""

    erp_field: str
    label: str
    crm_field: str
    direction: Direction
    crm: m.Value
    erp: m.Value
    crm_display: Display
    erp_display: Display
    differ: bool
    choice_needed: bool
    problem: str | None


@dataclass(frozen=True)
class Prompt:
    """A create default that asks the user."""

    key: str
    label: str
    type: m.FieldType
    items: list[m.ListItem]
    value: m.Value
    mandatory: bool


@dataclass(frozen=True)
class Linked:
    """What connect or create did: the link, the fields written on each side, values that could not cross."""

    link: LinkView
    changed_crm: list[str] = field(default_factory=list)
    changed_erp: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class RestrictionInput:
    field: str
    operator: str
    values: list[m.Value]


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


def _context(engine: Engine, session: Session, connection: ErpConnection, record: CrmRecord) -> Context:
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
        searchable=_searchable_keys(connection),
        pass_of=pass_of,
        record=record,
        link=LinkView.of(link) if link else None,
        parent=LinkView.of(parent) if parent else None,
    )


def _searchable_keys(connection: ErpConnection) -> dict[m.ActorType, list[str]]:
    """The keys the connector last reported searchable, per actor type (the connection's metadata cache)."""
    return {m.ActorType(row.actor_type): list(row.searchable_json) for row in connection.actor_fields}


def searchable_fields(connection: ErpConnection, actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The fields an advanced search of ``actor_type`` may restrict: searchable, with operators for their type
    (SPEC §6.4)."""
    keys = set(_searchable_keys(connection).get(actor_type, []))
    metas = offered_fields(connection).get(actor_type, [])
    return [meta for meta in metas if meta.key in keys and m.OPERATORS_BY_TYPE[meta.type]]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def _open(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> Context:
    """The context of one connection for one entity, if the user may use the connection and the entity exists."""
    with engine.database.read_session() as session:
        connection = get_connection(session, connection_id, user=_user(session, user_id))
        if connection.deleted_at is not None or not connection.active:
            raise NotFoundError(f"no active ERP connection with id {connection_id}")
        return _context(engine, session, connection, read_record(session, entity.entity_type, entity.entity_id))


# --- showing values -------------------------------------------------------------------------------------------------


def _metas(p: Pass) -> dict[str, m.FieldMeta]:
    return {meta.key: meta for meta in p.erp_fields}


def _list_labels(p: Pass, metas: Iterable[m.FieldMeta], records: Sequence[Mapping[str, m.Value]]) -> dict[str, str]:
    """The ERP labels of the list values in ``records``, keyed ``list_name/key``."""
    wanted: dict[str, set[str]] = {}
    for meta in metas:
        if meta.type is m.FieldType.LIST and meta.list_name:
            keys = {str(values[meta.key]) for values in records if not is_blank(values.get(meta.key))}
            if keys:
                wanted.setdefault(meta.list_name, set()).update(keys)
    return {
        f"{name}/{item.key}": item.label
        for name, keys in sorted(wanted.items())
        for item in p.client.list_items(connection_id=p.connection_uuid, list_name=name, keys=sorted(keys)).items
    }


def _display(meta: m.FieldMeta, value: m.Value, labels: Mapping[str, str]) -> Display:
    """How a value reads: a list item's label, a checkbox's bool (its words are the caller's language), else text."""
    if is_blank(value):
        return ""
    if meta.type is m.FieldType.LIST:
        return labels.get(f"{meta.list_name}/{value}", str(value))
    if isinstance(value, bool):
        return value
    return str(value)


def _shown(metas: Sequence[m.FieldMeta], values: Mapping[str, m.Value], labels: Mapping[str, str]) -> list[FieldValue]:
    return [
        FieldValue(meta.key, meta.label, values.get(meta.key), _display(meta, values.get(meta.key), labels))
        for meta in metas
    ]


def _rows_marked(p: Pass, *, tab: bool) -> list[m.FieldMeta]:
    """The ERP fields marked *show in ERP tab* (or *show in search*), in rank order; missing ones left out."""
    metas = _metas(p)
    marked = [row.erp_field for row in p.mapping.fields if (row.show_in_tab if tab else row.show_in_search)]
    return [metas[key] for key in marked if key in metas]


def _read_actor(p: Pass, erp_key: str, field_keys: Sequence[str]) -> m.Actor:
    found = p.client.get_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=[erp_key], field_keys=field_keys
    )
    actor = next((actor for actor in found.actors if actor.erp_key == erp_key), None)
    if actor is None:
        raise NotFoundError(f"the ERP has no {p.actor_type} {erp_key!r}: it was deleted or is missing")
    return actor


# --- sections -------------------------------------------------------------------------------------------------------


@interactive
def sections(engine: Engine, user_id: int, entity: EntityRef) -> list[Section]:
    """One section per active connection the user can see, with the live ERP fields of a linked entity."""
    with engine.database.read_session() as session:
        user = _user(session, user_id)
        record = read_record(session, entity.entity_type, entity.entity_id)
        contexts = [
            _context(engine, session, connection, record)
            for connection in visible_connections(session, user, active_only=True)
        ]
    return [_section(context) for context in contexts]


def _section(context: Context) -> Section:
    section = Section(context.connection.id, context.connection.name, context.actor_types, context.link, [])
    if context.link is None or context.link.actor_type not in context.pass_of:
        return section
    try:
        fields = _live_fields(context.pass_of[context.link.actor_type], context.link.erp_key)
    except ErpsyncError as error:  # the tab still shows the link and its state
        return replace(section, error=error.user_message, unavailable=isinstance(error, UnavailableError))
    return replace(section, fields=fields)


def _live_fields(p: Pass, erp_key: str) -> list[FieldValue]:
    metas = _rows_marked(p, tab=True)
    if not metas:
        return []
    actor = _read_actor(p, erp_key, [meta.key for meta in metas])
    return _shown(metas, actor.fields, _list_labels(p, metas, [actor.fields]))


# --- search ---------------------------------------------------------------------------------------------------------


@interactive
def search(
    engine: Engine,
    user_id: int,
    entity: EntityRef,
    connection_id: int,
    *,
    actor_type: m.ActorType,
    text: str | None = None,
    restrictions: Sequence[RestrictionInput] | None = None,
) -> list[Hit]:
    """Simple search (``text``; None: the entity's name) or advanced (``restrictions``); a person searches under its
    company's actor."""
    context = _open(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    metas = _rows_marked(p, tab=False) or _first_text_field(p)
    keys = [meta.key for meta in metas]
    if restrictions is not None:
        actors = _advanced(context, p, restrictions, keys)
    else:
        actors = _simple(context, p, _entity_name(context.record) if text is None else text, keys)
    with engine.database.read_session() as session:
        linked = links.links_by_erp_key(session, connection_id, actor_type, [a.erp_key for a in actors if a.erp_key])
    labels = _list_labels(p, metas, [actor.fields for actor in actors])
    return [
        Hit(actor.erp_key, actor.actor_type, _shown(metas, actor.fields, labels), actor.erp_key in linked)
        for actor in actors
        if actor.erp_key
    ]


def _first_text_field(p: Pass) -> list[m.FieldMeta]:
    """With no field marked *show in search*, a hit shows the ERP's first text field (its name, usually)."""
    texts = sorted((meta for meta in p.erp_fields if meta.type is m.FieldType.TEXT), key=lambda meta: meta.rank)
    return texts[:1]


def _entity_name(record: CrmRecord) -> str:
    return str(record.values.get("NAME") or record.values.get("LASTNAME") or "")


def _simple(context: Context, p: Pass, text: str, keys: list[str]) -> list[m.Actor]:
    if context.entity.entity_type is EntityType.PERSON:
        parent = context.require_parent()
        return p.client.search_by_parent(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            parent_type=parent.actor_type,
            parent_key=parent.erp_key,
            text=text,
            field_keys=keys,
            limit=SEARCH_LIMIT,
        ).actors
    return p.client.search_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, text=text, field_keys=keys, limit=SEARCH_LIMIT
    ).actors


def _advanced(context: Context, p: Pass, restrictions: Sequence[RestrictionInput], keys: list[str]) -> list[m.Actor]:
    checked = check_restrictions(restrictions, p.erp_fields, context.searchable.get(p.actor_type, []))
    parent = context.require_parent() if context.entity.entity_type is EntityType.PERSON else None
    actors = p.client.search_advanced(
        connection_id=p.connection_uuid, actor_type=p.actor_type, restrictions=checked, field_keys=keys
    ).actors
    if parent is None:
        return actors
    return [actor for actor in actors if (actor.parent_type, actor.parent_key) == (parent.actor_type, parent.erp_key)]


def check_restrictions(
    restrictions: Sequence[RestrictionInput], erp_fields: Sequence[m.FieldMeta], searchable: Collection[str]
) -> list[m.Restriction]:
    """The restrictions as protocol models, or ``RefusedRequestError`` naming every bad one (SPEC §6.4)."""
    metas = {meta.key: meta for meta in erp_fields if meta.key in searchable}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, restriction in enumerate(restrictions):
        member, message = _restriction_problem(restriction, metas.get(restriction.field)) or ("", "")
        if message:
            problems.append((("restrictions", index, member), message))
    if problems:
        raise RefusedRequestError("bad search restrictions", problems)
    return [m.Restriction(field=r.field, operator=m.Operator(r.operator), values=r.values) for r in restrictions]


def _restriction_problem(restriction: RestrictionInput, meta: m.FieldMeta | None) -> tuple[str, str] | None:
    if meta is None:
        return "field", f"{restriction.field!r} is not a searchable field"
    allowed = m.OPERATORS_BY_TYPE[meta.type]
    if restriction.operator not in {operator.value for operator in allowed}:
        names = ", ".join(sorted(operator.value for operator in allowed))
        return "operator", f"{restriction.operator!r} does not apply to {meta.type} field {meta.key!r} (use: {names})"
    count, operator = len(restriction.values), m.Operator(restriction.operator)
    if operator is m.Operator.BETWEEN and count != 2:
        return "values", f"'between' on {meta.key!r} takes two values, not {count}"
    if operator in (m.Operator.ONE_OF, m.Operator.NOT_ONE_OF) and count == 0:
        return "values", f"{operator.value!r} on {meta.key!r} takes one value or more"
    if operator not in (m.Operator.BETWEEN, m.Operator.ONE_OF, m.Operator.NOT_ONE_OF) and count != 1:
        return "values", f"{operator.value!r} on {meta.key!r} takes one value, not {count}"
    return None


# --- compare and connect --------------------------------------------------------------------------------------------


@interactive
def compare(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, *, actor_type: m.ActorType, erp_key: str
) -> list[FieldComparison]:
    """Per synced field, the entity's and the actor's values: what the connect dialog shows."""
    context = _open(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    return _comparisons(p, context.record, _read_actor(p, erp_key, p.field_keys))


def _comparisons(p: Pass, record: CrmRecord, actor: m.Actor) -> list[FieldComparison]:
    crm, erp = p.from_crm(record.values), p.from_erp(actor.fields)
    problems = {problem.field: problem.message for problem in (*crm.problems, *erp.problems)}
    metas = _metas(p)
    rows = [row for row in p.mapping.fields if row.synced and row.erp_field in metas and row.crm_field]
    labels = _list_labels(p, [metas[row.erp_field] for row in rows], [crm.values, erp.values])
    comparisons = []
    for row in rows:
        meta, key = metas[row.erp_field], row.erp_field
        differ = key in crm.values and key in erp.values and not same(crm.values[key], erp.values[key])
        comparisons.append(
            FieldComparison(
                erp_field=key,
                label=meta.label,
                crm_field=row.crm_field or "",
                direction=row.direction,
                crm=crm.values.get(key),
                erp=erp.values.get(key),
                crm_display=_display(meta, crm.values.get(key), labels),
                erp_display=_display(meta, erp.values.get(key), labels),
                differ=differ,
                choice_needed=differ and row.direction is Direction.BOTH,
                problem=problems.get(key),
            )
        )
    return comparisons


@interactive
def connect_actor(
    engine: Engine,
    user_id: int,
    entity: EntityRef,
    connection_id: int,
    *,
    actor_type: m.ActorType,
    erp_key: str,
    winners: Mapping[str, Side],
) -> Linked:
    """Link the entity to an existing actor; the user's winners settle the fields that differ; both sides updated."""
    context = _open(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    _check_free(engine.database, context, actor_type, erp_key)
    actor = _read_actor(p, erp_key, p.field_keys)
    _check_parent(context, actor)
    _check_winners(p, _comparisons(p, context.record, actor), winners)
    crm, erp = p.from_crm(context.record.values), p.from_erp(actor.fields)
    result = merge.connect(
        crm=crm.values, erp=erp.values, rules=p.rules, winners=winners_by_erp_field(winners, p.mapping)
    )
    crm_writes = p.to_crm(result.crm_writes)
    _save_erp(p, actor, result.erp_writes)
    with engine.database.session() as session:
        link = links.create_link(
            session,
            connection_id=connection_id,
            entity_type=entity.entity_type,
            entity_id=entity.entity_id,
            actor_type=actor_type,
            erp_key=erp_key,
            agreed=result.agreed,
        )
        if crm_writes.values:
            write_record(session, entity.entity_type, entity.entity_id, crm_writes.values, changed_by=p.origin)
        view = LinkView.of(link)
    problems = [*crm.problems, *erp.problems, *crm_writes.problems]
    return Linked(view, sorted(crm_writes.values), sorted(result.erp_writes), problems)


def _check_free(database: Database, context: Context, actor_type: m.ActorType, erp_key: str) -> None:
    """The link rules that can be checked before the ERP is touched (``links.create_link`` checks them again)."""
    if context.link is not None:
        raise ConflictError(f"this {context.entity.entity_type} is linked in this connection already")
    if context.entity.entity_type is EntityType.PERSON:
        context.require_parent()
    with database.read_session() as session:
        taken = links.links_by_erp_key(session, context.connection.id, actor_type, [erp_key])
    if taken:
        raise ConflictError(f"ERP {actor_type} {erp_key} is linked to another {context.entity.entity_type} already")


def _check_parent(context: Context, actor: m.Actor) -> None:
    if context.entity.entity_type is not EntityType.PERSON:
        return
    parent = context.require_parent()
    if (actor.parent_type, actor.parent_key) != (parent.actor_type, parent.erp_key):
        raise ValidationError(
            f"ERP person {actor.erp_key} does not belong to the person's company (ERP {parent.actor_type} "
            f"{parent.erp_key})"
        )


def _check_winners(p: Pass, comparisons: Sequence[FieldComparison], winners: Mapping[str, Side]) -> None:
    synced = {row.crm_field for row in p.mapping.fields if row.synced}
    problems: list[tuple[tuple[str | int, ...], str]] = [
        (("winners", crm_field), f"{crm_field} does not sync in this connection")
        for crm_field in winners
        if crm_field not in synced
    ]
    problems += [
        (("winners", c.crm_field), f"{c.crm_field} differs ({c.crm_display!r} / {c.erp_display!r}): choose crm or erp")
        for c in comparisons
        if c.choice_needed and c.crm_field not in winners
    ]
    if problems:
        raise RefusedRequestError("choose a winner for every field that differs", problems)


def _save_erp(p: Pass, read: m.Actor, writes: Mapping[str, m.Value]) -> None:
    """Write ``writes`` to the actor as it was ``read``: its ``last_modified`` lets the connector refuse a write over
    an edit made in the ERP since (optimistic locking) instead of losing that edit."""
    if not writes:
        return
    actor = m.Actor(
        actor_type=p.actor_type, erp_key=read.erp_key, last_modified=read.last_modified, fields=dict(writes)
    )
    saved = p.client.save_actors(connection_id=p.connection_uuid, actors=[actor])
    for error in saved.errors:
        raise error_for(error.error_code.value, f"the ERP did not save the values: {error.message}")


# --- create ---------------------------------------------------------------------------------------------------------


@interactive
def create_form(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, *, actor_type: m.ActorType
) -> list[Prompt]:
    """The defaults that ask the user, in rank order, with the items of list fields and the pre-filled value."""
    context = _open(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    asked = _asked(p)
    lists = {
        meta.list_name: p.client.list_items(connection_id=p.connection_uuid, list_name=meta.list_name).items
        for meta, _ in asked
        if meta.type is m.FieldType.LIST and meta.list_name
    }
    return [
        Prompt(meta.key, meta.label, meta.type, lists.get(meta.list_name or "", []), default.value, default.mandatory)
        for meta, default in asked
    ]


def _defaults(p: Pass) -> Mapping[str, FieldDefault]:
    return p.config.defaults.get(p.actor_type, {})


def _asked(p: Pass) -> list[tuple[m.FieldMeta, FieldDefault]]:
    metas = _metas(p)
    asked = [(metas[key], default) for key, default in _defaults(p).items() if default.ask_user and key in metas]
    return sorted(asked, key=lambda pair: pair[0].rank)


@interactive
def create_in_erp(
    engine: Engine,
    user_id: int,
    entity: EntityRef,
    connection_id: int,
    *,
    actor_type: m.ActorType,
    values: Mapping[str, m.Value],
) -> tuple[Linked, RecordResult | None]:
    """Create the actor in the ERP from the mapped CRM values, the fixed defaults and the user's answers, and link it;
    then sync the new link once so values the ERP assigned (numbers, its own defaults) reach the CRM."""
    context = _open(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    if context.link is not None:
        raise ConflictError(f"this {entity.entity_type} is linked in this connection already")
    parent = context.require_parent() if entity.entity_type is EntityType.PERSON else None
    if not p.client.capabilities.create.get(actor_type, True):
        raise ValidationError(f"the connector cannot create ERP {actor_type} actors")
    crm = p.from_crm(context.record.values)
    actor = m.Actor(
        actor_type=actor_type,
        parent_type=parent.actor_type if parent else None,
        parent_key=parent.erp_key if parent else None,
        fields=_new_actor_fields(p, crm.values, values),
    )
    created = _create(engine, context, actor, crm.values)
    problems = list(crm.problems)
    try:
        result: RecordResult | None = sync_link(engine, created.link_id)
    except ErpsyncError as error:  # the actor exists and is linked; the engine's next pass settles the rest
        result, problems = None, [*problems, Problem("", error.user_message)]
    with engine.database.read_session() as session:
        view = LinkView.of(links.get_link(session, created.link_id))
    return Linked(view, result.changed_crm if result else [], sorted(actor.fields), problems), result


def _new_actor_fields(p: Pass, crm: Mapping[str, m.Value], answers: Mapping[str, m.Value]) -> dict[str, m.Value]:
    """Fixed defaults, overridden by the mapped CRM values that flow to the ERP, overridden by the user's answers;
    ``RefusedRequestError`` naming each unknown answer, wrong value and mandatory field left blank."""
    defaults, metas = _defaults(p), _metas(p)
    asked = {key for key, default in defaults.items() if default.ask_user}
    given = {key: answers.get(key, defaults[key].value) for key in asked}
    writes_erp = {key for key, rule in p.rules.items() if rule.direction.writes(Side.ERP)}
    fields = {key: d.value for key, d in defaults.items() if not d.ask_user}
    fields |= {key: value for key, value in crm.items() if key in writes_erp}
    fields |= given
    fields = {key: value for key, value in fields.items() if not is_blank(value)}
    problems: list[tuple[tuple[str | int, ...], str]] = [
        (("values", key), f"{key!r} is not a value this create asks for") for key in answers if key not in asked
    ]
    wrong = validate_defaults(
        {key: FieldDefault(value=given[key]) for key in given if key in fields}, erp_fields=p.erp_fields
    )
    problems += [(("values", problem.field), f"{problem.field}: {problem.message}") for problem in wrong]
    mandatory = {key for key, d in defaults.items() if d.mandatory}
    mandatory |= {key for key, meta in metas.items() if meta.access is m.Access.MANDATORY}
    problems += [(("values", key), f"{key} is mandatory") for key in sorted(mandatory) if key not in fields]
    if problems:
        raise RefusedRequestError("the actor cannot be created", problems)
    return fields


def _create(engine: Engine, context: Context, actor: m.Actor, agreed: Mapping[str, m.Value]) -> creates.Created:
    """Through the idempotent creates; agreed on the CRM's values, so anything else the ERP holds flows to the CRM."""
    entity = context.entity
    try:
        return creates.create_actor(
            engine.database,
            engine.clients,
            connection_id=context.connection.id,
            entity_type=entity.entity_type,
            entity_id=entity.entity_id,
            actor=actor,
            agreed=agreed,
        )
    except ValidationError:
        _drop_pending_intent(engine.database, context)  # the ERP refused it outright: nothing was created
        raise


def _drop_pending_intent(database: Database, context: Context) -> None:
    with database.session() as session:
        session.execute(
            delete(SyncCreate).where(
                SyncCreate.connection_id == context.connection.id,
                SyncCreate.entity_type == context.entity.entity_type.value,
                SyncCreate.entity_id == context.entity.entity_id,
                SyncCreate.status == creates.PENDING,
            )
        )


# --- sync now and disconnect ----------------------------------------------------------------------------------------


@interactive
def sync_now(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> RecordResult:
    """Sync the entity's link at once (it takes the link's lock); answers what changed, naming no connection the
    user cannot see."""
    link = _open(engine, user_id, entity, connection_id).require_link()
    result = sync_link(engine, link.id)
    with engine.database.read_session() as session:
        hidden = hidden_connection_names(session, _user(session, user_id))
    outranked_by_hidden = {merge.OUTRANKED.format(connection=name) for name in hidden}
    anonymous = merge.OUTRANKED.format(connection="another ERP connection")
    result.conflicts = [
        replace(c, reason=anonymous) if c.reason in outranked_by_hidden else c for c in result.conflicts
    ]
    return result


@interactive
def disconnect(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> None:
    """Remove the link only: nothing is deleted in the CRM or the ERP."""
    link = _open(engine, user_id, entity, connection_id).require_link()
    with engine.database.session() as session:
        links.remove_link(session, link.id)
