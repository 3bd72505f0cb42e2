"""The audit log of configuration changes: who, when, what; secret values are never written to it.

Public names: ``record(session, *, user_id, action, target_type, target_id, detail)``, ``entries(session, ...)``,
``REDACTED``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.storage.tables import AuditEntry

REDACTED = "***"
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
