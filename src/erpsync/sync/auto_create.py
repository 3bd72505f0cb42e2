"""Automatic creation, ERP -> CRM (docs/concepts.md *Automatic creation*): in the ERP pass, the unlinked actors of an
actor type opted in are matched (``sync.auto_matching``) and linked, created in the CRM and linked, or put on the
review list, in one transaction per page, before the page syncs; the new links then sync with the page.

A CRM record is created and linked in the same transaction, and the page's watermark is stored only after it: a crash
before the commit leaves nothing and the page is read again; a crash after it leaves the record linked, so the page
read again syncs it like any linked record. The unique keys on links (one per actor, one per entity) refuse a second
link, so no path makes a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from erpsync.crm.service import create_record, write_record
from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.storage.tables import AutoReview, ErpLink, utcnow
from erpsync.sync import links
from erpsync.sync.auto_matching import (
    ERP_SIDE,
    OPEN,
    PARENT_MISSING,
    WAITING,
    AutoVerb,
    AutoVerdict,
    ErpMatcher,
    ReviewReason,
    waiting_keys,
)
from erpsync.sync.batch import Batch, sync_pairs
from erpsync.sync.mapping import AutoDirection
from erpsync.sync.merge import Side
from erpsync.sync.record import RecordResult
from erpsync.sync.runs import RunCounts
from erpsync.sync.work import Pass


def creates_in_crm(p: Pass) -> bool:
    return p.mapping.auto_create.direction.creates(Side.CRM)


@dataclass(frozen=True)
class Written:
    """What one page's automatic creation did: the new links with their actors (to sync with the page)."""

    pairs: list[tuple[ErpLink, m.Actor]]
    verdicts: list[AutoVerdict]


def erp_unlinked(batch: Batch, matcher: ErpMatcher, actors: Sequence[m.Actor]) -> Written:
    """Match, link, create or send to review the unlinked ``actors`` of one page, in one transaction."""
    p = batch.p
    if not actors or p.mapping.auto_create.direction is AutoDirection.OFF:
        return Written([], [])
    by_key = {actor.erp_key: actor for actor in actors}
    with batch.database.session() as session:
        verdicts = matcher.decide(session, actors)
        done = write_verdicts(session, p, verdicts)
        pairs = [(link, by_key[link.erp_key]) for link in done]
        session.expunge_all()
    made = {link.erp_key for link in done}
    for verdict in verdicts:
        tally(batch.tally, verdict, made=verdict.record_key in made)
    return Written(pairs, verdicts)


def tally(counts: RunCounts, verdict: AutoVerdict, *, made: bool) -> None:
    """Count a carried-out verdict in its run: a link or a create ``made``, or a record put on the review list."""
    if made:
        counts.auto_created += verdict.verb is AutoVerb.CREATE
        counts.auto_linked += verdict.verb is AutoVerb.LINK
    else:
        counts.to_review += verdict.verb is AutoVerb.REVIEW


def write_verdicts(session: Session, p: Pass, verdicts: Sequence[AutoVerdict]) -> list[ErpLink]:
    """Store ``verdicts`` in the caller's transaction: the links (and CRM records) made, review items noted. A record
    the CRM refuses is left out (the savepoint of its write rolled back)."""
    made: list[ErpLink] = []
    for verdict in verdicts:
        if verdict.verb is AutoVerb.REVIEW:
            note_review(session, p, ERP_SIDE, verdict)
        elif verdict.verb is AutoVerb.STOP and verdict.reason == PARENT_MISSING:
            note_review(session, p, ERP_SIDE, verdict, status=WAITING)
        elif verdict.verb in (AutoVerb.LINK, AutoVerb.CREATE):
            link = _link_or_create(session, p, verdict)
            if link is not None:
                made.append(link)
                stop_waiting(session, p, ERP_SIDE, verdict.record_key)
    return made


def erp_waiting(batch: Batch, matcher: ErpMatcher) -> list[RecordResult]:
    """The persons that waited for their company, tried again (after the pages: their company may be linked now)."""
    p = batch.p
    with batch.database.read_session() as session:
        keys = waiting_keys(session, p, ERP_SIDE)
    if not keys:
        return []
    found = p.client.get_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=keys, field_keys=p.field_keys
    )
    with batch.database.session() as session:
        linked = links.links_by_erp_key(session, p.connection_id, p.actor_type, keys)
        drop_waiting(session, p, ERP_SIDE, [key for key in keys if key in linked or key in found.not_found])
    actors = [actor for actor in found.actors if actor.erp_key not in linked]
    return sync_pairs(batch, erp_unlinked(batch, matcher, actors).pairs, [], None)


def _link_or_create(session: Session, p: Pass, verdict: AutoVerdict) -> ErpLink | None:
    try:
        with session.begin_nested():
            if verdict.verb is AutoVerb.CREATE:
                entity_id = create_record(
                    session, p.entity_type, verdict.crm_values, changed_by=p.origin, company_id=verdict.company_id
                ).id
            else:
                assert verdict.entity_id is not None
                entity_id = verdict.entity_id
                write_record(session, p.entity_type, entity_id, verdict.crm_values, changed_by=p.origin)
            return links.create_link(
                session,
                connection_id=p.connection_id,
                entity_type=p.entity_type,
                entity_id=entity_id,
                actor_type=p.actor_type,
                erp_key=verdict.record_key,
                agreed=verdict.agreed,
            )
    except ErpsyncError:
        return None


def _row_of(p: Pass, side: str) -> tuple[ColumnElement[bool], ...]:
    return (
        AutoReview.connection_id == p.connection_id,
        AutoReview.actor_type == p.actor_type.value,
        AutoReview.side == side,
    )


def stop_waiting(session: Session, p: Pass, side: str, record_key: str) -> None:
    """The record is linked: it waits no more."""
    drop_waiting(session, p, side, [record_key])


def drop_waiting(session: Session, p: Pass, side: str, record_keys: Sequence[str]) -> None:
    """Those of ``record_keys`` wait no more (linked meanwhile, or gone)."""
    if record_keys:
        rows = (*_row_of(p, side), AutoReview.record_key.in_(list(record_keys)), AutoReview.status == WAITING)
        session.execute(delete(AutoReview).where(*rows))


def note_review(session: Session, p: Pass, side: str, verdict: AutoVerdict, *, status: str = OPEN) -> None:
    """Put the record on the review list (or, ``WAITING``, on the waiting list), or refresh its candidates while it
    waits there."""
    row = session.scalar(select(AutoReview).where(*_row_of(p, side), AutoReview.record_key == verdict.record_key))
    if row is None:
        session.add(
            AutoReview(
                connection_id=p.connection_id,
                actor_type=p.actor_type.value,
                side=side,
                record_key=verdict.record_key,
                label=verdict.label[:255],
                reason=verdict.reason if status == OPEN else ReviewReason.PARENT,
                candidates_json=[c.__dict__ for c in verdict.candidates],
                status=status,
                first_seen_at=utcnow(),
            )
        )
    elif row.status == OPEN and verdict.candidates:
        row.reason, row.candidates_json = verdict.reason, [c.__dict__ for c in verdict.candidates]
    session.flush()
