"""Undo a run, revert one field (SPEC §4 *History*): the value a change replaced is written back, field by field, from
the field history's old and new values, on the side the change was made.

Each is itself a run (kind ``undo`` or ``revert``, with the user who asked), audited, whose events and field history
say what was written back. A field whose current value is no longer the one the change wrote (someone edited it
since) is left alone and listed, as is one whose record or ERP actor is gone or whose write is refused. Values go back
the normal way: ERP values through the connector's ``save_actors`` (outside any transaction, with the actor's
``last_modified`` as read, so a later ERP edit is not overwritten), CRM values through the CRM service with the
asker's origin, in one transaction with the run's events. The link's agreed values are left as they are, so the next
sync carries the restored value to the other side like any edit. Runs of a connection hold its lease meanwhile; an
import run is undone by the import's own undo (the CRM records it created are deleted) as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.crm.service import CrmRecord, read_records, user_origin, write_records
from erpsync.errors import ConflictError, ErpsyncError, ErrorCode, NotFoundError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink, FieldChange, SyncEvent, SyncRun
from erpsync.sync import field_history, imports, jobs, locks, moves, runs
from erpsync.sync.merge import Decision, DecisionKind, Side, same
from erpsync.sync.work import Engine, Pass, passes

LOCK_WAIT_SECONDS = 10.0
EDITED_SINCE = "edited since: now {current!r}, the change wrote {new!r}"


@dataclass(frozen=True)
class Target:
    """One field of one side of one linked record to set back from ``new`` (what the change wrote) to ``old``."""

    connection_id: int
    link_id: int
    entity_type: str
    entity_id: int
    actor_type: str
    erp_key: str
    side: str
    field: str
    old: m.Value
    new: m.Value


@dataclass(frozen=True)
class LeftAlone:
    target: Target
    reason: str  # an ErrorCode value: conflict (edited since), not_found, validation, connector
    message: str


@dataclass
class UndoResult:
    run_id: int
    """The undo's (or revert's) own run."""
    written: list[Target] = field(default_factory=list)
    left: list[LeftAlone] = field(default_factory=list)
    deleted: int = 0
    """An import's undo: the CRM records it created that were deleted."""


def targets_of(changes: Iterable[FieldChange]) -> list[Target]:
    """One target per (link, side, field): the value before the first change and after the last, in change order."""
    first: dict[tuple[int, str, str], FieldChange] = {}
    last: dict[tuple[int, str, str], FieldChange] = {}
    for change in changes:
        if change.link_id is None or change.connection_id is None:
            continue
        if change.field == moves.PARENT:  # a person's move is history, not a field value: move them back instead
            continue
        key = (change.link_id, change.side, change.field)
        first.setdefault(key, change)
        last[key] = change
    return [_target(first[key], last[key].new_value) for key in first]


def _target(change: FieldChange, new: m.Value) -> Target:
    return Target(
        connection_id=change.connection_id or 0,
        link_id=change.link_id or 0,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        actor_type=change.actor_type or "",
        erp_key=change.erp_key or "",
        side=change.side,
        field=change.field,
        old=change.old_value,
        new=new,
    )


# --- the use cases ---------------------------------------------------------------------------------------------------


def undo_run(engine: Engine, run_id: int, *, user_id: int | None = None) -> UndoResult:
    """Undo run ``run_id``: ``ConflictError`` while it runs or once it was undone."""
    database = engine.database
    with database.read_session() as session:
        _check_undoable(runs.get_run(session, run_id))
        job = jobs.job_of_run(session, run_id)
    deleted = 0
    if job is not None and job.kind == jobs.JobKind.IMPORT.value and job.status != jobs.JobStatus.UNDONE.value:
        deleted = imports.undo_import(database, job.id)  # the records it created; it refuses while the job runs
    with database.session() as session:
        run = session.get(SyncRun, run_id, with_for_update=True)  # a second undo at the same time waits, then sees it
        if run is None:
            raise NotFoundError(f"no run with id {run_id}")
        _check_undoable(run)
        targets = targets_of(field_history.run_changes(session, run_id))
        undo = runs.open_run(session, kind=runs.RunKind.UNDO, connection_id=run.connection_id, started_by=user_id)
        run.undone_by = undo.id
        result = UndoResult(undo.id, deleted=deleted)
    with runs.alive(database, result.run_id):
        _write_back_or_fail(engine, targets, result, user_id=user_id)
        _close(engine, result, user_id=user_id, action="run.undo", target=("run", run_id))
    return result


