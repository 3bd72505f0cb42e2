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

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.service import create_record, write_record
from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.storage.tables import AutoReview, ErpLink, utcnow
from erpsync.sync import links
from erpsync.sync.auto_matching import ERP_SIDE, OPEN, AutoVerb, AutoVerdict, ErpMatcher
from erpsync.sync.batch import Batch
from erpsync.sync.mapping import AutoDirection
from erpsync.sync.merge import Side
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
    return Written(pairs, verdicts)


def write_verdicts(session: Session, p: Pass, verdicts: Sequence[AutoVerdict]) -> list[ErpLink]:
    """Store ``verdicts`` in the caller's transaction: the links (and CRM records) made, review items noted. A record
    the CRM refuses is left out (the savepoint of its write rolled back)."""
    made: list[ErpLink] = []
    for verdict in verdicts:
        if verdict.verb is AutoVerb.REVIEW:
            note_review(session, p, ERP_SIDE, verdict)
        elif verdict.verb in (AutoVerb.LINK, AutoVerb.CREATE):
            link = _link_or_create(session, p, verdict)
            if link is not None:
                made.append(link)
    return made


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


def note_review(session: Session, p: Pass, side: str, verdict: AutoVerdict) -> None:
    """Put the record on the review list, or refresh its candidates while it waits there."""
    row = session.scalar(
        select(AutoReview).where(
            AutoReview.connection_id == p.connection_id,
            AutoReview.actor_type == p.actor_type.value,
            AutoReview.side == side,
            AutoReview.record_key == verdict.record_key,
        )
    )
    if row is None:
        session.add(
            AutoReview(
                connection_id=p.connection_id,
                actor_type=p.actor_type.value,
                side=side,
                record_key=verdict.record_key,
                label=verdict.label[:255],
                reason=verdict.reason,
                candidates_json=[c.__dict__ for c in verdict.candidates],
                status=OPEN,
                first_seen_at=utcnow(),
            )
        )
    elif row.status == OPEN and verdict.candidates:
        row.reason, row.candidates_json = verdict.reason, [c.__dict__ for c in verdict.candidates]
    session.flush()
