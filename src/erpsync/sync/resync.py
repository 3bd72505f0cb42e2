"""Resync (SPEC §4): push one side's values over the other for the linked entities of a connection, ignoring change
detection (``merge.push``, with the connection's or the request's *do not overwrite non-blank with blank*).

In every scope: from the CRM (CRM→ERP fields pushed to the ERP) or from the connection's ERP (ERP→CRM fields written
into the CRM), for the whole connection, one actor type, or chosen CRM records of one actor type (``ResyncScope``).
``dry_run`` first says what it would change, record by record and field by field (old → new), writing nothing; the
resync itself is a background job (``erpsync.sync.jobs``) over the scope's links in id order, a page at a time: the
actors are read, ERP values saved (outside any transaction), then the CRM writes, the links' new agreed values, the
history events (and so the field history: the run can be undone from its page) and the cursor (the last link id
done) are stored in one transaction. Broken links, and records outside the sync filter (``sync.filters``), are left
alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync.crm.service import CrmRecord, read_record, write_records
from erpsync.errors import ErrorCode, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink, SyncJob, utcnow
from erpsync.sync import filters, jobs, links, runs
from erpsync.sync.merge import Decision, MergeResult, Side, Snapshot, push
from erpsync.sync.work import Engine, Pass, passes

PAGE_SIZE = 200
DRY_RUN_MAX_RECORDS = 2000
"""A dry run reads at most this many records (and says when the scope has more)."""
DRY_RUN_SHOWN = 200
"""A dry run lists at most this many changed records (and counts them all)."""


@dataclass(frozen=True)
class ResyncScope:
    """What a resync covers: ``source`` is the side whose values win (CRM: pushed to the ERP; ERP: written into the
    CRM); ``actor_type`` None: every synced type; ``entity_ids``: chosen CRM records of ``actor_type``."""

    source: Side = Side.CRM
    actor_type: m.ActorType | None = None
    entity_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.entity_ids is not None and self.actor_type is None:
            raise ValidationError("choosing records needs their actor type")
        if self.entity_ids is not None and not self.entity_ids:
            raise ValidationError("choose at least one record")

    @classmethod
    def of_job(cls, job: SyncJob) -> ResyncScope:
        actor_type = m.ActorType(job.actor_type) if job.actor_type else None
        ids = tuple(int(i) for i in job.keys_json) if job.keys_json is not None else None
        return cls(Side(job.resync_from), actor_type, ids)


def start_resync(
    engine: Engine,
    connection_id: int,
    *,
    no_blank_overwrite: bool | None = None,
    user_id: int | None = None,
    scope: ResyncScope | None = None,
) -> SyncJob:
    """Queue a resync (from the CRM for the whole connection unless ``scope`` says otherwise);
    ``no_blank_overwrite`` None takes the connection's option."""
    scope = scope or ResyncScope()
    with engine.database.session() as session:
        connection = jobs.live_connection(session, connection_id)
        blank = engine.load_config(session, connection).no_blank_overwrite
        job = SyncJob(
            kind=jobs.JobKind.RESYNC.value,
            connection_id=connection_id,
            no_blank_overwrite=blank if no_blank_overwrite is None else no_blank_overwrite,
            resync_from=scope.source.value,
            actor_type=None if scope.actor_type is None else scope.actor_type.value,
            keys_json=None if scope.entity_ids is None else list(scope.entity_ids),
            total=_count(session, connection_id, scope),
            created_by=user_id,
        )
        return jobs.add_job(session, job)


def _pending(connection_id: int, scope: ResyncScope) -> Any:
    query = select(ErpLink).where(ErpLink.connection_id == connection_id, ErpLink.state != links.LinkState.BROKEN.value)
    if scope.actor_type is not None:
        query = query.where(ErpLink.actor_type == scope.actor_type.value)
    if scope.entity_ids is not None:
        query = query.where(ErpLink.entity_id.in_(scope.entity_ids))
    return query


def _count(session: Session, connection_id: int, scope: ResyncScope) -> int:
    return int(session.scalar(select(func.count()).select_from(_pending(connection_id, scope).subquery())) or 0)


@dataclass(frozen=True)
class Pushed:
    link: ErpLink
    result: MergeResult | None
    error: runs.RecordError | None = None
    last_modified: str | None = None  # as read: the connector refuses a write over a later ERP edit
    crm_values: dict[str, m.Value] = field(default_factory=dict)  # the CRM writes, by CRM field key
    crm_changed_by: str | None = None  # the CRM record's last writer: the author of the values pushed to the ERP


