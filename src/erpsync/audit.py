"""The audit log of configuration changes: who, when, what; secret values are never written to it.

Public names: ``record(session, *, user_id, action, target_type, target_id, detail)``, ``via(by)``,
``entries(session, ...)``, ``AuditFilter``, ``AuditPage``, ``search(session, audit_filter)``, ``REDACTED``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVarTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from erpsync.errors import NotFoundError, ValidationError
from erpsync.storage.tables import AuditEntry, User

REDACTED = "***"
Row = TypeVarTuple("Row")
_SECRET_WORDS = ("secret", "password", "passwd", "token", "api_key", "apikey", "private_key")


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact(detail: Any) -> Any:
    """Replace the value of every key that names a secret, however deep; a second guard behind careful callers."""
    if isinstance(detail, Mapping):
        return {str(k): REDACTED if _is_secret(str(k)) else redact(v) for k, v in detail.items()}
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        return [redact(item) for item in detail]
    return detail


def via(by: int | None) -> dict[str, str]:
    """What an entry's detail adds for a change made without a user: it came from the command line."""
    return {} if by is not None else {"via": "cli"}


def record(
    session: Session,
    *,
    user_id: int | None,
    action: str,
    target_type: str,
    target_id: int | str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction, so it is kept exactly when the change is."""
    entry = AuditEntry(
        user_id=user_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail_json=redact(dict(detail or {})),
    )
    session.add(entry)
    return entry


def entries(session: Session, *, target_type: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    return list(session.scalars(query))


# --- reading the log ------------------------------------------------------------------------------------------------

PER_PAGE = 50
MAX_PER_PAGE = 500
SYSTEM = "system"
"""Who made a change with no user: the command line, the hub itself."""


class AuditFilter(BaseModel):
    """Which entries: by whom (a login, or ``system``), what (the action, the object's type and id) and when
    (``since`` inclusive, ``until`` exclusive); one page of them, the newest first."""

    model_config = ConfigDict(frozen=True)

    who: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=PER_PAGE, ge=1, le=MAX_PER_PAGE)


class AuditRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: dt.datetime
    who: str
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    entries: list[AuditRow]
    total: int
    page: int
    per_page: int


def _filtered(session: Session, query: Select[*Row], audit_filter: AuditFilter) -> Select[*Row]:
    f = audit_filter
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise ValidationError("the start of the period must be before its end")
    if f.who == SYSTEM:
        query = query.where(AuditEntry.user_id.is_(None))
    elif f.who:
        user_id = session.scalar(select(User.id).where(User.login == f.who))
        if user_id is None:
            raise NotFoundError(f"no user with login {f.who!r}")
        query = query.where(AuditEntry.user_id == user_id)
    conditions = {
        AuditEntry.action: f.action,
        AuditEntry.target_type: f.target_type,
        AuditEntry.target_id: f.target_id,
    }
    query = query.where(*(column == value for column, value in conditions.items() if value))
    if f.since is not None:
        query = query.where(AuditEntry.at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.at < f.until)
    return query


def search(session: Session, audit_filter: AuditFilter) -> AuditPage:
    """A page of the entries the filter selects, newest first, with who made each (secrets were redacted on write,
    and are redacted again on read)."""
    total = session.scalar(_filtered(session, select(func.count(AuditEntry.id)), audit_filter)) or 0
    query = _filtered(
        session, select(AuditEntry, User.login).outerjoin(User, User.id == AuditEntry.user_id), audit_filter
    )
    offset = (audit_filter.page - 1) * audit_filter.per_page
    rows = session.execute(query.order_by(AuditEntry.id.desc()).offset(offset).limit(audit_filter.per_page))
    entries = [
        AuditRow(
            id=entry.id,
            at=entry.at,
            who=login or SYSTEM,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            detail=redact(entry.detail_json),
        )
        for entry, login in rows
    ]
    return AuditPage(entries=entries, total=total, page=audit_filter.page, per_page=audit_filter.per_page)
