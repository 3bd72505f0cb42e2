"""A connection's problems grouped by cause, for the API, the web UI and the command line alike.

Failing records are grouped in SQL by their cause (``ErpLink.error_cause``: the error code and the normalised message,
``errors.cause_key``, kept on the link when it fails and indexed with its connection and state), so the page stays
fast with any number of failing records. Each group names the screen that fixes it and is retried in one action;
broken links (the ERP actor is gone) are listed one by one with their fix actions: unlink, then link to another actor
or create it again in the ERP from the record's ERP tab.

Public names: ``Problems``, ``ProblemGroup``, ``BrokenLink``, ``FixScreen``, ``connection_problems``,
``problem_groups``, ``broken_links``, ``retry_group``, ``unlink_broken``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.errors import ConflictError, ErrorCode, NotFoundError, normalise_message
from erpsync.storage.tables import ErpLink, User, utcnow
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync.connection_visibility import get_connection
from erpsync.sync.links import NAMED_CAUSES, LinkState

GROUPS_SHOWN = 100
EXAMPLES = 3
BROKEN_SHOWN = 200


class FixScreen(StrEnum):
    """Where an administrator fixes a cause."""

    MAPPING = "mapping"
    LIST_MAPPING = "list_mapping"
    DEFAULTS = "defaults"
    CONNECTION = "connection"
    RECORD = "record"  # the record's own values or its ERP tab


_CONNECTION_CODES = frozenset(
    {ErrorCode.AUTH, ErrorCode.RATE_LIMIT, ErrorCode.TRANSIENT, ErrorCode.CONNECTOR, ErrorCode.UNKNOWN_CONNECTION}
)


def fix_screen(code: str, message: str) -> FixScreen:
    """The screen that fixes a cause: the connection for the connector's own trouble, the list mapping for a list
    item with no pairing, the defaults for a value the ERP requires, the mapping for values that do not translate."""
    lowered = message.lower()
    if code in _CONNECTION_CODES:
        return FixScreen.CONNECTION
    if "list" in lowered and code in (ErrorCode.MAPPING, ErrorCode.VALIDATION):
        return FixScreen.LIST_MAPPING
    if "required" in lowered or "missing" in lowered:
        return FixScreen.DEFAULTS
    if code == ErrorCode.MAPPING:
        return FixScreen.MAPPING
    return FixScreen.RECORD


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ExampleRecord(_View):
    link_id: int
    entity_type: str
    entity_id: int
    actor_type: str
    erp_key: str
    last_error: str | None


class ProblemGroup(_View):
    """Failing records of one cause: how many, since when, a few of them and where to fix it."""

    cause: str
    error_code: str
    message: str
    records: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    fix: FixScreen
    examples: list[ExampleRecord]


class BrokenLink(_View):
    """A link whose ERP actor is gone: unlink it, then link the record to another actor or create it again."""

    link_id: int
    entity_type: str
    entity_id: int
    actor_type: str
    erp_key: str
    last_error: str | None
    failing_since: dt.datetime | None
    cause: str | None = None
    """``links.MERGED_CAUSE`` for a link a CRM merge left behind, ``links.DEACTIVATED_CAUSE`` for an ERP actor deleted
    whose CRM record was deactivated; None for an ERP actor that is gone."""


def _example(link: ErpLink) -> ExampleRecord:
    return ExampleRecord(
        link_id=link.id,
        entity_type=link.entity_type,
        entity_id=link.entity_id,
        actor_type=link.actor_type,
        erp_key=link.erp_key,
        last_error=link.last_error,
    )


def _examples(session: Session, connection_id: int, cause: str | None) -> list[ExampleRecord]:
    query = (
        select(ErpLink)
        .where(
            ErpLink.connection_id == connection_id,
            ErpLink.state == LinkState.FAILING.value,
            ErpLink.error_cause.is_(None) if cause is None else ErpLink.error_cause == cause,
        )
        .order_by(ErpLink.id)
        .limit(EXAMPLES)
    )
    return [_example(link) for link in session.scalars(query)]


def problem_groups(session: Session, connection_id: int, *, user: User | None) -> list[ProblemGroup]:
    """The connection's failing records grouped by cause, the largest group first."""
    get_connection(session, connection_id, user=user)
    count = func.count().label("records")
    query = (
        select(
            ErpLink.error_cause,
            func.min(ErpLink.error_reason),
            func.min(ErpLink.last_error),
            count,
            func.min(ErpLink.failing_since),
            func.max(ErpLink.last_error_at),
        )
        .where(ErpLink.connection_id == connection_id, ErpLink.state == LinkState.FAILING.value)
        .group_by(ErpLink.error_cause)
        .order_by(count.desc(), ErpLink.error_cause)
        .limit(GROUPS_SHOWN)
    )
    groups = []
    for cause, code, message, records, first_seen, last_seen in session.execute(query):
        code = code or ErrorCode.CONNECTOR.value
        normalised = normalise_message(message or "")
        groups.append(
            ProblemGroup(
                cause=cause or "",
                error_code=code,
                message=normalised,
                records=records,
                first_seen=first_seen,
                last_seen=last_seen,
                fix=fix_screen(code, normalised),
                examples=_examples(session, connection_id, cause),
            )
        )
    return groups