@dataclass
class ResyncPager:
    engine: Engine
    by_type: dict[m.ActorType, Pass]
    job_id: int
    no_blank_overwrite: bool
    scope: ResyncScope = field(default_factory=ResyncScope)

    def read_page(self, connection_id: int, after: int) -> tuple[list[ErpLink], dict[int, CrmRecord | None]]:
        with self.engine.database.read_session() as session:
            query = _pending(connection_id, self.scope).where(ErpLink.id > after).order_by(ErpLink.id)
            page = list(session.scalars(query.limit(PAGE_SIZE)))
            return page, {link.id: self._record(session, link) for link in page}

    def plan_page(self, page: Sequence[ErpLink], records: dict[int, CrmRecord | None]) -> list[Pushed]:
        pushed: list[Pushed] = []
        for actor_type, p in self.by_type.items():
            group = [link for link in page if link.actor_type == actor_type.value and records[link.id] is not None]
            pushed += self._plan(p, group, records) if group else []
        return pushed

    def settle(self) -> None:
        """Nothing to commit: a page is stored within ``next_page``."""

    def close(self) -> None:
        """Nothing to let go of: a page is read and pushed within ``next_page``."""

    def next_page(self, job: SyncJob, run_id: int) -> bool:
        page, records = self.read_page(job.connection_id, int(job.cursor or 0))
        if not page:
            return True
        pushed = self.plan_page(page, records)
        pushed = [item for p in self.by_type.values() for item in self._save(p, pushed)]
        self._store(run_id, pushed, cursor=str(page[-1].id), handled=len(page))
        return len(page) < PAGE_SIZE

    def _record(self, session: Session, link: ErpLink) -> CrmRecord | None:
        p = self.by_type.get(m.ActorType(link.actor_type))
        if p is None:
            return None
        try:
            return read_record(session, p.entity_type, link.entity_id)
        except NotFoundError:
            return None

    def _plan(self, p: Pass, group: Sequence[ErpLink], records: dict[int, CrmRecord | None]) -> list[Pushed]:
        found = p.client.get_actors(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            erp_keys=[link.erp_key for link in group],
            field_keys=p.field_keys,
        )
        actors = {actor.erp_key: actor for actor in found.actors}
        pushed = []
        for link in group:
            record, actor = records[link.id], actors.get(link.erp_key)
            if actor is None or record is None:
                error = runs.RecordError(ErrorCode.NOT_FOUND.value, "the ERP actor was deleted or is missing")
                pushed.append(Pushed(link, None, error))
                continue
            if filters.outside_reason(p.mapping.sync_filter, actor.fields, record.values):
                continue  # outside the sync filter: a resync writes it on neither side either
            snapshot = Snapshot(
                agreed=link.agreed_json, crm=p.from_crm(record.values).values, erp=p.from_erp(actor.fields).values
            )
            result = push(self.scope.source, snapshot, rules=p.rules, no_blank_overwrite=self.no_blank_overwrite)
            item = Pushed(link, result, last_modified=actor.last_modified, crm_changed_by=record.changed_by)
            pushed.append(_translated(p, item))
        return pushed

    def _save(self, p: Pass, pushed: list[Pushed]) -> list[Pushed]:
        """The ERP writes of ``p``'s records; its records, those the ERP refused with their error."""
        mine = [item for item in pushed if item.link.actor_type == p.actor_type.value]
        writers = [item for item in mine if item.result is not None and item.result.erp_writes]
        if not writers:
            return mine
        actors = [
            m.Actor(
                actor_type=p.actor_type,
                erp_key=item.link.erp_key,
                last_modified=item.last_modified,
                fields=dict(item.result.erp_writes),
            )
            for item in writers
            if item.result is not None
        ]
        saved = p.client.save_actors(connection_id=p.connection_uuid, actors=actors)
        failed = {writers[e.index].link.id: runs.RecordError(e.error_code.value, e.message) for e in saved.errors}
        return [Pushed(item.link, None, failed[item.link.id]) if item.link.id in failed else item for item in mine]

    def _store(self, run_id: int, pushed: Sequence[Pushed], *, cursor: str, handled: int) -> None:
        now = utcnow()
        with self.engine.database.session() as session:
            refused = self._write_crm(session, pushed)
            for item in pushed:
                link = session.get(ErpLink, item.link.id)
                if link is not None:
                    _store_one(session, run_id, link, item, refused.get(link.id), now)
            failed = sum(item.error is not None or item.link.id in refused for item in pushed)
            counts = jobs.PageCounts(processed=handled, linked=len(pushed) - failed, failed=failed)
            jobs.advance(session, self.job_id, run_id, cursor=cursor, counts=counts)

    def _write_crm(self, session: Session, pushed: Sequence[Pushed]) -> dict[int, runs.RecordError]:
        """The CRM writes (a resync from the ERP), tagged with the connection's origin; what the CRM refused."""
        refused: dict[int, runs.RecordError] = {}
        for p in self.by_type.values():
            writers = [i for i in pushed if i.crm_values and i.error is None and i.link.actor_type == p.actor_type]
            writes = [(item.link.entity_id, item.crm_values) for item in writers]
            errors = write_records(session, p.entity_type, writes, changed_by=p.origin) if writes else []
            for item, error in zip(writers, errors, strict=True):
                if error is not None:
                    refused[item.link.id] = runs.RecordError(error.code.value, str(error))
        return refused


