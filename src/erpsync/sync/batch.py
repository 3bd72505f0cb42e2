"""A batch of records of one actor type, synced together: their actors read (or given by a page of changes), each
merged with its CRM record (``record.plan_record``), the ERP side written with ``save_actors`` outside any database
transaction, then everything stored in ONE short transaction: the CRM writes (tagged ``sync:<connection id>``), the
links' new agreed values and states, the history events, the run's counts and the state that covers the batch (a
watermark, removed links). One record's failure (typed reason) never stops the batch; an auth or configuration error
stops the run (``RunStoppedError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, read_records, write_records
from erpsync.errors import Action, ErpsyncError, ErrorCode
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpLink, utcnow
from erpsync.sync import conflicts, filters, links, locks, moves, runs
from erpsync.sync.record import Plan, RecordResult, counts_of, plan_record
from erpsync.sync.work import Engine, Pass

BUSY_RETRIES = 10
BUSY_PAUSE_SECONDS = 0.3
"""A record another sync holds (its link's lease) is tried again this often, this far apart: a change is not left
waiting for the next run because another worker was syncing the same record a moment ago."""


class RunStoppedError(Exception):
    """Stops a run: the connection cannot sync until an administrator acts (auth, configuration)."""

    def __init__(self, error: ErpsyncError) -> None:
        super().__init__(error.user_message)
        self.error = error


@dataclass
class CancelWatch:
    """Whether a cancel of the run was requested: read from the database at page boundaries, sticky once seen."""

    database: Database
    run_id: int
    seen: bool = False

    def requested(self) -> bool:
        self.seen = self.seen or runs.cancel_requested(self.database, self.run_id)
        return self.seen


@dataclass(frozen=True)
class Batch:
    """One run's view of one actor type: where events go, whose leases the run holds, whether it is asked to stop."""

    engine: Engine
    p: Pass
    run_id: int
    holder: str
    cancel: CancelWatch | None = None  # None: a run too short to stop halfway (one record)
    held: frozenset[str] = frozenset()  # link leases the caller holds already (Sync now holds its record's)
    one_page: bool = False  # the run is this one batch: it ends in the batch's transaction
    tally: runs.RunCounts = field(default_factory=runs.RunCounts)
    """What the batch did besides syncing linked records: automatic creation's links, creates and review items."""

    @property
    def database(self) -> Database:
        return self.engine.database

    def cancel_requested(self) -> bool:
        """Asked at a page boundary: the page before is stored, the next one not yet read."""
        return self.cancel is not None and self.cancel.requested()


@dataclass(frozen=True)
class Outcome:
    """How one record of a batch ends: a plan to store, an error, a broken link, or *busy*: another sync held the
    link (its lease) or synced it since the plan was made, so nothing of the plan was written (the caller tries it
    again, or leaves it to the next run)."""

    link: ErpLink
    plan: Plan | None = None
    error: runs.RecordError | None = None
    broken: bool = False
    busy: bool = False
    outside: str | None = None  # why the record is outside the sync filter (``sync.filters``)


Finish = Callable[[Session], None]
"""Stores, in the batch's transaction, the state that covers the batch (a watermark, removed links)."""


def record_error(error: ErpsyncError) -> runs.RecordError:
    return runs.RecordError(error.code.value, error.user_message)


def stop_if_fatal(error: ErpsyncError) -> None:
    """Raise ``RunStoppedError`` for an error only an administrator can fix."""
    if error.action is Action.FIX_CONFIG:
        raise RunStoppedError(error)


def sync_links(batch: Batch, targets: Sequence[ErpLink], finish: Finish | None = None) -> list[RecordResult]:
    """Sync ``targets`` in full: read their actors, merge with the CRM records, write, store."""
    p = batch.p
    keys = [link.erp_key for link in targets]
    try:
        found = p.client.get_actors(
            connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=keys, field_keys=p.field_keys
        )
    except ErpsyncError as error:
        stop_if_fatal(error)
        return _apply(batch, [Outcome(link, error=record_error(error)) for link in targets], finish)
    by_key = {actor.erp_key: actor for actor in found.actors}
    missing = set(found.not_found) | (set(keys) - by_key.keys())
    outcomes = [Outcome(link, broken=True) for link in targets if link.erp_key in missing]
    pairs = [(link, by_key[link.erp_key]) for link in targets if link.erp_key not in missing]
    return sync_pairs(batch, pairs, outcomes, finish)


def sync_pairs(
    batch: Batch, pairs: Sequence[tuple[ErpLink, m.Actor]], outcomes: list[Outcome], finish: Finish | None
) -> list[RecordResult]:
    """Merge each (link, actor) with its CRM record; write both sides; store with ``outcomes`` and ``finish``."""
    p = batch.p
    records = _crm_records(batch, [link for link, _ in pairs])
    parents = _parents(batch, records.values(), [actor for _, actor in pairs])
    plans: list[Plan] = []
    for link, actor in pairs:
        if actor.actor_type is not p.actor_type:
            message = f"the connector returned a {actor.actor_type} for a {p.actor_type}"
            outcomes.append(Outcome(link, error=runs.RecordError(ErrorCode.CONNECTOR.value, message)))
        elif link.id not in records:  # a CRM entity deleted meanwhile: the CRM pass removes its link
            continue
        elif outside := filters.outside_reason(p.mapping.sync_filter, actor.fields, records[link.id].values):
            outcomes.append(Outcome(link, outside=outside))
        else:
            plans.append(plan_record(p, link, actor, records[link.id], parents))
    writing = [plan for plan in plans if not plan.idle or plan.link.state != links.LinkState.OK.value]
    outcomes += [Outcome(plan.link, plan=plan) for plan in plans if plan not in writing]
    leases = _take_leases(batch, [locks.link_lock(plan.link.id) for plan in writing])
    try:
        taken = batch.held | {lease.name for lease in leases}
        mine = _still_current(batch, [plan for plan in writing if locks.link_lock(plan.link.id) in taken])
        outcomes += [Outcome(plan.link, busy=True) for plan in writing if plan not in mine]
        erp_errors = _save_erp(p, mine)
        outcomes += [Outcome(plan.link, plan=plan, error=erp_errors.get(plan.link.id)) for plan in mine]
        return _apply(batch, outcomes, finish)
    finally:
        if leases:
            locks.release_each(batch.database, leases)


def again_when_free(
    batch: Batch, results: list[RecordResult], *, still: Callable[[], bool] = lambda: True
) -> list[RecordResult]:
    """``results`` with the busy ones (another sync held them) read again and synced again once it is done, tried
    ``BUSY_RETRIES`` times ``BUSY_PAUSE_SECONDS`` apart while ``still()`` holds; still busy, they stay in the results
    as busy (the next run syncs them: a failing link stays due)."""
    for _ in range(BUSY_RETRIES):
        busy = [result.link_id for result in results if result.busy]
        if not busy:
            break
        time.sleep(BUSY_PAUSE_SECONDS)
        if not still():
            break
        with batch.database.read_session() as session:
            again = [
                link
                for link in session.scalars(select(ErpLink).where(ErpLink.id.in_(busy)))
                if link.state != links.LinkState.BROKEN.value
            ]
        results = [result for result in results if not result.busy]
        results += sync_links(batch, again) if again else []
    return results


def _take_leases(batch: Batch, names: Sequence[str]) -> list[locks.Lease]:
    """Those of the leases ``names`` the batch could take, beyond the ones it holds already; no transaction when
    there is nothing to take."""
    wanted = [name for name in names if name not in batch.held]
    return locks.try_acquire_each(batch.database, wanted, holder=batch.holder) if wanted else []


def _crm_records(batch: Batch, targets: Sequence[ErpLink]) -> dict[int, CrmRecord]:
    """The CRM record of each link whose entity still exists, by link id, read in one query."""
    with batch.database.read_session() as session:
        by_entity = read_records(session, batch.p.entity_type, {link.entity_id for link in targets})
    return {link.id: by_entity[link.entity_id] for link in targets if link.entity_id in by_entity}


def _parents(batch: Batch, records: Iterable[CrmRecord], actors: Sequence[m.Actor]) -> moves.Parents | None:
    """For persons, the company links their companies need on both sides (``sync.moves``); None for others."""
    if batch.p.entity_type is not EntityType.PERSON:
        return None
    companies = {record.company_id for record in records if record.company_id is not None}
    with batch.database.read_session() as session:
        return moves.parents_for(session, batch.p.connection_id, companies, actors)


def _still_current(batch: Batch, plans: Sequence[Plan]) -> list[Plan]:
    """The plans whose link nobody synced since they were made (a newer sync has read fresher values)."""
    with batch.database.read_session() as session:
        current = {
            link.id: link.agreed_json
            for link in session.scalars(select(ErpLink).where(ErpLink.id.in_([p.link.id for p in plans])))
        }
    return [plan for plan in plans if current.get(plan.link.id) == plan.link.agreed_json]


def _save_erp(p: Pass, plans: Sequence[Plan]) -> dict[int, runs.RecordError]:
    """Write the ERP side of ``plans``; the error of each link whose actor was not saved."""
    writers = [plan for plan in plans if plan.erp_actor is not None]
    if not writers:
        return {}
    actors = [plan.erp_actor for plan in writers if plan.erp_actor is not None]
    try:
        saved = p.client.save_actors(connection_id=p.connection_uuid, actors=actors)
    except ErpsyncError as error:
        stop_if_fatal(error)
        return {plan.link.id: record_error(error) for plan in writers}
    return {
        writers[e.index].link.id: runs.RecordError(e.error_code.value, e.message)
        for e in saved.errors
        if e.index < len(writers)
    }


# --- storing a batch ------------------------------------------------------------------------------------------------


def _apply(batch: Batch, outcomes: Sequence[Outcome], finish: Finish | None) -> list[RecordResult]:
    """Store every outcome and ``finish`` in one transaction: the links read in one query, the CRM writes made
    together (each is checked before any is made, so a refused one needs no savepoint)."""
    now = utcnow()
    with batch.database.session() as session:
        stored = _stored_links(session, outcomes)
        refused = _write_crm(session, batch, outcomes, stored)
        applied = [
            _apply_one(session, batch, outcome, stored.get(outcome.link.id), refused.get(outcome.link.id), now)
            for outcome in outcomes
        ]
        if finish is not None:
            finish(session)
        results = [result for result in applied if result is not None]
        counts = counts_of(results)
        runs.count_page(session, batch.run_id, counts)
        if batch.one_page:
            runs.close_run(session, batch.run_id, counts)
    return results


def _stored_links(session: Session, outcomes: Sequence[Outcome]) -> dict[int, ErpLink]:
    """The links of ``outcomes`` as stored now, by id (one disconnected meanwhile is missing)."""
    ids = [outcome.link.id for outcome in outcomes]
    return {link.id: link for link in session.scalars(select(ErpLink).where(ErpLink.id.in_(ids)))} if ids else {}


def _write_crm(
    session: Session, batch: Batch, outcomes: Sequence[Outcome], stored: Mapping[int, ErpLink]
) -> dict[int, ErpsyncError]:
    """Make the CRM writes of the plans to store, with one take of change numbers; what the CRM refused, by link."""
    writers = [
        (stored[outcome.link.id], outcome.plan)
        for outcome in outcomes
        if outcome.plan is not None and outcome.plan.crm_values and outcome.error is None and not outcome.broken
        if outcome.link.id in stored
    ]
    writes = [(link.entity_id, plan.crm_values) for link, plan in writers]
    errors = write_records(session, batch.p.entity_type, writes, changed_by=batch.p.origin)
    return {link.id: error for (link, _), error in zip(writers, errors, strict=True) if error is not None}


def _apply_one(
    session: Session,
    batch: Batch,
    outcome: Outcome,
    link: ErpLink | None,
    refused: ErpsyncError | None,
    now: datetime,
) -> RecordResult | None:
    if link is None:  # disconnected meanwhile
        return None
    if outcome.busy:  # nothing written: the link stays as it is (a failing one stays due)
        return RecordResult(link_id=link.id, state=link.state, busy=True)
    if outcome.outside is not None:
        links.mark_outside(link, outcome.outside)
        return RecordResult(link_id=link.id, state=link.state)
    if outcome.broken:
        links.mark_broken(link, "the ERP actor was deleted or is missing")
        return _failed(session, batch, link, runs.RecordError(ErrorCode.NOT_FOUND.value, link.last_error or ""), now)
    if outcome.error is not None or outcome.plan is None:
        error = outcome.error or runs.RecordError(ErrorCode.CONNECTOR.value, "nothing to sync")
        return _failed(session, batch, link, error, now)
    return _store_plan(session, batch, link, outcome.plan, refused, now)


def _failed(session: Session, batch: Batch, link: ErpLink, error: runs.RecordError, now: datetime) -> RecordResult:
    if link.state != links.LinkState.BROKEN.value:
        links.mark_failed(link, ErrorCode(error.reason), error.message, now=now)
    runs.add_event(session, batch.run_id, runs.EventRecord(link, errors=[error]))
    return RecordResult(link_id=link.id, state=link.state, errors=[error])


def _store_plan(
    session: Session, batch: Batch, link: ErpLink, plan: Plan, refused: ErpsyncError | None, now: datetime
) -> RecordResult:
    """``refused``: the CRM's refusal of the plan's write (nothing of it was written)."""
    if plan.idle and link.state == links.LinkState.OK.value:
        return RecordResult(link_id=link.id, state=link.state)
    if refused is not None:
        return _failed(session, batch, link, record_error(refused), now)
    links.mark_synced(link, plan.result.agreed, now=now)
    _note_conflicts(session, batch.p, link, plan)
    errors = [runs.RecordError(ErrorCode.MAPPING.value, problem.message, problem.field) for problem in plan.problems]
    if errors:
        links.mark_failed(link, ErrorCode.MAPPING, "; ".join(f"{e.field}: {e.message}" for e in errors), now=now)
    if plan.result.decisions or errors:
        event = runs.EventRecord(link, plan.result.decisions, errors, crm_changed_by=plan.crm_changed_by)
        runs.add_event(session, batch.run_id, event)
    return plan.result_for(link, errors)


def _note_conflicts(session: Session, p: Pass, link: ErpLink, plan: Plan) -> None:
    """Conflicts on fields a person decides wait in the inbox (``sync.conflicts``)."""
    if not p.asked_fields:
        return
    decisions = [decision for decision in plan.result.decisions if decision.field in p.asked_fields]
    if decisions:
        conflicts.note(
            session,
            link,
            decisions,
            crm_changed_by=plan.crm_changed_by or "",
            crm_changed_at=plan.crm_updated_at,
            erp_changed_at=plan.erp_last_modified,
        )
