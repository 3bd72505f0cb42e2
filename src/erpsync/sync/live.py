"""Live sync: the records a connector's ``watch`` names, or the CRM's change feed names, synced at once by a
targeted run besides the scheduled cycle.

Nothing pushed is trusted: the named ERP actors are read with ``get_actors`` and every record goes through the
cycle's own code (``sync.batch.sync_links``: the same merge, link leases, one transaction per batch), so live sync
makes a sync earlier, never different. Watermarks are left to the cycle, which stays the safety net: a change the
live path missed (a watch that failed, a notification lost) is synced by the next cycle, and one it did sync merges
to nothing there.

Leases (``sync.locks``) keep it to one per cluster: ``watch_lock(id)`` is held by the one process watching a
connection, ``LIVE_CRM_LOCK`` by the one pushing CRM changes; ``live_mark(id)`` is taken after each watch answered
and released when one fails, so the pages show a connection *live* while its watch works.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.changes import CrmChange, changes_since, current_watermark
from erpsync.crm.fields import EntityType
from erpsync.errors import ConnectorError, ErpsyncError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.watch import WatchResponse
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpLink, SyncLock, utcnow
from erpsync.sync import links, locks, runs
from erpsync.sync.batch import Batch, RunStoppedError, again_when_free, sync_links
from erpsync.sync.engine import active_connection_ids, sync_connection
from erpsync.sync.engine_settings import engine_settings
from erpsync.sync.record import RecordResult, counts_of
from erpsync.sync.work import Engine, Pass, active_connection, passes

logger = logging.getLogger(__name__)

LIVE_CRM_LOCK = "crm-push"
CRM_PAGE_SIZE = 500


def watch_lock(connection_id: int) -> str:
    return f"watch:{connection_id}"


def live_mark(connection_id: int) -> str:
    return f"live:{connection_id}"


@dataclass(frozen=True)
class WatchTarget:
    """What one watch of a connection asks: its connector's client, its UUID and the actor types that sync."""

    connection_id: int
    connection_uuid: str
    actor_types: tuple[m.ActorType, ...]
    client: ConnectorClient


def watch_target(engine: Engine, connection_id: int) -> WatchTarget | None:
    """None when the connection is not active, syncs no actor type, or its connector does not declare ``watch``."""
    with engine.database.read_session() as session:
        connection = active_connection(session, connection_id)
        synced = passes(engine, session, connection)
    if not synced:
        return None
    client = synced[0].client
    if not client.capabilities.watch:
        return None
    actor_types = tuple(p.actor_type for p in synced)
    return WatchTarget(connection_id, synced[0].connection_uuid, actor_types, client)


def watch(target: WatchTarget, *, since: str | None, wait_seconds: float) -> WatchResponse:
    """One watch; its hints are cut to the types asked (a connector's answer is not trusted); ``ConnectorError`` for
    an answer with no position to go on from."""
    answer = target.client.watch(
        connection_id=target.connection_uuid, actor_types=target.actor_types, since=since, wait_seconds=wait_seconds
    )
    if answer.next_since is None:  # without a position the next watch could only start again from now
        raise ConnectorError("the connector answered watch without next_since (protocol v1 demands it)")
    asked = {t: keys[: m.MAX_KEYS] for t, keys in answer.changed.items() if t in target.actor_types}
    return answer.model_copy(update={"changed": asked})


def sync_hints(engine: Engine, connection_id: int, changed: Mapping[m.ActorType, Sequence[str]]) -> runs.RunCounts:
    """Sync the linked records among the ERP keys a watch named, in one run of kind ``live``."""
    with engine.database.read_session() as session:
        connection = active_connection(session, connection_id)
        targets = [
            (p, _linked(session, p, keys=changed.get(p.actor_type, ()))) for p in passes(engine, session, connection)
        ]
    return _targeted_run(engine, connection_id, [(p, found) for p, found in targets if found])


def _linked(session: Session, p: Pass, *, keys: Sequence[str] = (), entity_ids: Sequence[int] = ()) -> list[ErpLink]:
    found = (
        links.links_by_erp_key(session, p.connection_id, p.actor_type, keys).values()
        if keys
        else links.links_by_entity(session, p.connection_id, p.actor_type, entity_ids).values()
        if entity_ids
        else []
    )
    return [link for link in found if link.state != links.LinkState.BROKEN.value]


def _targeted_run(engine: Engine, connection_id: int, targets: Sequence[tuple[Pass, list[ErpLink]]]) -> runs.RunCounts:
    counts = runs.RunCounts()
    if not targets:
        return counts
    total = sum(len(found) for _, found in targets)
    run_id = runs.start_run(engine.database, kind=runs.RunKind.LIVE, connection_id=connection_id, total=total)
    with runs.alive(engine.database, run_id):  # its lease until it is closed
        error = _sync_targets(engine, run_id, targets, counts)
        runs.finish_run(
            engine.database,
            run_id,
            counts,
            error=error.user_message if error else None,
            reason=error.code.value if error else None,
            stopped=error is not None,
        )
    return counts


