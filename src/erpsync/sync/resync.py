"""Resync from the CRM (SPEC §4): push the CRM→ERP fields of every linked entity of a connection, ignoring change
detection (``merge.push_from_crm``, with the connection's or the request's *do not overwrite non-blank with blank*).

A background job (``erpsync.sync.jobs``) over the connection's links in id order, a page at a time: the actors are
read, the pushed values saved in the ERP (outside any transaction), then the links' new agreed values, the history
events and the cursor (the last link id done) are stored in one transaction. Broken links are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.service import CrmRecord, read_record
from erpsync.errors import ErrorCode, NotFoundError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink, SyncJob, utcnow
from erpsync.sync import jobs, links, runs
from erpsync.sync.merge import MergeResult, Snapshot, push_from_crm
from erpsync.sync.work import Engine, Pass, passes

PAGE_SIZE = 200


def start_resync(
    engine: Engine, connection_id: int, *, no_blank_overwrite: bool | None = None, user_id: int | None = None
) -> SyncJob:
    """Queue a resync; ``no_blank_overwrite`` None takes the connection's option."""
    with engine.database.session() as session:
        connection = jobs.live_connection(session, connection_id)
        blank = engine.load_config(session, connection).no_blank_overwrite
        job = SyncJob(
            kind=jobs.JobKind.RESYNC.value,
            connection_id=connection_id,
            no_blank_overwrite=blank if no_blank_overwrite is None else no_blank_overwrite,
            total=_linked_count(session, connection_id),
            created_by=user_id,
        )
        return jobs.add_job(session, job)


def _pending(connection_id: int) -> Any:
    return select(ErpLink).where(ErpLink.connection_id == connection_id, ErpLink.state != links.LinkState.BROKEN.value)


def _linked_count(session: Session, connection_id: int) -> int:
    return len(session.scalars(_pending(connection_id).with_only_columns(ErpLink.id)).all())


@dataclass(frozen=True)
class Pushed:
    link: ErpLink
    result: MergeResult | None
    error: runs.RecordError | None = None
    last_modified: str | None = None  # as read: the connector refuses a write over a later ERP edit


@dataclass
class ResyncPager:
    engine: Engine
    by_type: dict[m.ActorType, Pass]
    job_id: int
    no_blank_overwrite: bool

    def next_page(self, job: SyncJob, run_id: int) -> bool:
        after = int(job.cursor or 0)
        with self.engine.database.read_session() as session:
            page = list(
                session.scalars(
                    _pending(job.connection_id).where(ErpLink.id > after).order_by(ErpLink.id).limit(PAGE_SIZE)
                )
            )
            records = {link.id: self._record(session, link) for link in page}
        if not page:
            return True
        pushed: list[Pushed] = []
        for actor_type, p in self.by_type.items():
            group = [link for link in page if link.actor_type == actor_type.value and records[link.id] is not None]
            pushed += self._push(p, group, records) if group else []
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

    def _push(self, p: Pass, group: Sequence[ErpLink], records: dict[int, CrmRecord | None]) -> list[Pushed]:
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
            snapshot = Snapshot(
                agreed=link.agreed_json, crm=p.from_crm(record.values).values, erp=p.from_erp(actor.fields).values
            )
            result = push_from_crm(snapshot, rules=p.rules, no_blank_overwrite=self.no_blank_overwrite)
            pushed.append(Pushed(link, result, last_modified=actor.last_modified))
        return self._save(p, pushed)

    def _save(self, p: Pass, pushed: list[Pushed]) -> list[Pushed]:
        writers = [item for item in pushed if item.result is not None and item.result.erp_writes]
        if not writers:
            return pushed
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
        return [Pushed(item.link, None, failed[item.link.id]) if item.link.id in failed else item for item in pushed]

    def _store(self, run_id: int, pushed: Sequence[Pushed], *, cursor: str, handled: int) -> None:
        now = utcnow()
        with self.engine.database.session() as session:
            for item in pushed:
                link = session.get(ErpLink, item.link.id)
                if link is None:
                    continue
                if item.error is not None:
                    if item.error.reason == ErrorCode.NOT_FOUND.value:
                        links.mark_broken(link, item.error.message)
                    else:
                        links.mark_failed(link, ErrorCode(item.error.reason), item.error.message, now=now)
                    runs.add_event(session, run_id, runs.EventRecord(link, errors=[item.error]))
                elif item.result is not None:
                    links.mark_synced(link, item.result.agreed, now=now)
                    if item.result.decisions:
                        runs.add_event(session, run_id, runs.EventRecord(link, item.result.decisions))
            failed = sum(item.error is not None for item in pushed)
            counts = jobs.PageCounts(processed=handled, linked=len(pushed) - failed, failed=failed)
            jobs.advance(session, self.job_id, run_id, cursor=cursor, counts=counts)


def resync_pager(engine: Engine, job: SyncJob) -> ResyncPager:
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, job.connection_id)
        by_type = {p.actor_type: p for p in passes(engine, session, connection)}
    return ResyncPager(engine, by_type, job.id, job.no_blank_overwrite)


def run_resync(engine: Engine, job_id: int, **options: Any) -> SyncJob | None:
    """Run or resume a resync job (``jobs.run_job`` options: ``lease_ttl``, ``progress``)."""
    return jobs.run_job(engine, job_id, resync_pager, **options)
