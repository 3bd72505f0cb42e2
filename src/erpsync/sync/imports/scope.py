"""The connection and mapping an import follows, and the actors a search finds for it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.sync import jobs
from erpsync.sync.erp_tab import RestrictionInput, check_restrictions
from erpsync.sync.work import Engine, Pass, pass_of

# --- connection and actor type --------------------------------------------------------------------------------------


def import_pass(engine: Engine, session: Session, connection: ErpConnection, actor_type: m.ActorType) -> Pass:
    """The mapping an import of ``actor_type`` follows; refused when the connection does not map that type."""
    p = pass_of(engine, session, connection, actor_type)
    if p is not None:
        return p
    raise ValidationError(
        f"connection {connection.name!r} does not map ERP {actor_type}: switch its mapping on with synced fields first"
    )


def pass_for(engine: Engine, connection_id: int, actor_type: m.ActorType) -> tuple[Pass, list[str]]:
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, connection_id)
        searchable = next(
            (list(row.searchable_json) for row in connection.actor_fields if row.actor_type == actor_type.value), []
        )
        return import_pass(engine, session, connection, actor_type), searchable


def search_actors(
    p: Pass, searchable: list[str], restrictions: Sequence[RestrictionInput], limit: int
) -> list[m.Actor]:
    checked = check_restrictions(restrictions, p.erp_fields, searchable)
    return p.client.search_advanced(
        connection_id=p.connection_uuid,
        actor_type=p.actor_type,
        restrictions=checked,
        field_keys=p.field_keys,
        limit=limit,
    ).actors
