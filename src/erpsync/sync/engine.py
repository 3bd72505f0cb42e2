"""The sync engine (SPEC §7): cycles over active connections, and the per-record sync behind *Sync now*.

A connection's run holds its lease (``locks.connection_lock``) and makes, for each actor type whose master switch is
on, three passes; each batch is merged per link (``sync.merge`` on values translated by ``sync.mapping``), written to
the ERP with ``save_actors`` (outside any database transaction), then stored in ONE short transaction with the CRM
writes (tagged ``sync:<connection id>``), the links' new agreed values, the history events and the watermark that
covers the batch:

1. ERP pass: ``changes`` since the stored ``since`` (resuming at the stored ``cursor``), page by page; the cursor
   advances with each page, ``next_since`` replaces ``since`` after the last one. Our own ERP writes come back here
   and merge to nothing, since the ERP value equals the agreed value.
2. CRM pass: the CRM change feed since the stored ``change_seq``; changes tagged with this connection's origin are
   skipped (another connection still sees them); tombstones remove the entity's links.
3. Retry pass: failing links whose backoff has passed are synced in full (``get_actors`` + the CRM record).

Only linked records sync. One record's failure (typed reason) never stops the batch; an auth or configuration error
stops the run with its reason. A page that fails to arrive is simply pulled again by the next run.

Each stored batch adds its counts to the run in its own transaction (``runs.count_page``), so progress grows page by
page; the total stays unknown (the ERP pass cannot know it in advance) except for a one-record run. A cancel request
(``runs.request_cancel``) is read at every page boundary: the run stops there, with the page before it stored and the
watermark after it, releases the connection's lease and ends ``cancelled``; the next run resumes from the watermark.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.changes import changes_since
from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord, read_records, sync_origin, write_records
from erpsync.errors import Action, ConnectorError, ErpsyncError, ErrorCode, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.storage.db import Database
from erpsync.storage.tables import EngineState, ErpConnection, ErpLink, SyncWatermark, utcnow
from erpsync.sync import busy, links, locks, runs
from erpsync.sync.configuration import load_config
from erpsync.sync.connections import actor_fields, client_for
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import (
    ENTITY_FOR_ACTOR,
    ActorTypeMapping,
    ConnectionConfig,
    ListMapping,
    Problem,
    Translation,
    Translator,
    merge_rules,
)
from erpsync.sync.merge import Decision, FieldRule, MergeResult, Snapshot, merge

logger = logging.getLogger(__name__)

CRM_PAGE_SIZE = 200
LINK_LOCK_WAIT_SECONDS = 5.0

ConfigLoader = Callable[[Session, ErpConnection], ConnectionConfig]
Progress = Callable[[int], None]
"""Told the number of records a run has handled so far."""


@dataclass(frozen=True)
class Engine:
    """What a sync needs: the database, the connector clients and where the mapping configuration comes from."""

    database: Database
    clients: ConnectorClients
    load_config: ConfigLoader = load_config


# --- results --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    field: str
    crm: m.Value
    erp: m.Value
    winner: str
    reason: str


@dataclass
class RecordResult:
    """What one record's sync did: fields changed on each side, conflicts and errors (SPEC §9 ``sync``)."""

    link_id: int
    state: str
    changed_crm: list[str] = field(default_factory=list)
    changed_erp: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[runs.RecordError] = field(default_factory=list)


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    connection_id: int | None
    status: str
    counts: runs.RunCounts
    error: str | None = None


class RunStoppedError(Exception):
    """Stops a run: the connection cannot sync until an administrator acts (auth, configuration)."""

    def __init__(self, error: ErpsyncError) -> None:
        super().__init__(error.user_message)
        self.error = error


