"""Automatic creation, CRM -> ERP (docs/concepts.md *Automatic creation*): in the CRM pass, the unlinked CRM records
of an actor type opted in are matched against the ERP through the protocol's search, then linked, created in the ERP
or put on the review list.

A create goes through the idempotent creates the ERP tab uses (``sync.creates``: the intent and its request id are
stored before the connector is called), with the values the ERP tab sends: the connection's fixed defaults, the
pre-filled answers of those that ask, the mapped CRM values; a mandatory value missing stops the record with the
reason. Pending intents of the actor type are completed first, so a run killed halfway never creates twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, read_records
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.bulk import one_of
from erpsync.storage.tables import ErpLink
from erpsync.sync import creates, filters, links
from erpsync.sync.auto_create import drop_waiting, note_review, stop_waiting, tally
from erpsync.sync.auto_matching import (
    CRM_SIDE,
    OPEN,
    PARENT_MISSING,
    WAITING,
    AutoVerb,
    AutoVerdict,
    Candidate,
    ReviewReason,
    crm_label,
    decided_reviews,
    waiting_keys,
)
from erpsync.sync.batch import Batch, stop_if_fatal, sync_links
from erpsync.sync.match_keys import SIMILAR, Criterion, auto_criteria
from erpsync.sync.merge import Side
from erpsync.sync.new_actors import NewActorRefusedError, new_actor_fields
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine, Pass

SEARCH_LIMIT = 20


def creates_in_erp(p: Pass) -> bool:
    return p.mapping.auto_create.direction.creates(Side.ERP)


@dataclass(frozen=True)
class CrmDraft:
    """An unlinked CRM record, read once, with the link of its parent (a person's company) if it has one."""

    record: CrmRecord
    parent: ErpLink | None


def crm_unlinked(batch: Batch, entity_ids: Sequence[int]) -> list[ErpLink]:
    """Match, link, create in the ERP or send to review the unlinked CRM records ``entity_ids``; the links made."""
    p = batch.p
    creates.resume_pending_of(
        batch.database, batch.engine.clients, connection_id=p.connection_id, entity_type=p.entity_type
    )
    with batch.database.read_session() as session:
        drafts = read_drafts(session, p, entity_ids)
    made: list[ErpLink] = []
    for draft in drafts:
        verdict = decide_crm_record(p, draft)
        try:
            link = act(batch.engine, p, draft, verdict)
        except ErpsyncError as error:
            stop_if_fatal(error)
            continue  # the record is tried again when it changes, or by the next run's resume of its intent
        if link is not None:
            made.append(link)
        elif verdict.verb is AutoVerb.LINK:  # its match was linked meanwhile: it went to the review list
            verdict = _as_review(verdict, ReviewReason.TAKEN)
        tally(batch.tally, verdict, made=link is not None)
    return made


def crm_waiting(batch: Batch) -> list[RecordResult]:
    """The persons that waited for their company, tried again (at the end of the CRM pass: it may be linked now)."""
    p = batch.p
    with batch.database.session() as session:
        waiting = [int(key) for key in waiting_keys(session, p, CRM_SIDE)]
        here = read_records(session, p.entity_type, waiting)
        linked = _entity_links(session, p.connection_id, p.entity_type, waiting)
        drop_waiting(session, p, CRM_SIDE, [str(i) for i in waiting if i not in here or i in linked])
    made = crm_unlinked(batch, waiting) if waiting else []
    return sync_links(batch, made) if made else []


def read_drafts(session: Session, p: Pass, entity_ids: Sequence[int]) -> list[CrmDraft]:
    """The records of ``entity_ids`` that have no link in the connection and no review item decided or open."""
    linked = _entity_links(session, p.connection_id, p.entity_type, entity_ids)
    free = [entity_id for entity_id in entity_ids if entity_id not in linked]
    reviewed = decided_reviews(session, p, CRM_SIDE, [str(entity_id) for entity_id in free])
    records = read_records(session, p.entity_type, [i for i in free if str(i) not in reviewed])
    parents: dict[int, ErpLink] = {}
    if p.entity_type is EntityType.PERSON:
        companies = [r.company_id for r in records.values() if r.company_id is not None]
        parents = _entity_links(session, p.connection_id, EntityType.COMPANY, companies)
    session.expunge_all()
    return [
        CrmDraft(record, parents.get(record.company_id or 0)) for record in (records[i] for i in free if i in records)
    ]


def draft_of(session: Session, p: Pass, entity_id: int) -> CrmDraft:
    """The record ``entity_id`` with its parent's link, whatever the review list says (a person decides on it)."""
    record = read_records(session, p.entity_type, [entity_id]).get(entity_id)
    if record is None:
        raise NotFoundError(f"no CRM {p.entity_type} {entity_id}")
    parent = None
    if record.company_id is not None:
        parent = _entity_links(session, p.connection_id, EntityType.COMPANY, [record.company_id]).get(record.company_id)
    session.expunge_all()
    return CrmDraft(record, parent)


def _entity_links(
    session: Session, connection_id: int, entity_type: EntityType, entity_ids: Sequence[int]
) -> dict[int, ErpLink]:
    """The link of each of ``entity_ids`` in the connection, whatever its actor type."""
    if not entity_ids:
        return {}
    query = select(ErpLink).where(
        ErpLink.connection_id == connection_id,
        ErpLink.entity_type == entity_type.value,
        one_of(session, ErpLink.entity_id, entity_ids),
    )
    return {link.entity_id: link for link in session.scalars(query)}


def decide_crm_record(p: Pass, draft: CrmDraft) -> AutoVerdict:
    """The verdict of one unlinked CRM record; reads the ERP (searches), writes nothing."""
    record = draft.record
    key, label = str(record.id), crm_label(p.entity_type, record.values) or str(record.id)
    if p.entity_type is EntityType.PERSON and draft.parent is None:
        return AutoVerdict(key, label, AutoVerb.STOP, reason=PARENT_MISSING)
    try:
        fields = new_actor_fields(p, p.from_crm(record.values).values, {})
    except NewActorRefusedError as error:
        return AutoVerdict(key, label, AutoVerb.STOP, reason=str(error))
    if outside := filters.outside_reason(p.mapping.sync_filter, fields, record.values):
        return AutoVerdict(key, label, AutoVerb.STOP, reason=outside)
    exact, similar = _candidates(p, draft)
    if len(exact) == 1:
        (candidate,) = exact.values()
        return AutoVerdict(key, label, AutoVerb.LINK, candidate.criterion, (candidate,))
    if exact or similar:
        reason = ReviewReason.SEVERAL if exact else ReviewReason.SIMILAR
        return AutoVerdict(key, label, AutoVerb.REVIEW, reason, tuple((exact or similar).values()))
    return AutoVerdict(key, label, AutoVerb.CREATE, crm_values=fields)


def _candidates(p: Pass, draft: CrmDraft) -> tuple[dict[str, Candidate], dict[str, Candidate]]:
    """The ERP actors whose values agree with the record by a chosen key, and those with a similar name only."""
    values = draft.record.values
    exact: dict[str, Candidate] = {}
    for criterion in auto_criteria(p.entity_type, p.mapping.auto_create.match):
        wanted = criterion.key(values)
        if wanted is not None:
            for actor in _search(p, criterion, values, draft.parent):
                _keep(p, exact, actor, criterion, wanted)
    similar: dict[str, Candidate] = {}
    loose = SIMILAR[p.entity_type]
    if not exact and (wanted := loose.key(values)) is not None:
        for actor in _text_search(p, wanted, draft.parent):  # the loose name: no legal form to miss a match by
            _keep(p, similar, actor, loose, wanted)
    return exact, similar


def _keep(p: Pass, found: dict[str, Candidate], actor: m.Actor, criterion: Criterion, wanted: str) -> None:
    crm = p.translator.canonical_to_crm(p.from_erp(actor.fields).values)
    if actor.erp_key and criterion.erp_key(actor.fields, crm) == wanted:
        label = crm_label(p.entity_type, crm) or actor.erp_key
        found.setdefault(actor.erp_key, Candidate(actor.erp_key, label, criterion.code))


def _search(p: Pass, criterion: Criterion, values: Mapping[str, object], parent: ErpLink | None) -> list[m.Actor]:
    """The ERP's actors whose field equals the record's value by ``criterion`` (its own ERP field, or the ERP field
    mapped to its CRM field); a text search where the connector cannot search that field."""
    text = " ".join(str(values.get(k) or "").strip() for k in criterion.crm_keys).strip()
    field = criterion.erp_field or _mapped_erp_field(p, criterion)
    if field is None or len(criterion.crm_keys) > 1:
        return _text_search(p, text, parent)
    try:
        found = p.client.search_advanced(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            restrictions=[m.Restriction(field=field, operator=m.Operator.EQ, values=[text])],
            field_keys=p.field_keys,
            limit=SEARCH_LIMIT,
        ).actors
    except ValidationError:
        return _text_search(p, text, parent)
    return [a for a in found if parent is None or a.parent_key == parent.erp_key]


def _text_search(p: Pass, text: str, parent: ErpLink | None) -> list[m.Actor]:
    if parent is not None:
        return p.client.search_by_parent(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            parent_type=m.ActorType(parent.actor_type),
            parent_key=parent.erp_key,
            field_keys=p.field_keys,
            text=text,
        ).actors
    return p.client.search_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, text=text, field_keys=p.field_keys, limit=SEARCH_LIMIT
    ).actors


