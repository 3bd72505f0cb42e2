"""People who move: a person's company is synced like a field.

A person's company is the ERP person's parent (``parent_type``/``parent_key``) and the CRM person's ``company_id``.
Both are compared in one key space, the ERP's: the CRM side's value is the ERP key of the link of the person's company
in the connection (``"customer:10042"``), or ``"crm:<company id>"`` when that company is not linked in it; the ERP
side's value is its parent's. The value both sides agreed on is kept in the link's agreed values under ``PARENT``, so
the usual three-way merge (``sync.merge``) tells which side moved the person, and the connection's conflict policy
settles a move on both sides. The winner's company is then written to the other side:

- to the ERP: the person's parent becomes the company's actor (``save_actors`` with the parent members);
- to the CRM: the person moves to the CRM company linked to the ERP parent.

A move the other side cannot follow, because the new company is not linked in the connection, writes nothing: the
link fails with the reason (``MOVED_TO_UNLINKED``), keeps the old agreed company, and syncs again once the company is
linked.

Public names: ``PARENT``, ``Parents``, ``parents_for``, ``Move``, ``settle``, ``fields_only``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.protocol.models import Value
from erpsync.storage.bulk import one_of
from erpsync.storage.tables import ErpLink
from erpsync.sync.mapping import Problem
from erpsync.sync.merge import Decision, Direction, FieldRule, MergeResult, Policy, Side

PARENT = "@parent"
"""The key of a person's company among a link's agreed values (no ERP field key starts with ``@``)."""

COMPANY_ATTR = "company_id"
"""The CRM person's company, written with the record's values (``crm.validation.EXTRA_ATTRS``)."""

_UNLINKED = "crm:"


def _actor_key(actor_type: str, erp_key: str) -> str:
    return f"{actor_type}:{erp_key}"


def erp_parent(actor: m.Actor) -> str | None:
    """The ERP side's company of a person: its parent, as ``"type:key"``; None without one."""
    if actor.parent_type is None or not actor.parent_key:
        return None
    return _actor_key(actor.parent_type.value, actor.parent_key)


@dataclass(frozen=True)
class Parents:
    """The company links of one connection that a batch of persons needs, both ways."""

    by_company: Mapping[int, str] = field(default_factory=dict)  # CRM company id -> "type:key"
    by_actor: Mapping[str, int] = field(default_factory=dict)  # "type:key" -> CRM company id

    def crm_parent(self, company_id: int | None) -> str | None:
        """The CRM side's company of a person, in the ERP's key space."""
        if company_id is None:
            return None
        return self.by_company.get(company_id, f"{_UNLINKED}{company_id}")


def parents_for(
    session: Session, connection_id: int, company_ids: Collection[int], actors: Sequence[m.Actor]
) -> Parents:
    """The links in ``connection_id`` of the CRM companies ``company_ids`` and of the ERP parents of ``actors``."""
    erp_keys = {actor.parent_key for actor in actors if actor.parent_key}
    if not company_ids and not erp_keys:
        return Parents()
    conditions = []
    if company_ids:
        conditions.append(one_of(session, ErpLink.entity_id, company_ids))
    if erp_keys:
        conditions.append(one_of(session, ErpLink.erp_key, erp_keys))
    rows = session.execute(
        select(ErpLink.entity_id, ErpLink.actor_type, ErpLink.erp_key).where(
            ErpLink.connection_id == connection_id,
            ErpLink.entity_type == EntityType.COMPANY.value,
            or_(*conditions),
        )
    )
    pairs = [(row.entity_id, _actor_key(row.actor_type, row.erp_key)) for row in rows]
    return Parents(by_company=dict(pairs), by_actor={key: entity_id for entity_id, key in pairs})


def rule(policy: Policy) -> FieldRule:
    """How a person's company merges: both ways, by the connection's conflict policy."""
    return FieldRule(Direction.BOTH, policy)


MOVED_TO_UNLINKED = "the person's company is not linked in this connection: link the company, and the person follows"
ERP_PARENT_UNLINKED = (
    "the ERP person's company is not linked to a CRM company in this connection: link it, and the person follows"
)


@dataclass(frozen=True)
class Move:
    """What the merge's decision on ``PARENT`` means for each side."""

    erp_parent: tuple[m.ActorType | None, str | None] | None = None  # the ERP person's new parent (None, None: none)
    crm_company: tuple[int | None] | None = None  # the CRM person's new company, in a 1-tuple (None inside: none)
    problem: Problem | None = None

    @property
    def writes_erp(self) -> bool:
        return self.erp_parent is not None


def settle(result: MergeResult, parents: Parents) -> tuple[MergeResult, Move]:
    """The merge ``result`` and what its decision on ``PARENT`` means for each side; a move the other side cannot
    follow is taken back (no write, the agreed company stays) and reported."""
    decision = next((d for d in result.decisions if d.field == PARENT), None)
    if decision is None or decision.written_to is None:
        return result, Move()
    move = _move(decision, parents)
    if move.problem is None:
        return result, move
    return _taken_back(result, decision), move


def _move(decision: Decision, parents: Parents) -> Move:
    new = decision.new if isinstance(decision.new, str) and decision.new else None
    if decision.written_to is Side.ERP:
        if new is None:
            return Move(erp_parent=(None, None))
        if new.startswith(_UNLINKED):
            return Move(problem=Problem("company", MOVED_TO_UNLINKED))
        actor_type, _, erp_key = new.partition(":")
        return Move(erp_parent=(m.ActorType(actor_type), erp_key))
    if new is None:
        return Move(crm_company=(None,))
    company_id = parents.by_actor.get(new)
    if company_id is None:
        return Move(problem=Problem("company", ERP_PARENT_UNLINKED))
    return Move(crm_company=(company_id,))


def _taken_back(result: MergeResult, decision: Decision) -> MergeResult:
    """``result`` without the move ``decision``: no write, and the company agreed before."""
    agreed = dict(result.agreed)
    if decision.old is None:
        agreed.pop(PARENT, None)
    else:
        agreed[PARENT] = decision.old
    return MergeResult(
        crm_writes={k: v for k, v in result.crm_writes.items() if k != PARENT},
        erp_writes={k: v for k, v in result.erp_writes.items() if k != PARENT},
        agreed=agreed,
        decisions=tuple(d for d in result.decisions if d is not decision),
        skipped=result.skipped,
    )


def fields_only(values: Mapping[str, Value]) -> dict[str, Value]:
    """``values`` without the person's company: the field values to translate or send."""
    return {key: value for key, value in values.items() if key != PARENT}