def _translated(p: Pass, item: Pushed) -> Pushed:
    """The item with its CRM writes in CRM field keys; a value that cannot be translated fails the record."""
    if item.result is None or not item.result.crm_writes:
        return item
    translation = p.to_crm(item.result.crm_writes)
    if translation.problems:
        problem = translation.problems[0]
        return Pushed(item.link, None, runs.RecordError(ErrorCode.MAPPING.value, problem.message, problem.field))
    return replace(item, crm_values=translation.values)


def _store_one(
    session: Session, run_id: int, link: ErpLink, item: Pushed, refused: runs.RecordError | None, now: dt.datetime
) -> None:
    error = item.error or refused
    if error is not None:
        if error.reason == ErrorCode.NOT_FOUND.value and item.error is not None:
            links.mark_broken(link, error.message)
        else:
            links.mark_failed(link, ErrorCode(error.reason), error.message, now=now)
        runs.add_event(session, run_id, runs.EventRecord(link, errors=[error]))
    elif item.result is not None:
        links.mark_synced(link, item.result.agreed, now=now)
        if item.result.decisions:
            event = runs.EventRecord(link, item.result.decisions, crm_changed_by=item.crm_changed_by)
            runs.add_event(session, run_id, event)


def resync_pager(engine: Engine, job: SyncJob) -> ResyncPager:
    scope = ResyncScope.of_job(job)
    return ResyncPager(engine, _passes(engine, job.connection_id, scope), job.id, job.no_blank_overwrite, scope)


def _passes(engine: Engine, connection_id: int, scope: ResyncScope) -> dict[m.ActorType, Pass]:
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, connection_id)
        found = {p.actor_type: p for p in passes(engine, session, connection)}
    return {t: p for t, p in found.items() if scope.actor_type is None or t is scope.actor_type}


def run_resync(engine: Engine, job_id: int, **options: Any) -> SyncJob | None:
    """Run or resume a resync job (``jobs.run_job`` options: ``lease_ttl``, ``progress``)."""
    return jobs.run_job(engine, job_id, resync_pager, **options)


# --- dry run ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WouldChange:
    """One record a resync would change: its fields, each with the side written and old → new."""

    link_id: int
    entity_type: str
    entity_id: int
    actor_type: str
    erp_key: str
    changes: tuple[Decision, ...] = ()
    error: runs.RecordError | None = None


@dataclass
class DryRun:
    """What a resync would do: ``records`` read, ``changed`` of them (the first ``DRY_RUN_SHOWN`` listed in
    ``rows``), ``failing`` that it could not resync; ``complete`` False when the scope has more records than a dry
    run reads."""

    records: int = 0
    changed: int = 0
    failing: int = 0
    complete: bool = True
    rows: list[WouldChange] = field(default_factory=list)

    def add(self, item: Pushed) -> None:
        self.records += 1
        decisions = tuple(d for d in item.result.decisions if d.written_to is not None) if item.result else ()
        if not decisions and item.error is None:
            return
        self.changed += bool(decisions)
        self.failing += item.error is not None
        if len(self.rows) < DRY_RUN_SHOWN:
            link = item.link
            row = WouldChange(link.id, link.entity_type, link.entity_id, link.actor_type, link.erp_key, decisions)
            self.rows.append(replace(row, error=item.error))


def dry_run(
    engine: Engine, connection_id: int, *, scope: ResyncScope | None = None, no_blank_overwrite: bool | None = None
) -> DryRun:
    """What ``start_resync`` with the same arguments would change, reading both sides and writing nothing."""
    scope = scope or ResyncScope()
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, connection_id)
        blank = engine.load_config(session, connection).no_blank_overwrite
    blank = blank if no_blank_overwrite is None else no_blank_overwrite
    pager = ResyncPager(engine, _passes(engine, connection_id, scope), 0, blank, scope)
    result, after = DryRun(), 0
    while result.records < DRY_RUN_MAX_RECORDS:
        page, records = pager.read_page(connection_id, after)
        if not page:
            return result
        for item in pager.plan_page(page, records):
            result.add(item)
        after = page[-1].id
    result.complete = False
    return result
