"""The review list of automatic creation (docs/concepts.md *Automatic creation*): per connection, the records matching
found no single sure partner for, with their candidates and why; a person links one to a candidate, creates it new,
or ignores it (remembered: it is not offered again).

Each action reads what it needs from the connector first, then writes in one transaction with its audit entry; an
item decided already is refused (``ConflictError``), so two people deciding at once cannot both act.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.crm.fields import EntityType
from erpsync.crm.service import user_origin
from erpsync.errors import ConflictError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import AutoReview, ErpConnection, utcnow
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync import auto_erp
from erpsync.sync.auto_create import write_verdicts
from erpsync.sync.auto_matching import ERP_SIDE, OPEN, AutoVerb, AutoVerdict, Candidate, erp_parents, writing
from erpsync.sync.new_actors import new_actor_fields
from erpsync.sync.work import Engine, Pass, pass_of


class ReviewAction(StrEnum):
    LINK = "link"
    CREATE = "create"
    IGNORE = "ignore"


DONE_BY_ACTION = {ReviewAction.LINK: "linked", ReviewAction.CREATE: "created", ReviewAction.IGNORE: "ignored"}


class CandidateView(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    criterion: str


class ReviewView(BaseModel):
    """One item of the review list, as the API answers it and the web page shows it."""

    model_config = ConfigDict(frozen=True)

    id: int
    connection_id: int
    actor_type: m.ActorType
    side: str
    record_key: str
    label: str
    reason: str
    candidates: list[CandidateView]
    status: str
    first_seen_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, row: AutoReview) -> ReviewView:
        return cls(
            id=row.id,
            connection_id=row.connection_id,
            actor_type=m.ActorType(row.actor_type),
            side=row.side,
            record_key=row.record_key,
            label=row.label,
            reason=row.reason,
            candidates=[CandidateView.model_validate(c) for c in row.candidates_json],
            status=row.status,
            first_seen_at=row.first_seen_at,
            decided_at=row.decided_at,
        )


def list_reviews(session: Session, connection_id: int, *, status: str | None = OPEN) -> list[ReviewView]:
    """The connection's review items (open ones by default; ``None``: every one), oldest first."""
    query = select(AutoReview).where(AutoReview.connection_id == connection_id)
    if status is not None:
        query = query.where(AutoReview.status == status)
    return [ReviewView.of(row) for row in session.scalars(query.order_by(AutoReview.id))]


def open_count(session: Session, connection_id: int) -> int:
    query = select(func.count()).where(AutoReview.connection_id == connection_id, AutoReview.status == OPEN)
    return int(session.scalar(query) or 0)


def _open_item(session: Session, connection_id: int, review_id: int) -> AutoReview:
    row = session.get(AutoReview, review_id)
    if row is None or row.connection_id != connection_id:
        raise NotFoundError(f"no review item {review_id} in this connection")
    if row.status != OPEN:
        raise ConflictError(f"review item {review_id} is {row.status} already")
    return row


def _decided(session: Session, row: AutoReview, action: ReviewAction, by: int | None, detail: dict[str, str]) -> None:
    row.status, row.decided_at = DONE_BY_ACTION[action], utcnow()
    row.decided_by = user_origin(by) if by is not None else "cli"
    audit.record(
        session,
        user_id=by,
        action=f"auto_review_{action.value}",
        target_type="connection",
        target_id=row.connection_id,
        detail={"review_id": row.id, "side": row.side, "record_key": row.record_key, **detail},
    )


def ignore(session: Session, connection_id: int, review_id: int, *, by: int | None) -> ReviewView:
    """Ignore the item: the record stays unlinked and automatic creation leaves it alone from now on."""
    with unit_of_work(session):
        row = _open_item(session, connection_id, review_id)
        _decided(session, row, ReviewAction.IGNORE, by, {})
        return ReviewView.of(row)


