"""Merging two CRM records, with their ERP links: the use case the API, the web UI and the command line call.

One unit of work: the CRM merge (``erpsync.crm.merge``: values chosen, persons moved, the other record deleted, the
survivor stamped in the change feed), then the links rule, then the audit entry.

The links rule: each link of the merged-away record moves to the survivor, connection by connection. When the survivor
is linked in that connection already, it keeps its own link, and the merged-away one is not dropped: it becomes a
broken link of cause ``links.MERGED_CAUSE`` with a reason naming both ERP actors, listed among the connection's
problems, and the result says so. Two ERP actors for one CRM record is something only a person can settle (unlink the
left-behind link, and merge or retire the second actor in the ERP).

Who may merge: anyone signed in, while neither record is linked to an ERP. Merging writes to every connection the
records are linked in (their links move, the survivor's merged values are sent, a company's persons move with it), so
once either is linked it takes the ERP licence and sight of every live connection they are linked in; administrators
and the command line may always. Otherwise
``MergeForbiddenError``, before anything is changed; its message names no connection.

Public names: ``MovedLink``, ``LinkConflict``, ``MergeReport``, ``MergeForbiddenError``, ``merge_records``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.crm import merge as crm_merge
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.errors import ErpsyncError, ErrorCode
from erpsync.storage.tables import ErpConnection, ErpLink, User, utcnow
from erpsync.storage.unit_of_work import unit_of_work
from erpsync.sync import links
from erpsync.sync.connection_visibility import visible_connections

SYSTEM_ORIGIN = "system"
"""The CRM records' ``changed_by`` when the command line merges (no user)."""

Refusal = Literal["licence", "hidden"]


class MergeForbiddenError(ErpsyncError):
    """The user may not merge these records (HTTP 403); nothing was changed. ``reason`` says why: ``licence`` (a
    record involved is linked to an ERP and the user has no ERP licence) or ``hidden`` (linked in a connection the
    user cannot see)."""

    code: ClassVar[ErrorCode] = ErrorCode.AUTH

    MESSAGES: ClassVar[dict[str, str]] = {
        "licence": "these records are linked to an ERP: merging them needs the ERP licence",
        "hidden": (
            "these records are linked in ERP connections you cannot see: an administrator, or a user who sees every "
            "one of them, may merge them"
        ),
    }

    def __init__(self, reason: Refusal) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason: Refusal = reason


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MovedLink(_View):
    connection_id: int
    link_id: int
    actor_type: str
    erp_key: str


class LinkConflict(_View):
    """Both records were linked in one connection: the survivor's link stays, the other is broken (cause merged)."""

    connection_id: int
    kept_link_id: int
    kept_erp_key: str
    broken_link_id: int
    broken_erp_key: str
    reason: str


class MergeReport(_View):
    entity_type: str
    survivor_id: int
    merged_id: int
    taken_from_other: list[str]
    persons_moved: list[int]
    links_moved: list[MovedLink]
    link_conflicts: list[LinkConflict]


def _conflict_reason(entity_type: EntityType, merged_id: int, survivor_id: int, kept: ErpLink, left: ErpLink) -> str:
    return (
        f"{entity_type} {merged_id} was merged into {entity_type} {survivor_id}, which is linked to ERP "
        f"{kept.actor_type} {kept.erp_key} in this connection already; this link to ERP {left.actor_type} "
        f"{left.erp_key} was kept so that nothing is lost: unlink it, and merge or retire that actor in the ERP"
    )


def _move_links(
    session: Session, entity_type: EntityType, survivor_id: int, merged_id: int
) -> tuple[list[MovedLink], list[LinkConflict]]:
    moved: list[MovedLink] = []
    conflicts: list[LinkConflict] = []
    now = utcnow()
    for link in links.links_of_entity(session, entity_type, merged_id):
        kept = links.link_for_entity(session, link.connection_id, entity_type, survivor_id)
        if kept is None:
            link.entity_id = survivor_id
            moved.append(
                MovedLink(
                    connection_id=link.connection_id, link_id=link.id, actor_type=link.actor_type, erp_key=link.erp_key
                )
            )
            continue
        reason = _conflict_reason(entity_type, merged_id, survivor_id, kept, link)
        links.mark_merged_away(link, reason, now=now)
        conflicts.append(
            LinkConflict(
                connection_id=link.connection_id,
                kept_link_id=kept.id,
                kept_erp_key=kept.erp_key,
                broken_link_id=link.id,
                broken_erp_key=link.erp_key,
                reason=reason,
            )
        )
    session.flush()
    return moved, conflicts


def _connections_involved(session: Session, entity_type: EntityType, survivor_id: int, other_id: int) -> set[int]:
    """The live connections the two records are linked in: those the merge writes to (a company's persons are linked
    only where it is, ``links.create_link``)."""
    query = (
        select(ErpLink.connection_id)
        .join(ErpConnection, ErpConnection.id == ErpLink.connection_id)
        .where(
            ErpLink.entity_type == entity_type.value,
            ErpLink.entity_id.in_((survivor_id, other_id)),
            ErpConnection.deleted_at.is_(None),
        )
        .distinct()
    )
    return set(session.scalars(query))


def _check_allowed(session: Session, user: User, entity_type: EntityType, survivor_id: int, other_id: int) -> None:
    if user.is_admin:
        return
    involved = _connections_involved(session, entity_type, survivor_id, other_id)
    if not involved:
        return
    if not accounts.has_licence(user, accounts.Licence.ERP):
        raise MergeForbiddenError("licence")
    if involved - {connection.id for connection in visible_connections(session, user)}:
        raise MergeForbiddenError("hidden")


def merge_records(
    session: Session,
    entity_type: EntityType,
    survivor_id: int,
    other_id: int,
    choices: Mapping[str, crm_merge.Keep | str],
    *,
    user: User | None,
) -> MergeReport:
    """Merge ``other_id`` into ``survivor_id`` with the values chosen, and move its links (``user`` None: the command
    line). ``NotFoundError``, ``ValidationError``, ``InvalidFieldError``, ``MergeForbiddenError``: nothing is
    changed."""
    with unit_of_work(session):
        if user is not None:
            _check_allowed(session, user, entity_type, survivor_id, other_id)
        changed_by = service.user_origin(user.id) if user is not None else SYSTEM_ORIGIN
        merged = crm_merge.merge_entities(session, entity_type, survivor_id, other_id, choices, changed_by=changed_by)
        moved, conflicts = _move_links(session, entity_type, survivor_id, other_id)
        report = MergeReport(
            entity_type=entity_type.value,
            survivor_id=survivor_id,
            merged_id=other_id,
            taken_from_other=merged.taken_from_other,
            persons_moved=merged.persons_moved,
            links_moved=moved,
            link_conflicts=conflicts,
        )
        audit.record(
            session,
            user_id=user.id if user is not None else None,
            action=f"merge_{entity_type.value}",
            target_type=entity_type.value,
            target_id=survivor_id,
            detail=report.model_dump(mode="json"),
        )
    return report