def broken_links(session: Session, connection_id: int, *, user: User | None) -> list[BrokenLink]:
    get_connection(session, connection_id, user=user)
    query = (
        select(ErpLink)
        .where(ErpLink.connection_id == connection_id, ErpLink.state == LinkState.BROKEN.value)
        .order_by(ErpLink.id)
        .limit(BROKEN_SHOWN)
    )
    return [
        BrokenLink(
            link_id=link.id,
            entity_type=link.entity_type,
            entity_id=link.entity_id,
            actor_type=link.actor_type,
            erp_key=link.erp_key,
            last_error=link.last_error,
            failing_since=link.failing_since,
            cause=link.error_cause if link.error_cause in NAMED_CAUSES else None,
        )
        for link in session.scalars(query)
    ]


class Problems(_View):
    """A connection's problems: failing records grouped by cause, and its broken links."""

    groups: list[ProblemGroup]
    broken: list[BrokenLink]


def connection_problems(session: Session, connection_id: int, *, user: User | None) -> Problems:
    return Problems(
        groups=problem_groups(session, connection_id, user=user),
        broken=broken_links(session, connection_id, user=user),
    )


def _user_id(user: User | None) -> int | None:
    return None if user is None else user.id


def retry_group(session: Session, connection_id: int, cause: str, *, user: User | None) -> int:
    """Un-park every failing record of the cause in one statement: the next retry pass (the next run of the
    connection, or *Sync now*) tries each again with a fresh count. How many records; ``NotFoundError`` when the
    cause has none."""
    with unit_of_work(session):
        get_connection(session, connection_id, user=user)
        statement = (
            update(ErpLink)
            .where(
                ErpLink.connection_id == connection_id,
                ErpLink.state == LinkState.FAILING.value,
                ErpLink.error_cause == cause,
            )
            .values(attempts=0, next_attempt_at=utcnow())
        )
        scheduled = cast(CursorResult[tuple[()]], session.execute(statement)).rowcount
        if not scheduled:
            raise NotFoundError(f"no failing records of cause {cause!r} in connection {connection_id}")
        audit.record(
            session,
            user_id=_user_id(user),
            action="retry_group",
            target_type="connection",
            target_id=connection_id,
            detail={"cause": cause, "records": scheduled},
        )
    return scheduled


def unlink_broken(session: Session, connection_id: int, link_id: int, *, user: User | None) -> None:
    """Remove a broken link (nothing is deleted in the CRM or the ERP): the record can then be linked to another
    actor or created again in the ERP from its ERP tab."""
    with unit_of_work(session):
        get_connection(session, connection_id, user=user)
        link = session.get(ErpLink, link_id)
        if link is None or link.connection_id != connection_id:
            raise NotFoundError(f"no link with id {link_id} in connection {connection_id}")
        if link.state != LinkState.BROKEN.value:
            raise ConflictError(f"link {link_id} is {link.state}, not broken")
        detail = {"entity_type": link.entity_type, "entity_id": link.entity_id, "erp_key": link.erp_key}
        session.delete(link)
        audit.record(
            session,
            user_id=_user_id(user),
            action="unlink_broken",
            target_type="link",
            target_id=link_id,
            detail={"connection_id": connection_id, **detail},
        )