def ignore_item(database: Database, connection_id: int, review_id: int, *, by: int | None) -> ReviewView:
    """``ignore`` in a session of its own (the CLI)."""
    with database.session() as session:
        return ignore(session, connection_id, review_id, by=by)


def decide(
    engine: Engine,
    connection_id: int,
    review_id: int,
    action: ReviewAction,
    *,
    candidate: str | None = None,
    by: int | None,
) -> ReviewView:
    """Link the item's record to ``candidate`` (one of its candidates), or create its partner new."""
    if action is ReviewAction.LINK and not candidate:
        raise ValidationError("choose the candidate to link to")
    with engine.database.read_session() as session:
        row = _open_item(session, connection_id, review_id)
        if action is ReviewAction.LINK and candidate not in {c["key"] for c in row.candidates_json}:
            raise ValidationError(f"{candidate!r} is not a candidate of review item {review_id}")
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        p = pass_of(engine, session, connection, m.ActorType(row.actor_type))
        side, record_key = row.side, row.record_key
    if p is None:
        raise ValidationError(f"{row.actor_type} does not sync in this connection")
    if side == ERP_SIDE:
        return _decide_erp(engine, p, review_id, record_key, action, candidate, by)
    return _decide_crm(engine, p, review_id, int(record_key), action, candidate, by)


def _decide_erp(
    engine: Engine,
    p: Pass,
    review_id: int,
    erp_key: str,
    action: ReviewAction,
    candidate: str | None,
    by: int | None,
) -> ReviewView:
    """The record is an ERP actor: link it to a CRM record (the ERP's values written, as automatic links do) or
    create its CRM record."""
    found = p.client.get_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=[erp_key], field_keys=p.field_keys
    )
    actor = next((a for a in found.actors if a.erp_key == erp_key), None)
    if actor is None:
        raise NotFoundError(f"the ERP no longer has {p.actor_type} {erp_key}")
    with engine.database.session() as session:
        row = _open_item(session, p.connection_id, review_id)
        company_id = None
        if p.entity_type is EntityType.PERSON:
            company_id = erp_parents(session, p, [actor]).get(
                (actor.parent_type.value if actor.parent_type else "", actor.parent_key or "")
            )
            if company_id is None:
                raise ConflictError("the person's company is not linked yet")
        entity_id = int(candidate) if candidate else None
        verb = AutoVerb.LINK if action is ReviewAction.LINK else AutoVerb.CREATE
        verdict = writing(p, actor, verb, "review", entity_id, company_id)
        made = write_verdicts(session, p, [verdict])
        if not made:
            raise ConflictError("the record could not be linked: it or its candidate is linked already")
        _decided(session, row, action, by, {"entity_id": str(made[0].entity_id)})
        return ReviewView.of(row)


def _decide_crm(
    engine: Engine,
    p: Pass,
    review_id: int,
    entity_id: int,
    action: ReviewAction,
    candidate: str | None,
    by: int | None,
) -> ReviewView:
    """The record is a CRM record: link it to an ERP actor, or create its actor in the ERP with the connection's
    defaults (the idempotent create)."""
    with engine.database.read_session() as session:
        draft = auto_erp.draft_of(session, p, entity_id)
    if p.entity_type is EntityType.PERSON and draft.parent is None:
        raise ConflictError("the person's company is not linked yet")
    if action is ReviewAction.LINK:
        verdict = AutoVerdict(str(entity_id), "", AutoVerb.LINK, "review", (Candidate(candidate or "", "", ""),))
    else:
        fields = new_actor_fields(p, p.from_crm(draft.record.values).values, {})
        verdict = AutoVerdict(str(entity_id), "", AutoVerb.CREATE, crm_values=fields)
    link = auto_erp.act(engine, p, draft, verdict)
    if link is None:
        raise ConflictError("the candidate is linked to another record already")
    with engine.database.session() as session:
        row = _open_item(session, p.connection_id, review_id)
        _decided(session, row, action, by, {"erp_key": link.erp_key})
        return ReviewView.of(row)