def _mapped_erp_field(p: Pass, criterion: Criterion) -> str | None:
    return next((row.erp_field for row in p.mapping.fields if row.crm_field == criterion.crm_keys[0]), None)


def act(engine: Engine, p: Pass, draft: CrmDraft, verdict: AutoVerdict) -> ErpLink | None:
    """Carry ``verdict`` out: link, create in the ERP (idempotent) and link, or note the review item."""
    record = draft.record
    agreed = p.from_crm(record.values).values
    if verdict.verb is AutoVerb.LINK:
        with engine.database.session() as session:
            if links.links_by_erp_key(session, p.connection_id, p.actor_type, [verdict.candidates[0].key]):
                taken = ReviewReason.TAKEN
                note_review(session, p, CRM_SIDE, _as_review(verdict, taken))
                return None
            link = links.create_link(
                session,
                connection_id=p.connection_id,
                entity_type=p.entity_type,
                entity_id=record.id,
                actor_type=p.actor_type,
                erp_key=verdict.candidates[0].key,
                agreed=agreed,
            )
            stop_waiting(session, p, CRM_SIDE, verdict.record_key)
            session.expunge(link)
            return link
    if verdict.verb is AutoVerb.REVIEW or verdict.reason == PARENT_MISSING:
        with engine.database.session() as session:
            note_review(session, p, CRM_SIDE, verdict, status=OPEN if verdict.verb is AutoVerb.REVIEW else WAITING)
        return None
    if verdict.verb is not AutoVerb.CREATE:
        return None
    link = _create(engine, p, draft, verdict.crm_values, agreed)
    with engine.database.session() as session:
        stop_waiting(session, p, CRM_SIDE, verdict.record_key)
    return link


def _as_review(verdict: AutoVerdict, reason: str) -> AutoVerdict:
    return AutoVerdict(verdict.record_key, verdict.label, AutoVerb.REVIEW, reason, verdict.candidates)


def _create(
    engine: Engine, p: Pass, draft: CrmDraft, fields: Mapping[str, m.Value], agreed: Mapping[str, m.Value]
) -> ErpLink:
    parent = draft.parent
    actor = m.Actor(
        actor_type=p.actor_type,
        parent_type=m.ActorType(parent.actor_type) if parent else None,
        parent_key=parent.erp_key if parent else None,
        fields=dict(fields),
    )
    created = creates.create_actor(
        engine.database,
        engine.clients,
        connection_id=p.connection_id,
        entity_type=p.entity_type,
        entity_id=draft.record.id,
        actor=actor,
        agreed=agreed,
    )
    with engine.database.read_session() as session:
        link = links.get_link(session, created.link_id)
        session.expunge(link)
        return link
