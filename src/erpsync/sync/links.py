"""The binder: links between CRM entities and ERP actors, their last agreed values and their state.

Rules (SPEC §2, §5.1, §7): a CRM entity links to at most one actor per connection and an actor to at most one entity;
the actor type must fit the entity (company: customer, supplier or partner); a person links only if its company is
linked in the same connection. A link is ``ok``, ``failing`` (its last sync failed: retried with backoff while
``next_attempt_at`` is set, parked when it is None) or ``broken`` (the actor was deleted or is missing in the ERP).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Table, delete, func, or_, select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import get_entity
from erpsync.errors import Action, ConflictError, ErrorCode, NotFoundError, ValidationError, cause_key, error_for
from erpsync.protocol.models import ActorType, Value
from erpsync.storage.bulk import insert_values, one_of
from erpsync.storage.tables import ErpConnection, ErpLink, Person, utcnow
from erpsync.sync.mapping import ENTITY_FOR_ACTOR

MAX_ATTEMPTS = 5
"""Failures in a row after which a record is parked as failing until someone retries it."""
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
MERGED_CAUSE = "merged"
"""The cause of a link left behind by a CRM merge (the survivor kept its own link in the connection): broken, listed
with the connection's problems, and kept when the merged-away record's tombstone is read, so it is never lost."""
DEACTIVATED_CAUSE = "deleted_in_erp"
"""The cause of a broken link whose ERP actor was deleted and whose CRM record the ``deactivate`` policy deactivated:
it stays broken for a person to see, and the record is deactivated once only (a person may reactivate it)."""
NAMED_CAUSES = frozenset({MERGED_CAUSE, DEACTIVATED_CAUSE})
"""The causes a broken link is listed with (the others are an ERP actor that is gone)."""


class LinkState(StrEnum):
    OK = "ok"
    FAILING = "failing"
    BROKEN = "broken"
    FILTERED = "filtered"  # outside the actor type's sync filter: nothing syncs until it is back inside


# --- create and remove ----------------------------------------------------------------------------------------------


def create_link(
    session: Session,
    *,
    connection_id: int,
    entity_type: EntityType,
    entity_id: int,
    actor_type: ActorType,
    erp_key: str,
    agreed: Mapping[str, Value] | None = None,
) -> ErpLink:
    """Bind an entity to an actor, or refuse with the rule it breaks (nothing is stored then)."""
    if session.get(ErpConnection, connection_id) is None:
        raise NotFoundError(f"no ERP connection with id {connection_id}")
    if ENTITY_FOR_ACTOR[actor_type] is not entity_type:
        raise ValidationError(f"a {entity_type} cannot link to an ERP {actor_type}")
    entity = get_entity(session, entity_type, entity_id)
    _check_free(session, connection_id, entity_type, entity_id, actor_type, erp_key)
    if isinstance(entity, Person):
        _check_company_linked(session, connection_id, entity)
    link = ErpLink(
        connection_id=connection_id,
        entity_type=entity_type.value,
        entity_id=entity_id,
        actor_type=actor_type.value,
        erp_key=erp_key,
        agreed_json=dict(agreed or {}),
        state=LinkState.OK.value,
        attempts=0,
        last_sync_at=utcnow() if agreed is not None else None,
    )
    session.add(link)
    session.flush()
    return link


class NewLink(NamedTuple):
    """One link of a bulk bind: the CRM entity, the ERP actor's key and the values both sides agree on."""

    entity_id: int
    erp_key: str
    agreed: Mapping[str, Value]


def bind_many(
    session: Session,
    connection_id: int,
    entity_type: EntityType,
    actor_type: ActorType,
    new: Collection[NewLink],
    *,
    now: datetime,
) -> None:
    """Link many entities at once (an import's page), in one bulk write. The caller has checked that each entity and
    each key is free in the connection; the unique constraints refuse the whole write otherwise."""
    table = ErpLink.__table__
    assert isinstance(table, Table)
    same = {
        "connection_id": connection_id,
        "entity_type": entity_type.value,
        "actor_type": actor_type.value,
        "state": LinkState.OK.value,
        "attempts": 0,
        "last_sync_at": now,
        "created_at": now,
    }
    rows = [(link.entity_id, link.erp_key, dict(link.agreed)) for link in new]
    insert_values(session, table, ("entity_id", "erp_key", "agreed_json"), rows, same)


def _check_free(
    session: Session, connection_id: int, entity_type: EntityType, entity_id: int, actor_type: ActorType, erp_key: str
) -> None:
    if link_for_entity(session, connection_id, entity_type, entity_id) is not None:
        raise ConflictError(f"this {entity_type} is linked in this connection already")
    if links_by_erp_key(session, connection_id, actor_type, [erp_key]):
        raise ConflictError(f"ERP {actor_type} {erp_key} is linked to another {entity_type} already")


