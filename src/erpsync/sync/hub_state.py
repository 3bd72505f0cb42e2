"""What the metrics read from the database at scrape time: jobs waiting and running, links by state and the age of
each active connection's last successful run (``erpsync.metrics.HubState``). A few grouped queries on indexed
columns, in the caller's (read-only) session.

Public names: ``hub_state(session, now)``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync.metrics import ConnectionState, HubState
from erpsync.storage.tables import ErpConnection, ErpLink, SyncJob, SyncRun
from erpsync.sync.runs import RunKind, RunStatus

SYNC_KINDS = (RunKind.CYCLE.value, RunKind.CONNECTION.value)
"""Runs that sync a whole connection; a one-record Sync now or an import says nothing of the connection's health."""


def hub_state(session: Session, now: dt.datetime) -> HubState:
    jobs = session.execute(
        select(SyncJob.status, func.count()).where(SyncJob.status.in_(("queued", "running"))).group_by(SyncJob.status)
    )
    active = dict(
        session.execute(
            select(ErpConnection.id, ErpConnection.name).where(
                ErpConnection.active.is_(True), ErpConnection.deleted_at.is_(None)
            )
        ).all()
    )
    last_ok = dict(
        session.execute(
            select(SyncRun.connection_id, func.max(SyncRun.finished_at))
            .where(SyncRun.connection_id.in_(active), SyncRun.status == RunStatus.OK.value)
            .where(SyncRun.kind.in_(SYNC_KINDS))
            .group_by(SyncRun.connection_id)
        ).all()
    )
    links: dict[int, dict[str, int]] = {connection_id: {} for connection_id in active}
    for connection_id, state, count in session.execute(
        select(ErpLink.connection_id, ErpLink.state, func.count())
        .where(ErpLink.connection_id.in_(active))
        .group_by(ErpLink.connection_id, ErpLink.state)
    ):
        links[connection_id][state] = count
    return HubState(
        jobs={str(status): int(count) for status, count in jobs},
        connections=[
            ConnectionState(
                connection_id=connection_id,
                name=name,
                last_success_age_seconds=_age(now, last_ok.get(connection_id)),
                links=links[connection_id],
            )
            for connection_id, name in sorted(active.items())
        ],
    )


def _age(now: dt.datetime, at: dt.datetime | None) -> float | None:
    return None if at is None else max(0.0, (now - at).total_seconds())
