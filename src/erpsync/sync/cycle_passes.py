"""The three passes a run makes over one actor type of one connection, page by page, each page stored with the
watermark that covers it:

1. ERP pass: ``changes`` since the stored ``since`` (resuming at the stored ``cursor``), page by page; the cursor
   advances with each page, ``next_since`` replaces ``since`` after the last one. Our own ERP writes come back here
   and merge to nothing, since the ERP value equals the agreed value.
2. ERP deletes: under the ``delete`` policy, the CRM records of broken links deleted (``sync.deletes``).
3. CRM pass: the CRM change feed since the stored ``change_seq``; changes tagged with this connection's origin are
   skipped (another connection still sees them); tombstones remove the entity's links, after deactivating their ERP
   actors under the ``deactivate_in_erp`` policy (``sync.deletes``).
4. Retry pass: failing links whose backoff has passed are synced in full (``get_actors`` + the CRM record).

Only linked records sync; under automatic creation (``sync.auto_create``, ``sync.auto_erp``) the ERP and CRM passes
first match, link or create the unlinked records they read. A page that fails to arrive is simply pulled again by the
next run. A cancel request is read at every page boundary (``Batch.cancel_requested``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from erpsync.crm.changes import changes_since
from erpsync.errors import ConnectorError
from erpsync.protocol import models as m
from erpsync.storage.tables import SyncWatermark, utcnow
from erpsync.sync import auto_create, auto_erp, deletes, links
from erpsync.sync.auto_matching import ErpMatcher
from erpsync.sync.batch import Batch, Finish, Outcome, sync_links, sync_pairs
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Pass

CRM_PAGE_SIZE = 200


# --- watermarks -----------------------------------------------------------------------------------------------------


def _watermark(session: Session, p: Pass) -> SyncWatermark:
    """The stored watermark of one actor type, added (at the start of both feeds) on first use."""
    mark = session.get(SyncWatermark, (p.connection_id, p.actor_type.value))
    if mark is None:
        mark = SyncWatermark(connection_id=p.connection_id, actor_type=p.actor_type.value, crm_seq=0)
        session.add(mark)
    return mark


@dataclass(frozen=True)
class ErpMark:
    since: str | None
    cursor: str | None

    def store(self, p: Pass) -> Finish:
        def finish(session: Session) -> None:
            mark = _watermark(session, p)
            if (mark.erp_since, mark.erp_cursor) != (self.since, self.cursor):
                mark.erp_since, mark.erp_cursor = self.since, self.cursor

        return finish


def begin_erp_feed(session: Session, p: Pass, since: str) -> None:
    """Start the ERP pass at ``since`` (where a read of every actor ended) unless it has a position of its own."""
    mark = _watermark(session, p)
    if mark.erp_since is None and mark.erp_cursor is None:
        mark.erp_since = since


def _read_marks(batch: Batch) -> tuple[ErpMark, int]:
    with batch.database.read_session() as session:
        mark = session.get(SyncWatermark, (batch.p.connection_id, batch.p.actor_type.value))
        if mark is None:
            return ErpMark(None, None), 0
        return ErpMark(mark.erp_since, mark.erp_cursor), mark.crm_seq


# --- the three passes -----------------------------------------------------------------------------------------------


def _erp_pass(batch: Batch) -> list[RecordResult]:
    """Pull ERP changes page by page from the stored watermark; each page is stored with the watermark after it."""
    p = batch.p
    mark, _ = _read_marks(batch)
    results: list[RecordResult] = []
    cursors = {mark.cursor}
    matcher = ErpMatcher(p) if auto_create.creates_in_crm(p) else None
    try:
        while True:
            page = p.client.changes(
                connection_id=p.connection_uuid,
                actor_type=p.actor_type,
                since=mark.since,
                field_keys=p.field_keys,
                cursor=mark.cursor,
            )
            if page.next_cursor is not None and page.next_cursor in cursors:
                raise ConnectorError(f"the connector returned cursor {page.next_cursor!r} twice: its paging loops")
            cursors.add(page.next_cursor)
            after = (
                ErpMark(mark.since, page.next_cursor)
                if page.next_cursor
                else ErpMark(page.next_since or mark.since, None)
            )
            results += _erp_page(batch, page, after.store(p), matcher)
            mark = after
            if page.next_cursor is None or batch.cancel_requested():
                return results + (auto_create.erp_waiting(batch, matcher) if matcher is not None else [])
    finally:
        if matcher is not None:
            matcher.close()


def _erp_page(batch: Batch, page: m.ChangesResponse, finish: Finish, matcher: ErpMatcher | None) -> list[RecordResult]:
    p = batch.p
    keys = [actor.erp_key for actor in page.actors if actor.erp_key] + list(page.deleted)
    with batch.database.read_session() as session:
        known = links.links_by_erp_key(session, p.connection_id, p.actor_type, keys)
    linked = {key: link for key, link in known.items() if link.state != links.LinkState.BROKEN.value}
    outcomes = [Outcome(linked[key], broken=True) for key in page.deleted if key in linked]
    pairs = [(linked[a.erp_key], a) for a in page.actors if a.erp_key in linked and a.erp_key not in page.deleted]
    if matcher is not None:
        unlinked = [a for a in page.actors if a.erp_key and a.erp_key not in known and a.erp_key not in page.deleted]
        pairs += auto_create.erp_unlinked(batch, matcher, unlinked).pairs
    return sync_pairs(batch, pairs, outcomes, finish)


def _crm_pass(batch: Batch) -> list[RecordResult]:
    """Read CRM changes since the stored sequence; skip our own writes; tombstones remove links."""
    p = batch.p
    _, seq = _read_marks(batch)
    results: list[RecordResult] = []
    while True:
        with batch.database.read_session() as session:
            changes = changes_since(session, p.entity_type, seq, limit=CRM_PAGE_SIZE)
            if not changes:
                return results + (auto_erp.crm_waiting(batch) if auto_erp.creates_in_erp(p) else [])
            touched = [c.entity_id for c in changes if not c.deleted and c.changed_by != p.origin]
            targets = [
                link
                for link in links.links_by_entity(session, p.connection_id, p.actor_type, touched).values()
                if link.state != links.LinkState.BROKEN.value
            ]
            # a record the hub deleted after its ERP actor was has no actor left to deactivate
            gone = [c.entity_id for c in changes if c.deleted and c.changed_by != p.origin]
            to_deactivate = deletes.deletion_targets(session, p, gone)
        deleted = [c.entity_id for c in changes if c.deleted]
        seq = changes[-1].change_seq
        if auto_erp.creates_in_erp(p):
            targets += auto_erp.crm_unlinked(batch, touched)
        refused = deletes.deactivate_in_erp(p, to_deactivate)
        results += sync_links(batch, targets, _after_crm_page(p, deleted, seq, refused))
        if len(changes) < CRM_PAGE_SIZE or batch.cancel_requested():
            return results


def _after_crm_page(p: Pass, deleted: Sequence[int], seq: int, refused: Mapping[int, str]) -> Finish:
    """Removes the links of ``deleted`` entities, except those whose ERP actor was not deactivated (``refused``, by
    entity): they stay, broken with the reason, for a person to see."""

    def finish(session: Session) -> None:
        kept = links.links_by_entity(session, p.connection_id, p.actor_type, list(refused))
        for entity_id, link in kept.items():
            links.mark_broken(
                link, f"the CRM record was deleted; deactivating the ERP actor failed: {refused[entity_id]}"
            )
        for entity_id in deleted:
            if entity_id not in kept:
                links.remove_entity_links(session, p.entity_type, entity_id, connection_id=p.connection_id)
        _watermark(session, p).crm_seq = seq

    return finish


def _retry_pass(batch: Batch) -> list[RecordResult]:
    """Failing links whose backoff has passed, synced in full."""
    with batch.database.read_session() as session:
        due = [
            link
            for link in links.due_for_retry(session, batch.p.connection_id, utcnow())
            if link.actor_type == batch.p.actor_type.value
        ]
    results: list[RecordResult] = []
    for start in range(0, len(due), CRM_PAGE_SIZE):
        if start and batch.cancel_requested():
            break
        results += sync_links(batch, due[start : start + CRM_PAGE_SIZE])
    return results


Step = Callable[[Batch], list[RecordResult]]

PASSES: tuple[Step, ...] = (_erp_pass, deletes.erp_deletes_pass, _crm_pass, _retry_pass)
"""The passes of each actor type, in order."""