def revert_field(engine: Engine, change_id: int, *, user_id: int | None = None) -> UndoResult:
    """Write back the value the field change ``change_id`` replaced (``NotFoundError`` for an unknown change)."""
    with engine.database.session() as session:
        change = field_history.get_change(session, change_id)
        if change is None or change.link_id is None:
            raise NotFoundError(f"no field change with id {change_id}")
        targets = targets_of([change])
        revert = runs.open_run(
            session, kind=runs.RunKind.REVERT, connection_id=change.connection_id, started_by=user_id
        )
        result = UndoResult(revert.id)
    with runs.alive(engine.database, result.run_id):
        _write_back_or_fail(engine, targets, result, user_id=user_id)
        _close(engine, result, user_id=user_id, action="field.revert", target=("field_change", change_id))
    return result


def _write_back_or_fail(engine: Engine, targets: Sequence[Target], result: UndoResult, *, user_id: int | None) -> None:
    """``_write_back``; an unexpected failure (the database lost) closes the run as failed before it propagates, so
    the run never stays *running*."""
    try:
        _write_back(engine, targets, result, origin=_origin(user_id, result.run_id))
    except Exception as error:
        counts = runs.RunCounts(records=len(result.written), errors=len(result.left))
        runs.finish_run(engine.database, result.run_id, counts, error=str(error), stopped=True)
        raise


def _check_undoable(run: SyncRun) -> None:
    if run.status == runs.RunStatus.RUNNING.value:
        raise ConflictError(f"run {run.id} is still running: only an ended run can be undone")
    if run.undone_by is not None:
        raise ConflictError(f"run {run.id} was undone already, by run {run.undone_by}")


def _origin(user_id: int | None, run_id: int) -> str:
    return user_origin(user_id) if user_id is not None else f"undo:{run_id}"


def _close(engine: Engine, result: UndoResult, *, user_id: int | None, action: str, target: tuple[str, int]) -> None:
    records = {t.link_id for t in result.written} | {item.target.link_id for item in result.left}
    counts = runs.RunCounts(
        records=len(records),
        crm_writes=sum(t.side == Side.CRM.value for t in result.written),
        erp_writes=sum(t.side == Side.ERP.value for t in result.written),
        errors=len(result.left),
    )
    with engine.database.session() as session:
        runs.close_run(session, result.run_id, counts)
        _list_left_alone(session, result)
        detail = {"run": result.run_id, "written": len(result.written), "left_alone": len(result.left)}
        audit.record(session, user_id=user_id, action=action, target_type=target[0], target_id=target[1], detail=detail)


def _list_left_alone(session: Session, result: UndoResult) -> None:
    """The fields left alone, as the run's events (one per record, an error per field), so its page lists them."""
    by_link: dict[int, list[LeftAlone]] = defaultdict(list)
    for item in result.left:
        by_link[item.target.link_id].append(item)
    for link_id, items in sorted(by_link.items()):
        target = items[0].target
        errors = [{"reason": i.reason, "message": i.message, "field": i.target.field} for i in items]
        session.add(
            SyncEvent(
                run_id=result.run_id,
                link_id=link_id,
                entity_type=target.entity_type,
                entity_id=target.entity_id,
                actor_type=target.actor_type,
                erp_key=target.erp_key,
                errors_json=errors,
            )
        )


# --- writing back ----------------------------------------------------------------------------------------------------


def _write_back(engine: Engine, targets: Sequence[Target], result: UndoResult, *, origin: str) -> None:
    by_connection: dict[int, list[Target]] = defaultdict(list)
    for target in targets:
        by_connection[target.connection_id].append(target)
    for connection_id, group in sorted(by_connection.items()):
        try:
            with locks.held(engine.database, locks.connection_lock(connection_id), wait=LOCK_WAIT_SECONDS):
                _write_connection(engine, connection_id, group, result, origin=origin)
        except ErpsyncError as error:  # the connection deleted, busy, or its connector unreachable
            result.left += [LeftAlone(t, error.code.value, str(error)) for t in group]


def _write_connection(
    engine: Engine, connection_id: int, targets: Sequence[Target], result: UndoResult, *, origin: str
) -> None:
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, connection_id)
        by_type = {p.actor_type.value: p for p in passes(engine, session, connection)}
    by_type_targets: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_type_targets[target.actor_type].append(target)
    for actor_type, group in sorted(by_type_targets.items()):
        p = by_type.get(actor_type)
        if p is None:
            result.left += [LeftAlone(t, ErrorCode.MAPPING.value, "the actor type no longer syncs") for t in group]
            continue
        _Writer(engine, p, origin, result).write(group)


@dataclass
class _Current:
    """Both sides' current canonical values of one record."""

    crm: dict[str, m.Value]
    erp: dict[str, m.Value]
    actor: m.Actor

    def of(self, side: str) -> dict[str, m.Value]:
        return self.crm if side == Side.CRM.value else self.erp


