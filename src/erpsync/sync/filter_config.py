"""Saving an actor type's sync filter (``sync.filters``) and previewing what a filter would stop, without writing.

``save_filter`` is one unit of work with its audit entry; a filter with a bad restriction is refused with every
problem (``configuration.ConfigurationRefusedError``) and nothing changes. ``preview`` counts, among the actor type's
linked records, those a candidate filter would stop syncing and those it would let sync again: the CRM side is read
from the hub's database; when the filter restricts ERP fields, the linked actors are read from the connector
(``get_actors``), for the first ``PREVIEW_LIMIT`` links only, and the preview says when it was bounded. A bad
candidate is refused like a save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.crm.service import CrmRecord, read_records
from erpsync.errors import NotFoundError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.storage.tables import ErpConnection, ErpLink
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync import configuration, configuration_loading, filters
from erpsync.sync.connections import client_for
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, SyncFilter
from erpsync.sync.work import Engine

PREVIEW_LIMIT = 1000
"""Links a preview looks at: the first ones by id."""


def save_filter(
    session: Session, connection: ErpConnection, actor_type: m.ActorType, sync_filter: SyncFilter, *, by: int | None
) -> SyncFilter:
    """Replace the sync filter of one actor type; the filter as saved. The engine's next sync of a record applies it."""
    with unit_of_work(session):
        store_filter(session, connection, actor_type, sync_filter)
        detail = {"actor_type": actor_type.value, "filter": sync_filter.model_dump(mode="json")}
        detail |= audit.via(by)
        audit.record(
            session,
            user_id=by,
            action="update_sync_filter",
            target_type="connection",
            target_id=connection.id,
            detail=detail,
        )
    return sync_filter


def store_filter(session: Session, connection: ErpConnection, actor_type: m.ActorType, sync_filter: SyncFilter) -> None:
    """Check and write the filter in the caller's transaction (``save_filter``, a configuration file's apply)."""
    _refuse_if_bad(sync_filter, configuration_loading.erp_fields_of(session, connection, actor_type.value), actor_type)
    with configuration.changing(connection):
        configuration.actor_row(session, connection, actor_type).filter_json = sync_filter.model_dump(mode="json")
        session.flush()


def _refuse_if_bad(sync_filter: SyncFilter, erp_fields: Sequence[m.FieldMeta], actor_type: m.ActorType) -> None:
    problems = filters.filter_problems(sync_filter, erp_fields, ENTITY_FOR_ACTOR[actor_type])
    if problems:
        raise configuration.ConfigurationRefusedError(problems)


@dataclass(frozen=True)
class FilterPreview:
    """What a candidate filter would do to today's links of one actor type."""

    links: int  # the actor type's links in the connection
    checked: int  # those looked at (at most PREVIEW_LIMIT)
    would_stop: int  # inside today's filter, outside the candidate: they would stop syncing
    would_resume: int  # outside today's filter, inside the candidate: they would sync again
    missing: int  # linked actors the ERP no longer has (not counted either way)

    @property
    def bounded(self) -> bool:
        return self.checked < self.links


@dataclass(frozen=True)
class _Sample:
    """What a preview reads from the hub's database: the links looked at, their CRM records and today's filter."""

    total: int
    links: list[ErpLink]
    records: dict[int, CrmRecord]
    current: SyncFilter
    client: ConnectorClient
    connection_uuid: str
    field_keys: list[str]


def preview(engine: Engine, connection_id: int, actor_type: m.ActorType, candidate: SyncFilter) -> FilterPreview:
    """Count what ``candidate`` would change; nothing is written anywhere."""
    sample = _sample(engine, connection_id, actor_type, candidate)
    erp = bool(sample.current.erp or candidate.erp)
    actors = _erp_values(sample, actor_type) if erp and sample.links else {}
    stop = resume = missing = 0
    for link in sample.links:
        record = sample.records.get(link.entity_id)
        if record is None or (erp and link.erp_key not in actors):
            missing += 1
            continue
        erp_values = actors.get(link.erp_key, {})
        now_in = filters.outside_reason(sample.current, erp_values, record.values) is None
        then_in = filters.outside_reason(candidate, erp_values, record.values) is None
        stop += now_in and not then_in
        resume += then_in and not now_in
    return FilterPreview(sample.total, len(sample.links), stop, resume, missing)


def _sample(engine: Engine, connection_id: int, actor_type: m.ActorType, candidate: SyncFilter) -> _Sample:
    with engine.database.read_session() as session:
        connection = session.get(ErpConnection, connection_id)
        if connection is None or connection.deleted_at is not None:
            raise NotFoundError(f"no ERP connection with id {connection_id}")
        _refuse_if_bad(
            candidate, configuration_loading.erp_fields_of(session, connection, actor_type.value), actor_type
        )
        mapping = engine.load_config(session, connection).mappings.get(actor_type)
        current = mapping.sync_filter if mapping is not None else SyncFilter()
        scope = (ErpLink.connection_id == connection_id, ErpLink.actor_type == actor_type.value)
        total = session.scalar(select(func.count()).select_from(ErpLink).where(*scope)) or 0
        links = list(session.scalars(select(ErpLink).where(*scope).order_by(ErpLink.id).limit(PREVIEW_LIMIT)))
        records = read_records(session, ENTITY_FOR_ACTOR[actor_type], {link.entity_id for link in links})
        keys = list(dict.fromkeys(r.field for r in (*current.erp, *candidate.erp)))
        client = client_for(engine.clients, connection)
        session.expunge_all()
        return _Sample(total, links, records, current, client, connection.uuid, keys)


def _erp_values(sample: _Sample, actor_type: m.ActorType) -> dict[str, dict[str, m.Value]]:
    """The filtered ERP fields of the linked actors, read from the connector with no transaction open."""
    found = sample.client.get_actors(
        connection_id=sample.connection_uuid,
        actor_type=actor_type,
        erp_keys=[link.erp_key for link in sample.links],
        field_keys=sample.field_keys,
    )
    return {actor.erp_key: dict(actor.fields) for actor in found.actors if actor.erp_key is not None}
