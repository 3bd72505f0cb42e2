"""Saving an actor type's automatic creation (``AutoCreate``) and previewing what a setting would do to today's data,
without writing (docs/concepts.md *Automatic creation*).

``save_auto_create`` is one unit of work with its audit entry; unknown match keys, or automatic creation on an actor
type that does not sync, are refused with every problem and nothing changes. Switching a direction on sets that side's
watermark back to the start, so the next run looks at every record of today once, as the preview did.

``preview`` reads today's unlinked records and decides each as the engine would (``sync.auto_matching``,
``sync.auto_erp``): how many would be created, linked, sent to review or stopped (and why). It reads at most
``PREVIEW_LIMIT`` records a side and says when it was bounded.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.crm.entities import ENTITY_TABLES
from erpsync.errors import NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ErpLink, SyncWatermark
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync import auto_erp, configuration, links
from erpsync.sync.auto_matching import CRM_SIDE, OPEN, AutoVerb, AutoVerdict, ErpMatcher, decided_reviews
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, AutoCreate, Problem
from erpsync.sync.match_keys import AUTO_CRITERIA
from erpsync.sync.merge import Side
from erpsync.sync.work import Engine, Pass, pass_of

PREVIEW_LIMIT = 5000
"""ERP actors a preview decides."""
CRM_PREVIEW_LIMIT = 500
"""CRM records a preview decides (each costs a search or two in the ERP)."""


def save_auto_create(
    session: Session, connection: ErpConnection, actor_type: m.ActorType, auto: AutoCreate, *, by: int | None
) -> AutoCreate:
    """Replace the automatic creation of one actor type; the setting as saved. The engine's next run applies it."""
    with unit_of_work(session):
        store_auto_create(session, connection, actor_type, auto)
        detail = {"actor_type": actor_type.value, "auto_create": auto.model_dump(mode="json")}
        detail |= audit.via(by)
        audit.record(
            session,
            user_id=by,
            action="update_auto_create",
            target_type="connection",
            target_id=connection.id,
            detail=detail,
        )
    return auto


def auto_problems(auto: AutoCreate, actor_type: m.ActorType) -> list[Problem]:
    """Every problem of ``auto``: a match key the actor type's records do not offer."""
    offered = {criterion.code for criterion in AUTO_CRITERIA[ENTITY_FOR_ACTOR[actor_type]]}
    names = ", ".join(sorted(offered))
    return [
        Problem(code, f"not a match key of this actor type (use: {names})", scope="auto_create.match")
        for code in auto.match
        if code not in offered
    ]


def store_auto_create(session: Session, connection: ErpConnection, actor_type: m.ActorType, auto: AutoCreate) -> None:
    """Check and write the setting in the caller's transaction (``save_auto_create``, a configuration file's apply)."""
    problems = auto_problems(auto, actor_type)
    if problems:
        raise configuration.ConfigurationRefusedError(problems)
    with configuration.changing(connection):
        row = configuration.actor_row(session, connection, actor_type)
        before = AutoCreate.model_validate(row.auto_json or {})
        row.auto_json = auto.model_dump(mode="json")
        _restart_feeds(session, connection.id, actor_type, before, auto)
        session.flush()


def _restart_feeds(
    session: Session, connection_id: int, actor_type: m.ActorType, before: AutoCreate, after: AutoCreate
) -> None:
    """A side newly switched on reads every record of today on the next run: its feed starts again."""
    mark = session.get(SyncWatermark, (connection_id, actor_type.value))
    if mark is None:
        return
    if after.direction.creates(Side.CRM) and not before.direction.creates(Side.CRM):
        mark.erp_since, mark.erp_cursor = None, None
    if after.direction.creates(Side.ERP) and not before.direction.creates(Side.ERP):
        mark.crm_seq = 0


# --- preview --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoPreview:
    """What a setting would do to today's unlinked records, by side: ``erp`` records would become CRM records (or be
    linked, reviewed, stopped), ``crm`` records ERP actors."""

    created: int = 0
    linked: int = 0
    review: int = 0
    stopped: int = 0
    decided: int = 0  # on the review list with a person's decision already: left alone
    checked: int = 0
    bounded: bool = False
    stop_reasons: dict[str, int] = dataclasses.field(default_factory=dict)

    def plus(self, other: AutoPreview) -> AutoPreview:
        reasons = Counter(self.stop_reasons) + Counter(other.stop_reasons)
        return AutoPreview(
            self.created + other.created,
            self.linked + other.linked,
            self.review + other.review,
            self.stopped + other.stopped,
            self.decided + other.decided,
            self.checked + other.checked,
            self.bounded or other.bounded,
            dict(reasons),
        )