def _check_company_linked(session: Session, connection_id: int, person: Person) -> None:
    if person.company_id is None:
        raise ValidationError("a person links only under its company: this person has no company")
    if link_for_entity(session, connection_id, EntityType.COMPANY, person.company_id) is None:
        raise ValidationError("a person links only under its company: link the person's company first")


def parent_link(session: Session, link: ErpLink) -> ErpLink | None:
    """The link of a person's company in the same connection (its ERP parent), if any."""
    if link.entity_type != EntityType.PERSON.value:
        return None
    person = session.get(Person, link.entity_id)
    if person is None or person.company_id is None:
        return None
    return link_for_entity(session, link.connection_id, EntityType.COMPANY, person.company_id)


def remove_link(session: Session, link_id: int) -> None:
    """Disconnect: the link goes; nothing is deleted in the CRM or the ERP."""
    session.delete(get_link(session, link_id))
    session.flush()


def remove_entity_links(session: Session, entity_type: EntityType, entity_id: int, *, connection_id: int) -> int:
    """Drop the links of a deleted CRM entity in one connection; returns how many went. A link a merge left behind
    (``MERGED_CAUSE``) stays for an administrator to settle."""
    removed = session.execute(
        delete(ErpLink).where(
            ErpLink.connection_id == connection_id,
            ErpLink.entity_type == entity_type.value,
            ErpLink.entity_id == entity_id,
            or_(ErpLink.error_cause.is_(None), ErpLink.error_cause != MERGED_CAUSE),
        )
    )
    return cast(CursorResult[Any], removed).rowcount


# --- lookups --------------------------------------------------------------------------------------------------------


def get_link(session: Session, link_id: int) -> ErpLink:
    link = session.get(ErpLink, link_id)
    if link is None:
        raise NotFoundError(f"no link with id {link_id}")
    return link


def link_for_entity(session: Session, connection_id: int, entity_type: EntityType, entity_id: int) -> ErpLink | None:
    return session.scalar(
        select(ErpLink).where(
            ErpLink.connection_id == connection_id,
            ErpLink.entity_type == entity_type.value,
            ErpLink.entity_id == entity_id,
        )
    )


def links_of_entity(session: Session, entity_type: EntityType, entity_id: int) -> list[ErpLink]:
    """Every connection's link of one entity (the ERP tab's sections)."""
    query = select(ErpLink).where(ErpLink.entity_type == entity_type.value, ErpLink.entity_id == entity_id)
    return list(session.scalars(query.order_by(ErpLink.connection_id)))


def links_by_erp_key(
    session: Session, connection_id: int, actor_type: ActorType, erp_keys: Collection[str]
) -> dict[str, ErpLink]:
    query = select(ErpLink).where(
        ErpLink.connection_id == connection_id,
        ErpLink.actor_type == actor_type.value,
        one_of(session, ErpLink.erp_key, erp_keys),
    )
    return {link.erp_key: link for link in session.scalars(query)}


def links_by_entity(
    session: Session, connection_id: int, actor_type: ActorType, entity_ids: Collection[int]
) -> dict[int, ErpLink]:
    query = select(ErpLink).where(
        ErpLink.connection_id == connection_id,
        ErpLink.actor_type == actor_type.value,
        ErpLink.entity_id.in_(list(entity_ids)),
    )
    return {link.entity_id: link for link in session.scalars(query)}


def due_for_retry(session: Session, connection_id: int, now: datetime) -> list[ErpLink]:
    """Failing links whose backoff has passed, oldest first (parked ones have no next attempt)."""
    query = select(ErpLink).where(
        ErpLink.connection_id == connection_id,
        ErpLink.state == LinkState.FAILING.value,
        ErpLink.next_attempt_at <= now,
    )
    return list(session.scalars(query.order_by(ErpLink.next_attempt_at, ErpLink.id)))


def failing_links(session: Session, connection_id: int, *, limit: int | None = None) -> list[ErpLink]:
    """The connection's failing links, oldest first (the first ``limit`` of them, when given)."""
    query = select(ErpLink).where(ErpLink.connection_id == connection_id, ErpLink.state == LinkState.FAILING.value)
    return list(session.scalars(query.order_by(ErpLink.id).limit(limit)))