@dataclass
class _Writer:
    engine: Engine
    p: Pass
    origin: str
    result: UndoResult

    def write(self, targets: Sequence[Target]) -> None:
        current = self._read(targets)
        ready: list[Target] = []
        for target in targets:
            now = current.get(target.link_id)
            if now is None:
                self._leave(target, ErrorCode.NOT_FOUND, "the CRM record or the ERP actor is gone")
            elif not same(now.of(target.side).get(target.field), target.new):
                edited = EDITED_SINCE.format(current=now.of(target.side).get(target.field), new=target.new)
                self._leave(target, ErrorCode.CONFLICT, edited)
            else:
                ready.append(target)
        saved = self._save_erp([t for t in ready if t.side == Side.ERP.value], current)
        self._store([t for t in ready if t.side == Side.CRM.value] + saved, current)

    def _leave(self, target: Target, reason: ErrorCode, message: str) -> None:
        self.result.left.append(LeftAlone(target, reason.value, message))

    def _read(self, targets: Sequence[Target]) -> dict[int, _Current]:
        p = self.p
        found = p.client.get_actors(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            erp_keys=sorted({t.erp_key for t in targets}),
            field_keys=p.field_keys,
        )
        actors = {actor.erp_key: actor for actor in found.actors}
        with self.engine.database.read_session() as session:
            records: dict[int, CrmRecord] = read_records(session, p.entity_type, {t.entity_id for t in targets})
        current = {}
        for target in targets:
            actor, record = actors.get(target.erp_key), records.get(target.entity_id)
            if actor is not None and record is not None:
                crm, erp = p.from_crm(record.values).values, p.from_erp(actor.fields).values
                current[target.link_id] = _Current(crm, erp, actor)
        return current

    def _save_erp(self, targets: Sequence[Target], current: dict[int, _Current]) -> list[Target]:
        """Save the ERP targets, one actor per record; the targets saved."""
        by_link: dict[int, list[Target]] = defaultdict(list)
        for target in targets:
            by_link[target.link_id].append(target)
        if not by_link:
            return []
        order = sorted(by_link)
        actors = [
            m.Actor(
                actor_type=self.p.actor_type,
                erp_key=by_link[link_id][0].erp_key,
                last_modified=current[link_id].actor.last_modified,
                fields={t.field: t.old for t in by_link[link_id]},
            )
            for link_id in order
        ]
        saved = self.p.client.save_actors(connection_id=self.p.connection_uuid, actors=actors)
        refused = {order[error.index]: error for error in saved.errors}
        for link_id, error in refused.items():
            for target in by_link[link_id]:
                self._leave(target, error.error_code, error.message)
        return [t for t in targets if t.link_id not in refused]

    def _store(self, targets: Sequence[Target], current: dict[int, _Current]) -> None:
        """The CRM writes, the run's events and the field history, in one transaction."""
        by_link: dict[int, list[Target]] = defaultdict(list)
        for target in targets:
            by_link[target.link_id].append(target)
        with self.engine.database.session() as session:
            for link_id, group in sorted(by_link.items()):
                link = session.get(ErpLink, link_id)
                written = self._write_crm(session, group) if link is not None else []
                if link is None:
                    self.result.left += [LeftAlone(t, ErrorCode.NOT_FOUND.value, "the link is gone") for t in group]
                elif written:
                    decisions = [_decision(t, current[link_id]) for t in written]
                    runs.add_event(session, self.result.run_id, runs.EventRecord(link, decisions))
                    self.result.written += written

    def _write_crm(self, session: Session, group: Sequence[Target]) -> list[Target]:
        """Write the group's CRM targets (one record); the group's targets written (its ERP ones were already)."""
        crm = [t for t in group if t.side == Side.CRM.value]
        if not crm:
            return list(group)
        translated = self.p.to_crm({t.field: t.old for t in crm})
        [refused] = write_records(
            session, self.p.entity_type, [(crm[0].entity_id, translated.values)], changed_by=self.origin
        )
        problems = {problem.field for problem in translated.problems}
        failed = [t for t in crm if refused is not None or t.field in problems]
        for target in failed:
            message = str(refused) if refused is not None else "the value cannot be written back to the CRM"
            self._leave(target, ErrorCode.VALIDATION, message)
        return [t for t in group if t not in failed]


def _decision(target: Target, current: _Current) -> Decision:
    side = Side(target.side)
    return Decision(
        field=target.field,
        old=target.new,
        crm=current.crm.get(target.field),
        erp=current.erp.get(target.field),
        new=target.old,
        winner=None,
        reason="undo",
        written_to=side,
        kind=DecisionKind.UNDO,
    )