def _sync_targets(
    engine: Engine, run_id: int, targets: Sequence[tuple[Pass, list[ErpLink]]], counts: runs.RunCounts
) -> ErpsyncError | None:
    """Sync each pass's links, adding to ``counts``; the error that stopped the run, if one did. Automatic sync
    turned off meanwhile, the passes left are left to the cycle (a live run started just before is no licence to
    write what the CRM's users change after)."""
    holder = locks.new_holder()
    try:
        for p, found in targets:
            if not automatic_sync_on(engine.database):
                break
            counts.add(counts_of(_sync_when_free(engine, p, run_id, holder, found)))
    except RunStoppedError as stop:
        return stop.error
    except ErpsyncError as failure:
        return failure
    return None


def _sync_when_free(engine: Engine, p: Pass, run_id: int, holder: str, found: Sequence[ErpLink]) -> list[RecordResult]:
    """``sync_links`` of ``found``; those it reports busy are tried again when the other sync is done
    (``batch.again_when_free``), unless automatic sync was turned off while they waited."""
    batch = Batch(engine, p, run_id, holder)
    return again_when_free(batch, sync_links(batch, found), still=lambda: automatic_sync_on(engine.database))


def catch_up(engine: Engine, connection_id: int) -> None:
    """A run of the connection (the cycle's, from its watermarks): what changed before a watcher's first position
    is synced now, not at the next scheduled cycle. Skipped while another run of it is under way: it covers that."""
    try:
        sync_connection(engine, connection_id, kind=runs.RunKind.CYCLE)
    except locks.LockedError:
        logger.info("connection %s: a run is under way; it catches up", connection_id)


# --- the CRM side ---------------------------------------------------------------------------------------------------


def crm_position(database: Database) -> int:
    """Where the CRM's change feed is now: push what changes after it."""
    with database.read_session() as session:
        return current_watermark(session)


def push_crm_changes(engine: Engine, since: int) -> int:
    """Sync, in each active connection, the linked records of the CRM entities changed after ``since`` (except the
    connection's own writes); returns the position to pass next time."""
    with engine.database.read_session() as session:
        top = current_watermark(session)
        changes = {entity_type: _changed_entities(session, entity_type, since, top) for entity_type in EntityType}
    for connection_id in active_connection_ids(engine.database):
        try:
            _push_to(engine, connection_id, changes)
        except ErpsyncError as error:  # the connection stays for the cycle
            logger.warning("connection %s: CRM changes not pushed: %s", connection_id, error.user_message)
    return top


def _changed_entities(session: Session, entity_type: EntityType, since: int, top: int) -> list[CrmChange]:
    found: list[CrmChange] = []
    while since < top:
        page = changes_since(session, entity_type, since, limit=CRM_PAGE_SIZE)
        found += [change for change in page if not change.deleted]  # deletions remove links in the cycle
        if len(page) < CRM_PAGE_SIZE:
            break
        since = page[-1].change_seq
    return found


def _push_to(engine: Engine, connection_id: int, changes: Mapping[EntityType, Sequence[CrmChange]]) -> None:
    with engine.database.read_session() as session:
        connection = active_connection(session, connection_id)
        targets = []
        for p in passes(engine, session, connection):
            touched = [c.entity_id for c in changes.get(p.entity_type, ()) if c.changed_by != p.origin]
            if touched:
                targets.append((p, _linked(session, p, entity_ids=touched)))
    _targeted_run(engine, connection_id, [(p, found) for p, found in targets if found])


def automatic_sync_on(database: Database) -> bool:
    """Live sync follows the engine's switch (``/engine``): off stops the cycle and the live sync alike."""
    with database.read_session() as session:
        return engine_settings(session).running


# --- what the pages show --------------------------------------------------------------------------------------------


def mark_live(database: Database, connection_id: int, holder: str, *, seconds: float) -> None:
    locks.try_acquire(database, locks.Lease(live_mark(connection_id), holder, timedelta(seconds=seconds)))


def unmark_live(database: Database, connection_id: int, holder: str) -> None:
    locks.release(database, locks.Lease(live_mark(connection_id), holder, timedelta()))


def live_connection_ids(session: Session) -> set[int]:
    """The connections whose watch answered lately: synced live, not only by the schedule."""
    names = session.scalars(select(SyncLock.name).where(SyncLock.name.like("live:%"), SyncLock.expires_at > utcnow()))
    return {int(name.removeprefix("live:")) for name in names if name.removeprefix("live:").isdigit()}