# --- one actor type of one connection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """Everything the merge of one actor type needs, read once per run."""

    connection_id: int
    connection_uuid: str
    actor_type: m.ActorType
    mapping: ActorTypeMapping
    erp_fields: Sequence[m.FieldMeta]
    config: ConnectionConfig
    client: ConnectorClient
    outranked_by: Mapping[str, str] = field(default_factory=dict)
    """Origins (``sync:<id>``) of the connections of higher sync priority, with their names: their CRM writes win."""

    @property
    def entity_type(self) -> EntityType:
        return ENTITY_FOR_ACTOR[self.actor_type]

    @property
    def field_keys(self) -> list[str]:
        return [row.erp_field for row in self.mapping.fields if row.synced]

    @cached_property
    def rules(self) -> dict[str, FieldRule]:
        return merge_rules(self.mapping, self.config.policy)

    @property
    def origin(self) -> str:
        return sync_origin(self.connection_id)

    @cached_property
    def translator(self) -> Translator:
        """Worked out once per run: every record of the actor type is translated by it."""
        return Translator.of(self.mapping, self.erp_fields, self.lists)

    def from_crm(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.crm_to_erp(values)

    def from_erp(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.erp_canonical(values)

    def to_crm(self, values: Mapping[str, m.Value]) -> Translation:
        return self.translator.erp_to_crm(values)

    @property
    def lists(self) -> Mapping[str, ListMapping]:
        return self.config.list_mappings


def passes(engine: Engine, session: Session, connection: ErpConnection) -> list[Pass]:
    """The actor types of ``connection`` that sync (master switch on, offered, with synced fields), one Pass each."""
    config = engine.load_config(session, connection)
    client = client_for(engine.clients, connection)
    offered = set(connection.actor_types_json)
    outranked_by = _higher_priority(session, connection)
    return [
        Pass(
            connection.id,
            connection.uuid,
            actor_type,
            mapping,
            actor_fields(connection, actor_type),
            config,
            client,
            outranked_by,
        )
        for actor_type, mapping in sorted(config.mappings.items())
        if mapping.active and actor_type.value in offered and any(row.synced for row in mapping.fields)
    ]


def _higher_priority(session: Session, connection: ErpConnection) -> dict[str, str]:
    """The live connections served before ``connection`` (SPEC §4 sync priority), by their CRM origin tag."""
    ahead = select(ErpConnection.id, ErpConnection.name).where(
        ErpConnection.deleted_at.is_(None),
        (ErpConnection.priority < connection.priority)
        | ((ErpConnection.priority == connection.priority) & (ErpConnection.id < connection.id)),
    )
    return {sync_origin(row.id): row.name for row in session.execute(ahead)}


# --- planning one record (pure) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    link: ErpLink
    result: MergeResult
    crm_values: Mapping[str, m.Value]
    erp_actor: m.Actor | None
    problems: tuple[Problem, ...]

    @property
    def idle(self) -> bool:
        """Nothing to write and nothing to report."""
        return not self.result.decisions and not self.problems


def plan_record(p: Pass, link: ErpLink, actor: m.Actor, crm: CrmRecord) -> Plan:
    """Merge one link's current values on both sides against its agreed values; decide what to write where."""
    crm_side, erp_side = p.from_crm(crm.values), p.from_erp(actor.fields)
    snapshot = Snapshot(
        agreed=link.agreed_json,
        crm=crm_side.values,
        erp=erp_side.values,
        crm_updated_at=crm.updated_at,
        erp_last_modified=actor.last_modified,
        crm_written_by=p.outranked_by.get(crm.changed_by),
    )
    result = merge(snapshot, rules=p.rules, no_blank_overwrite=p.config.no_blank_overwrite)
    crm_writes = p.to_crm(result.crm_writes)
    erp_actor = None
    if result.erp_writes:
        # The actor's last_modified as read: the connector refuses the write as a conflict if the ERP changed since.
        erp_actor = m.Actor(
            actor_type=p.actor_type,
            erp_key=link.erp_key,
            last_modified=actor.last_modified,
            fields=dict(result.erp_writes),
        )
    problems = crm_side.problems + erp_side.problems + crm_writes.problems
    return Plan(link, result, crm_writes.values, erp_actor, problems)


# --- a batch of records ---------------------------------------------------------------------------------------------


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

    @property
    def database(self) -> Database:
        return self.engine.database

    def cancel_requested(self) -> bool:
        """Asked at a page boundary: the page before is stored, the next one not yet read."""
        return self.cancel is not None and self.cancel.requested()


@dataclass(frozen=True)
class Outcome:
    """How one record of a batch ends: a plan to store, an error, or a broken link."""

    link: ErpLink
    plan: Plan | None = None
    error: runs.RecordError | None = None
    broken: bool = False


Finish = Callable[[Session], None]
"""Stores, in the batch's transaction, the state that covers the batch (a watermark, removed links)."""


def _record_error(error: ErpsyncError) -> runs.RecordError:
    return runs.RecordError(error.code.value, error.user_message)


def _stop_if_fatal(error: ErpsyncError) -> None:
    if error.action is Action.FIX_CONFIG:
        raise RunStoppedError(error)


def _sync_links(batch: Batch, targets: Sequence[ErpLink], finish: Finish | None = None) -> list[RecordResult]:
    """Sync ``targets`` in full: read their actors, merge with the CRM records, write, store."""
    p = batch.p
    keys = [link.erp_key for link in targets]
    try:
        found = p.client.get_actors(
            connection_id=p.connection_uuid, actor_type=p.actor_type, erp_keys=keys, field_keys=p.field_keys
        )
    except ErpsyncError as error:
        _stop_if_fatal(error)
        return _apply(batch, [Outcome(link, error=_record_error(error)) for link in targets], finish)
    by_key = {actor.erp_key: actor for actor in found.actors}
    missing = set(found.not_found) | (set(keys) - by_key.keys())
    outcomes = [Outcome(link, broken=True) for link in targets if link.erp_key in missing]
    pairs = [(link, by_key[link.erp_key]) for link in targets if link.erp_key not in missing]
    return _sync_pairs(batch, pairs, outcomes, finish)


def _sync_pairs(
    batch: Batch, pairs: Sequence[tuple[ErpLink, m.Actor]], outcomes: list[Outcome], finish: Finish | None
) -> list[RecordResult]:
    """Merge each (link, actor) with its CRM record; write both sides; store with ``outcomes`` and ``finish``."""
    p = batch.p
    records = _crm_records(batch, [link for link, _ in pairs])
    plans: list[Plan] = []
    for link, actor in pairs:
        if actor.actor_type is not p.actor_type:
            message = f"the connector returned a {actor.actor_type} for a {p.actor_type}"
            outcomes.append(Outcome(link, error=runs.RecordError(ErrorCode.CONNECTOR.value, message)))
        elif link.id in records:  # a CRM entity deleted meanwhile: the CRM pass removes its link
            plans.append(plan_record(p, link, actor, records[link.id]))
    busy = [plan for plan in plans if not plan.idle or plan.link.state != links.LinkState.OK.value]
    outcomes += [Outcome(plan.link, plan=plan) for plan in plans if plan not in busy]
    leases = _take_leases(batch, [locks.link_lock(plan.link.id) for plan in busy])
    try:
        taken = batch.held | {lease.name for lease in leases}
        mine = _still_current(batch, [plan for plan in busy if locks.link_lock(plan.link.id) in taken])
        erp_errors = _save_erp(p, mine)
        outcomes += [Outcome(plan.link, plan=plan, error=erp_errors.get(plan.link.id)) for plan in mine]
        return _apply(batch, outcomes, finish)
    finally:
        if leases:
            locks.release_each(batch.database, leases)


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
        _stop_if_fatal(error)
        return {plan.link.id: _record_error(error) for plan in writers}
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
    return RecordResult(link.id, link.state, errors=[error])


def _store_plan(
    session: Session, batch: Batch, link: ErpLink, plan: Plan, refused: ErpsyncError | None, now: datetime
) -> RecordResult:
    """``refused``: the CRM's refusal of the plan's write (nothing of it was written)."""
    if plan.idle and link.state == links.LinkState.OK.value:
        return RecordResult(link.id, link.state)
    if refused is not None:
        return _failed(session, batch, link, _record_error(refused), now)
    links.mark_synced(link, plan.result.agreed, now=now)
    errors = [runs.RecordError(ErrorCode.MAPPING.value, problem.message, problem.field) for problem in plan.problems]
    if errors:
        links.mark_failed(link, ErrorCode.MAPPING, "; ".join(f"{e.field}: {e.message}" for e in errors), now=now)
    if plan.result.decisions or errors:
        runs.add_event(session, batch.run_id, runs.EventRecord(link, plan.result.decisions, errors))
    return _result(link, plan, errors)


def _result(link: ErpLink, plan: Plan, errors: list[runs.RecordError]) -> RecordResult:
    decisions = plan.result.decisions
    return RecordResult(
        link.id,
        link.state,
        changed_crm=sorted(plan.crm_values),
        changed_erp=sorted(plan.result.erp_writes),
        conflicts=[_conflict(d) for d in decisions if d.reason.startswith("conflict")],
        errors=errors,
    )


def _conflict(decision: Decision) -> Conflict:
    winner = decision.winner.value if decision.winner is not None else ""
    return Conflict(decision.field, decision.crm, decision.erp, winner, decision.reason)


def counts_of(results: Iterable[RecordResult]) -> runs.RunCounts:
    counts = runs.RunCounts()
    for result in results:
        counts.records += 1
        counts.crm_writes += bool(result.changed_crm)
        counts.erp_writes += bool(result.changed_erp)
        counts.conflicts += len(result.conflicts)
        counts.errors += bool(result.errors) and result.state != links.LinkState.BROKEN.value
        counts.broken += result.state == links.LinkState.BROKEN.value
    return counts


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
            ErpMark(mark.since, page.next_cursor) if page.next_cursor else ErpMark(page.next_since or mark.since, None)
        )
        results += _erp_page(batch, page, after.store(p))
        mark = after
        if page.next_cursor is None or batch.cancel_requested():
            return results


def _erp_page(batch: Batch, page: m.ChangesResponse, finish: Finish) -> list[RecordResult]:
    p = batch.p
    keys = [actor.erp_key for actor in page.actors if actor.erp_key] + list(page.deleted)
    with batch.database.read_session() as session:
        linked = {
            key: link
            for key, link in links.links_by_erp_key(session, p.connection_id, p.actor_type, keys).items()
            if link.state != links.LinkState.BROKEN.value
        }
    outcomes = [Outcome(linked[key], broken=True) for key in page.deleted if key in linked]
    pairs = [(linked[a.erp_key], a) for a in page.actors if a.erp_key in linked and a.erp_key not in page.deleted]
    return _sync_pairs(batch, pairs, outcomes, finish)


def _crm_pass(batch: Batch) -> list[RecordResult]:
    """Read CRM changes since the stored sequence; skip our own writes; tombstones remove links."""
    p = batch.p
    _, seq = _read_marks(batch)
    results: list[RecordResult] = []
    while True:
        with batch.database.read_session() as session:
            changes = changes_since(session, p.entity_type, seq, limit=CRM_PAGE_SIZE)
            if not changes:
                return results
            touched = [c.entity_id for c in changes if not c.deleted and c.changed_by != p.origin]
            targets = [
                link
                for link in links.links_by_entity(session, p.connection_id, p.actor_type, touched).values()
                if link.state != links.LinkState.BROKEN.value
            ]
        deleted = [c.entity_id for c in changes if c.deleted]
        seq = changes[-1].change_seq
        results += _sync_links(batch, targets, _after_crm_page(p, deleted, seq))
        if len(changes) < CRM_PAGE_SIZE or batch.cancel_requested():
            return results


def _after_crm_page(p: Pass, deleted: Sequence[int], seq: int) -> Finish:
    def finish(session: Session) -> None:
        for entity_id in deleted:
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
        results += _sync_links(batch, due[start : start + CRM_PAGE_SIZE])
    return results


PASSES: tuple[Callable[[Batch], list[RecordResult]], ...] = (_erp_pass, _crm_pass, _retry_pass)


# --- runs -----------------------------------------------------------------------------------------------------------


def _active_connection(session: Session, connection_id: int) -> ErpConnection:
    connection = session.get(ErpConnection, connection_id)
    if connection is None or connection.deleted_at is not None:
        raise NotFoundError(f"no ERP connection with id {connection_id}")
    if not connection.active:
        raise ValidationError(f"connection {connection.name!r} is not active")
    return connection


def sync_connection(
    engine: Engine,
    connection_id: int,
    *,
    kind: runs.RunKind = runs.RunKind.CONNECTION,
    progress: Progress | None = None,
) -> RunSummary:
    """One run of one active connection; ``locks.LockedError`` when a run of it is under way already. A run that the
    database's being busy stopped (foreground load holding SQLite's write lock, a PostgreSQL serialization failure) is
    run again with backoff: the interrupted attempt is closed as failed in the history, and every page it stored stays
    stored. The attempts share one lease holder, so a lease an attempt could not release is taken over by the next."""
    holder = locks.new_holder()
    return busy.retrying(
        lambda: _sync_connection_once(engine, connection_id, kind=kind, progress=progress, holder=holder),
        what=f"sync of connection {connection_id}",
    )


def _sync_connection_once(
    engine: Engine, connection_id: int, *, kind: runs.RunKind, progress: Progress | None, holder: str
) -> RunSummary:
    with engine.database.read_session() as session:
        _active_connection(session, connection_id)
    with locks.held(engine.database, locks.connection_lock(connection_id), holder=holder) as lease:
        run_id = runs.start_leased_run(engine.database, kind=kind, connection_id=connection_id)
        return _run(engine, connection_id, run_id, lease, progress)


def _run(engine: Engine, connection_id: int, run_id: int, lease: locks.Lease, progress: Progress | None) -> RunSummary:
    counts, problems, stopped = runs.RunCounts(), list[ErpsyncError](), None
    cancel = CancelWatch(engine.database, run_id)
    try:
        with engine.database.read_session() as session:
            run_passes = passes(engine, session, _active_connection(session, connection_id))
        for p, step in itertools.product(run_passes, PASSES):
            if cancel.requested():
                break
            problem = _step(Batch(engine, p, run_id, lease.holder, cancel), step, counts)
            if problem is not None:
                problems.append(problem)
            if progress is not None:
                progress(counts.records)
            if not locks.renew(engine.database, lease):
                raise RunStoppedError(locks.LockedError("the run's lease expired and was taken over"))
    except RunStoppedError as stop:
        stopped = stop.error
    except ErpsyncError as error:  # the configuration could not be read
        stopped = error
    last = stopped or (problems[-1] if problems else None)
    run = runs.finish_run(
        engine.database,
        run_id,
        counts,
        error=last.user_message if last else None,
        reason=last.code.value if last else None,
        stopped=stopped is not None,
        cancelled=cancel.seen and stopped is None,
    )
    return RunSummary(run.id, connection_id, run.status, counts, run.error)


def _step(batch: Batch, step: Callable[[Batch], list[RecordResult]], counts: runs.RunCounts) -> ErpsyncError | None:
    """Run one pass; a failure that is not a record's (a page that did not arrive) ends the pass, not the run."""
    try:
        counts.add(counts_of(step(batch)))
    except ErpsyncError as error:
        _stop_if_fatal(error)
        logger.warning("connection %s, %s: %s", batch.p.connection_id, batch.p.actor_type, error.user_message)
        return error
    return None


def active_connection_ids(database: Database) -> list[int]:
    """Active connections in sync-priority order."""
    with database.read_session() as session:
        query = select(ErpConnection.id).where(ErpConnection.active.is_(True), ErpConnection.deleted_at.is_(None))
        return list(session.scalars(query.order_by(ErpConnection.priority, ErpConnection.id)))


def run_cycle(engine: Engine, *, progress: Callable[[int, RunSummary | None], None] | None = None) -> list[RunSummary]:
    """One cycle: every active connection in priority order; one already running elsewhere is left to that run."""
    summaries = []
    for connection_id in active_connection_ids(engine.database):
        try:
            summary: RunSummary | None = sync_connection(engine, connection_id, kind=runs.RunKind.CYCLE)
        except locks.LockedError:
            logger.info("connection %s is being synced by another run; skipped this cycle", connection_id)
            summary = None
        if summary is not None:
            summaries.append(summary)
        if progress is not None:
            progress(connection_id, summary)
    return summaries


# --- one record -----------------------------------------------------------------------------------------------------


def sync_link(engine: Engine, link_id: int) -> RecordResult:
    """*Sync now* for one record: holds the link's lease, reads both sides fresh, merges and writes."""
    holder = locks.new_holder()
    with locks.held(engine.database, locks.link_lock(link_id), wait=LINK_LOCK_WAIT_SECONDS, holder=holder):
        with engine.database.read_session() as session:
            link = links.get_link(session, link_id)
            connection = _active_connection(session, link.connection_id)
            p = _pass_for(engine, session, connection, m.ActorType(link.actor_type))
        run_id = runs.start_run(engine.database, kind=runs.RunKind.RECORD, connection_id=link.connection_id, total=1)
        try:
            batch = Batch(engine, p, run_id, holder, held=frozenset({locks.link_lock(link_id)}), one_page=True)
            results = _sync_links(batch, [link])
        except RunStoppedError as stop:
            runs.finish_run(
                engine.database,
                run_id,
                runs.RunCounts(),
                error=stop.error.user_message,
                reason=stop.error.code.value,
                stopped=True,
            )
            raise stop.error from None
    return results[0] if results else RecordResult(link_id, links.LinkState.OK.value)


def _pass_for(engine: Engine, session: Session, connection: ErpConnection, actor_type: m.ActorType) -> Pass:
    for p in passes(engine, session, connection):
        if p.actor_type is actor_type:
            return p
    raise ValidationError(f"sync of ERP {actor_type} is switched off for connection {connection.name!r}")


def retry_link(engine: Engine, connection_id: int, link_id: int) -> RecordResult:
    """Un-park a failing record and sync it at once."""
    with engine.database.session() as session:
        link = links.get_link(session, link_id)
        if link.connection_id != connection_id:
            raise NotFoundError(f"no link with id {link_id} in connection {connection_id}")
        links.schedule_retry(link, now=utcnow())
    return sync_link(engine, link_id)


# --- engine settings ------------------------------------------------------------------------------------------------

ENGINE_STATE_ID = 1
DEFAULT_INTERVAL_SECONDS = 300
MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class EngineSettings:
    running: bool = True
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS


def engine_settings(session: Session) -> EngineSettings:
    """Automatic sync on/off and its interval (SPEC §4 *Engine*); the defaults until someone saves them."""
    row = session.get(EngineState, ENGINE_STATE_ID)
    return EngineSettings(row.running, row.interval_seconds) if row else EngineSettings()


def save_engine_settings(session: Session, settings: EngineSettings) -> EngineSettings:
    if not MIN_INTERVAL_SECONDS <= settings.interval_seconds <= MAX_INTERVAL_SECONDS:
        raise ValidationError(
            f"the interval must be {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} seconds, "
            f"not {settings.interval_seconds}"
        )
    row = session.get(EngineState, ENGINE_STATE_ID) or EngineState(id=ENGINE_STATE_ID)
    row.running, row.interval_seconds, row.updated_at = settings.running, settings.interval_seconds, utcnow()
    session.add(row)
    session.flush()
    return settings
