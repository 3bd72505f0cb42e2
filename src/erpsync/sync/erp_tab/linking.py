"""The tab's sections, comparing and connecting an entity to an actor, sync now and disconnect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, read_record, write_record
from erpsync.errors import ConflictError, ErpsyncError, UnavailableError, ValidationError, error_for
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.sync import links, merge
from erpsync.sync.connection_visibility import hidden_connection_names, visible_connections
from erpsync.sync.engine import sync_link
from erpsync.sync.erp_tab.context import (
    Context,
    EntityRef,
    RefusedRequestError,
    build_context,
    interactive,
    open_context,
    user_of,
)
from erpsync.sync.erp_tab.values import display, list_labels, metas_of, read_actor, rows_marked, shown
from erpsync.sync.erp_tab.views import FieldComparison, FieldValue, Linked, LinkView, Section, linked
from erpsync.sync.mapping import winners_by_erp_field
from erpsync.sync.merge import Direction, Side, same
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine, Pass

# --- sections -------------------------------------------------------------------------------------------------------


@interactive
def sections(engine: Engine, user_id: int, entity: EntityRef) -> list[Section]:
    """One section per active connection the user can see, with the live ERP fields of a linked entity."""
    with engine.database.read_session() as session:
        user = user_of(session, user_id)
        record = read_record(session, entity.entity_type, entity.entity_id)
        contexts = [
            build_context(engine, session, connection, record)
            for connection in visible_connections(session, user, active_only=True)
        ]
    return [_section(context) for context in contexts]


def _section(context: Context) -> Section:
    section = Section(
        connection_id=context.connection.id,
        connection_name=context.connection.name,
        actor_types=context.actor_types,
        link=context.link,
        fields=[],
    )
    if context.link is None or context.link.actor_type not in context.pass_of:
        return section
    try:
        fields = _live_fields(context.pass_of[context.link.actor_type], context.link.erp_key)
    except ErpsyncError as error:  # the tab still shows the link and its state
        unavailable = isinstance(error, UnavailableError)
        return section.model_copy(update={"error": error.user_message, "unavailable": unavailable})
    return section.model_copy(update={"fields": fields})


def _live_fields(p: Pass, erp_key: str) -> list[FieldValue]:
    metas = rows_marked(p, tab=True)
    if not metas:
        return []
    actor = read_actor(p, erp_key, [meta.key for meta in metas])
    return shown(metas, actor.fields, list_labels(p, metas, [actor.fields]))


# --- compare and connect --------------------------------------------------------------------------------------------


@interactive
def compare(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, *, actor_type: m.ActorType, erp_key: str
) -> list[FieldComparison]:
    """Per synced field, the entity's and the actor's values: what the connect dialog shows."""
    context = open_context(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    return _comparisons(p, context.record, read_actor(p, erp_key, p.field_keys))


def _comparisons(p: Pass, record: CrmRecord, actor: m.Actor) -> list[FieldComparison]:
    crm, erp = p.from_crm(record.values), p.from_erp(actor.fields)
    problems = {problem.field: problem.message for problem in (*crm.problems, *erp.problems)}
    metas = metas_of(p)
    rows = [row for row in p.mapping.fields if row.synced and row.erp_field in metas and row.crm_field]
    labels = list_labels(p, [metas[row.erp_field] for row in rows], [crm.values, erp.values])
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
                crm_display=display(meta, crm.values.get(key), labels),
                erp_display=display(meta, erp.values.get(key), labels),
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
    context = open_context(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    _check_free(engine.database, context, actor_type, erp_key)
    actor = read_actor(p, erp_key, p.field_keys)
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
    return linked(view, sorted(crm_writes.values), sorted(result.erp_writes), problems)


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


# --- sync now and disconnect ----------------------------------------------------------------------------------------


@interactive
def sync_now(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> RecordResult:
    """Sync the entity's link at once (it takes the link's lock); answers what changed, naming no connection the
    user cannot see."""
    link = open_context(engine, user_id, entity, connection_id).require_link()
    result = sync_link(engine, link.id)
    with engine.database.read_session() as session:
        hidden = hidden_connection_names(session, user_of(session, user_id))
    outranked_by_hidden = {merge.OUTRANKED.format(connection=name) for name in hidden}
    anonymous = merge.OUTRANKED.format(connection="another ERP connection")
    conflicts = [
        c.model_copy(update={"reason": anonymous}) if c.reason in outranked_by_hidden else c for c in result.conflicts
    ]
    return result.model_copy(update={"conflicts": conflicts})


@interactive
def disconnect(engine: Engine, user_id: int, entity: EntityRef, connection_id: int) -> None:
    """Remove the link only: nothing is deleted in the CRM or the ERP."""
    link = open_context(engine, user_id, entity, connection_id).require_link()
    with engine.database.session() as session:
        links.remove_link(session, link.id)