def problem_links(session: Session, connection_id: int) -> list[ErpLink]:
    """The connection's failing links (tried again with back-off) and broken ones (needing a person), oldest first."""
    states = (LinkState.FAILING.value, LinkState.BROKEN.value)
    query = select(ErpLink).where(ErpLink.connection_id == connection_id, ErpLink.state.in_(states))
    return list(session.scalars(query.order_by(ErpLink.id)))


# --- state ----------------------------------------------------------------------------------------------------------


def mark_synced(link: ErpLink, agreed: Mapping[str, Value], *, now: datetime) -> None:
    link.agreed_json = dict(agreed)
    link.state = LinkState.OK.value
    link.last_sync_at = now
    link.last_error = None
    link.error_reason = None
    link.error_cause = None
    link.failing_since = None
    link.last_error_at = None
    link.attempts = 0
    link.next_attempt_at = None


def _record_error(link: ErpLink, reason: ErrorCode, message: str, now: datetime) -> None:
    """The error and its cause (``errors.cause_key``), and when the link started failing and last failed."""
    link.last_error = message
    link.error_reason = reason.value
    link.error_cause = cause_key(reason.value, message)
    link.failing_since = link.failing_since or now
    link.last_error_at = now


def mark_broken(link: ErpLink, message: str, *, now: datetime | None = None) -> None:
    if link.state == LinkState.BROKEN.value and link.error_cause == DEACTIVATED_CAUSE:
        return  # its record was deactivated once already; marking it again would deactivate it again
    _record_error(link, ErrorCode.NOT_FOUND, message, now or utcnow())
    link.state = LinkState.BROKEN.value
    link.next_attempt_at = None


def mark_merged_away(link: ErpLink, message: str, *, now: datetime) -> None:
    """A link a CRM merge could not move (the survivor has its own link in the connection): broken, cause
    ``MERGED_CAUSE``, never synced again until an administrator unlinks it (its ERP actor is untouched)."""
    link.last_error = message
    link.error_reason = ErrorCode.CONFLICT.value
    link.error_cause = MERGED_CAUSE
    link.failing_since = now
    link.last_error_at = now
    link.state = LinkState.BROKEN.value


def mark_deactivated(link: ErpLink, *, now: datetime) -> None:
    """A broken link whose CRM record the ``deactivate`` policy deactivated: cause ``DEACTIVATED_CAUSE``."""
    _record_error(link, ErrorCode.NOT_FOUND, "deleted in ERP: the CRM record was deactivated", now)
    link.error_cause = DEACTIVATED_CAUSE
    link.state = LinkState.BROKEN.value
    link.next_attempt_at = None


def mark_outside(link: ErpLink, reason: str) -> None:
    """The record is outside the sync filter (``sync.filters``): it stops syncing, says why, keeps its agreed values;
    back inside, the next sync of it merges as usual and marks it synced."""
    link.state = LinkState.FILTERED.value
    link.last_error = reason
    link.error_reason = None
    link.error_cause = None
    link.failing_since = None
    link.attempts = 0
    link.next_attempt_at = None


def mark_failed(link: ErpLink, reason: ErrorCode, message: str, *, now: datetime) -> None:
    """Count a failure: a retryable one is tried again after a growing delay, until it is parked."""
    _record_error(link, reason, message, now)
    link.attempts += 1
    link.state = LinkState.FAILING.value
    retryable = error_for(reason.value, message).action is Action.RETRY
    link.next_attempt_at = now + backoff(link.attempts) if retryable and link.attempts < MAX_ATTEMPTS else None


def backoff(attempts: int) -> timedelta:
    delay: timedelta = RETRY_BASE * 2 ** (attempts - 1)
    return min(RETRY_CAP, delay)


def schedule_retry(link: ErpLink, *, now: datetime) -> None:
    """Un-park a failing link: it is tried on the next pass with a fresh count."""
    if link.state != LinkState.FAILING.value:
        raise ConflictError(f"link {link.id} is {link.state}, not failing")
    link.attempts = 0
    link.next_attempt_at = now


# --- health ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkCounts:
    in_sync: int
    failing: int
    broken: int
    filtered: int = 0  # outside the sync filter: not syncing, by choice


def link_counts(session: Session, connection_id: int) -> LinkCounts:
    rows = session.execute(
        select(ErpLink.state, func.count()).where(ErpLink.connection_id == connection_id).group_by(ErpLink.state)
    )
    counts = {str(row[0]): int(row[1]) for row in rows}
    return LinkCounts(
        in_sync=counts.get(LinkState.OK.value, 0),
        failing=counts.get(LinkState.FAILING.value, 0),
        broken=counts.get(LinkState.BROKEN.value, 0),
        filtered=counts.get(LinkState.FILTERED.value, 0),
    )
