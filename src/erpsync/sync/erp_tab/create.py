"""Creating the entity's actor in the ERP from the tab: the prompts, then the idempotent create and a first sync."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import delete

from erpsync.crm.fields import EntityType
from erpsync.errors import ConflictError, ErpsyncError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncCreate
from erpsync.sync import creates, links
from erpsync.sync.engine import sync_link
from erpsync.sync.erp_tab.context import Context, EntityRef, RefusedRequestError, interactive, open_context
from erpsync.sync.erp_tab.values import metas_of
from erpsync.sync.erp_tab.views import Linked, LinkView, Prompt, linked
from erpsync.sync.mapping import FieldDefault, Problem
from erpsync.sync.merge import Side, agree_apart, is_blank, same
from erpsync.sync.new_actors import NewActorRefusedError, new_actor_fields
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine, Pass

# --- create ---------------------------------------------------------------------------------------------------------


@interactive
def create_form(
    engine: Engine, user_id: int, entity: EntityRef, connection_id: int, *, actor_type: m.ActorType
) -> list[Prompt]:
    """The defaults that ask the user, in rank order, with the items of list fields and the pre-filled value: the CRM
    record's where the mapping sends it to the ERP, else the default's."""
    context = open_context(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    asked = _asked(p)
    crm = _crm_values_for_erp(p, p.from_crm(context.record.values).values)
    lists = {
        meta.list_name: p.client.list_items(connection_id=p.connection_uuid, list_name=meta.list_name).items
        for meta, _ in asked
        if meta.type is m.FieldType.LIST and meta.list_name
    }
    return [
        Prompt(
            key=meta.key,
            label=meta.label,
            type=meta.type,
            items=lists.get(meta.list_name or "", []),
            value=crm.get(meta.key, default.value),
            mandatory=default.mandatory,
            from_record=meta.key in crm,
        )
        for meta, default in asked
    ]


def _crm_values_for_erp(p: Pass, canonical: Mapping[str, m.Value]) -> dict[str, m.Value]:
    """Of the record's values in ERP terms (``p.from_crm``), those the mapping sends to the ERP, blanks left out."""
    writes_erp = {key for key, rule in p.rules.items() if rule.direction.writes(Side.ERP)}
    return {key: value for key, value in canonical.items() if key in writes_erp and not is_blank(value)}


def _defaults(p: Pass) -> Mapping[str, FieldDefault]:
    return p.config.defaults.get(p.actor_type, {})


def _asked(p: Pass) -> list[tuple[m.FieldMeta, FieldDefault]]:
    metas = metas_of(p)
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
    update_crm: Collection[str] = (),
) -> tuple[Linked, RecordResult | None]:
    """Create the actor in the ERP from the mapped CRM values, the fixed defaults and the user's answers, and link it;
    then sync the new link once so values the ERP assigned (numbers, its own defaults) reach the CRM.

    An answer that differs from the record's value it was pre-filled with goes to the ERP only: the link agrees apart
    on the field (``merge.agree_apart``), so the CRM keeps its value until either side changes it. A field named in
    ``update_crm`` is agreed on the record's value instead, so the first sync writes the answer to the CRM too."""
    context = open_context(engine, user_id, entity, connection_id)
    p = context.checked_pass(actor_type)
    crm = p.from_crm(context.record.values)
    agreed = _agreed(p, crm.values, values, update_crm)
    if context.link is not None:
        raise ConflictError(f"this {entity.entity_type} is linked in this connection already")
    parent = context.require_parent() if entity.entity_type is EntityType.PERSON else None
    if not p.client.capabilities.create.get(actor_type, True):
        raise ValidationError(f"the connector cannot create ERP {actor_type} actors")
    actor = m.Actor(
        actor_type=actor_type,
        parent_type=parent.actor_type if parent else None,
        parent_key=parent.erp_key if parent else None,
        fields=_fields(p, crm.values, values),
    )
    created = _create(engine, context, actor, agreed)
    problems = list(crm.problems)
    try:
        result: RecordResult | None = sync_link(engine, created.link_id)
    except ErpsyncError as error:  # the actor exists and is linked; the engine's next pass settles the rest
        result, problems = None, [*problems, Problem("", error.user_message)]
    with engine.database.read_session() as session:
        view = LinkView.of(links.get_link(session, created.link_id))
    return linked(view, result.changed_crm if result else [], sorted(actor.fields), problems), result


def _agreed(
    p: Pass, canonical: Mapping[str, m.Value], answers: Mapping[str, m.Value], update_crm: Collection[str]
) -> dict[str, m.Value]:
    """The new link's first agreed values: the record's (``canonical``, in ERP terms), each answer that differs from
    its pre-filled record value agreed apart unless the user asked to update the CRM with it too."""
    prefilled = _crm_values_for_erp(p, canonical)
    unknown = sorted(set(update_crm) - (set(prefilled) & set(answers)))
    if unknown:
        raise ValidationError(f"only a value pre-filled from the record can update the CRM: {', '.join(unknown)}")
    agreed: dict[str, m.Value] = dict(canonical)
    for key, answer in answers.items():
        if key in prefilled and key not in update_crm and not same(answer, prefilled[key]):
            agreed = agree_apart(agreed, key, crm=prefilled[key], erp=answer)
    return agreed


def _fields(p: Pass, crm: Mapping[str, m.Value], answers: Mapping[str, m.Value]) -> dict[str, m.Value]:
    try:
        return new_actor_fields(p, crm, answers)
    except NewActorRefusedError as error:
        raise RefusedRequestError("the actor cannot be created", error.problems) from error


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