def tally(verdicts: list[AutoVerdict], *, bounded: bool = False) -> AutoPreview:
    count = Counter(verdict.verb for verdict in verdicts)
    reasons = Counter(verdict.reason for verdict in verdicts if verdict.verb is AutoVerb.STOP)
    return AutoPreview(
        created=count[AutoVerb.CREATE],
        linked=count[AutoVerb.LINK],
        review=count[AutoVerb.REVIEW],
        stopped=count[AutoVerb.STOP],
        decided=count[AutoVerb.DECIDED],
        checked=len(verdicts),
        bounded=bounded,
        stop_reasons=dict(reasons),
    )


def candidate_pass(engine: Engine, connection_id: int, actor_type: m.ActorType, auto: AutoCreate) -> Pass:
    """The actor type's Pass with ``auto`` in place of its stored setting; refused as a save would be."""
    problems = auto_problems(auto, actor_type)
    if problems:
        raise configuration.ConfigurationRefusedError(problems)
    with engine.database.read_session() as session:
        connection = session.get(ErpConnection, connection_id)
        if connection is None or connection.deleted_at is not None:
            raise NotFoundError(f"no ERP connection with id {connection_id}")
        p = pass_of(engine, session, connection, actor_type)
    if p is None:
        raise ValidationError(f"{actor_type} does not sync in this connection: map and switch it on first")
    return dataclasses.replace(p, mapping=p.mapping.model_copy(update={"auto_create": auto}))


@dataclass(frozen=True)
class Previews:
    """A setting's preview: ERP actors that would become CRM records, CRM records that would become ERP actors."""

    erp_to_crm: AutoPreview
    crm_to_erp: AutoPreview


def preview(engine: Engine, connection_id: int, actor_type: m.ActorType, auto: AutoCreate) -> Previews:
    """What ``auto`` would do to today's data of the actor type, computed without writing anything."""
    p = candidate_pass(engine, connection_id, actor_type, auto)
    return Previews(preview_erp(engine, p), preview_crm(engine, p))


def preview_erp(engine: Engine, p: Pass) -> AutoPreview:
    """What the ERP side's unlinked actors would become under ``p``'s setting; writes nothing."""
    if not p.mapping.auto_create.direction.creates(Side.CRM):
        return AutoPreview()
    matcher = ErpMatcher(p)
    verdicts: list[AutoVerdict] = []
    cursor: str | None = None
    try:
        while len(verdicts) < PREVIEW_LIMIT:
            page = p.client.changes(
                connection_id=p.connection_uuid,
                actor_type=p.actor_type,
                since=None,
                field_keys=p.field_keys,
                cursor=cursor,
            )
            actors = [actor for actor in page.actors if actor.erp_key]
            with engine.database.read_session() as session:
                known = links.links_by_erp_key(
                    session, p.connection_id, p.actor_type, [a.erp_key or "" for a in actors]
                )
                verdicts += matcher.decide(session, [a for a in actors if a.erp_key not in known])
            cursor = page.next_cursor
            if cursor is None:
                return tally(verdicts)
    finally:
        matcher.close()
    return tally(verdicts, bounded=True)


def preview_crm(engine: Engine, p: Pass) -> AutoPreview:
    """What the CRM side's unlinked records would become under ``p``'s setting; searches the ERP, writes nothing."""
    if not p.mapping.auto_create.direction.creates(Side.ERP):
        return AutoPreview()
    table = ENTITY_TABLES[p.entity_type]
    linked = select(ErpLink.entity_id).where(
        ErpLink.connection_id == p.connection_id, ErpLink.entity_type == p.entity_type.value
    )
    with engine.database.read_session() as session:
        query = select(table.id).where(table.id.not_in(linked)).order_by(table.id).limit(CRM_PREVIEW_LIMIT + 1)
        ids = list(session.scalars(query))
        bounded, ids = len(ids) > CRM_PREVIEW_LIMIT, ids[:CRM_PREVIEW_LIMIT]
        reviewed = decided_reviews(session, p, CRM_SIDE, [str(i) for i in ids])
        drafts = auto_erp.read_drafts(session, p, ids)
    verdicts = [auto_erp.decide_crm_record(p, draft) for draft in drafts]
    verdicts += [
        AutoVerdict(key, "", AutoVerb.REVIEW if status == OPEN else AutoVerb.DECIDED)
        for key, status in reviewed.items()
    ]
    return tally(verdicts, bounded=bounded)
