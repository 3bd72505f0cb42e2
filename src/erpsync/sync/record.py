"""One record's sync, planned without I/O: merge a link's current values on both sides against its agreed values and
decide what to write where (``plan_record``); what the sync did (``RecordResult``, SPEC §9 ``sync``: the view the API
answers and the web pages show)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, computed_field

from erpsync.crm.service import CrmRecord
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink
from erpsync.sync import links, moves, runs
from erpsync.sync.mapping import Problem
from erpsync.sync.merge import Decision, MergeResult, Snapshot, merge
from erpsync.sync.work import Pass


class Conflict(BaseModel):
    """A field both sides changed, who won and why."""

    model_config = ConfigDict(frozen=True)

    field: str
    crm: m.Value
    erp: m.Value
    winner: str
    reason: str

    @classmethod
    def of(cls, decision: Decision) -> Conflict:
        winner = decision.winner.value if decision.winner is not None else ""
        return cls(field=decision.field, crm=decision.crm, erp=decision.erp, winner=winner, reason=decision.reason)


class RecordResult(BaseModel):
    """What one record's sync did (SPEC §9 ``sync``): fields changed on each side, conflicts and errors. The answer of
    *Sync now* and *Retry* for the API and the web pages alike."""

    model_config = ConfigDict(frozen=True)

    link_id: int
    state: str
    changed_crm: list[str] = Field(default_factory=list, exclude=True)
    changed_erp: list[str] = Field(default_factory=list, exclude=True)
    conflicts: list[Conflict] = Field(default_factory=list)
    errors: list[runs.RecordError] = Field(default_factory=list)
    busy: bool = Field(default=False, exclude=True)
    """Another sync held the record or synced it meanwhile: nothing was done; try again once it is done."""

    @computed_field(description="the fields changed on each side: CRM field keys under crm, ERP field keys under erp")
    def changed(self) -> dict[str, list[str]]:
        return {"crm": self.changed_crm, "erp": self.changed_erp}


@dataclass(frozen=True)
class Plan:
    link: ErpLink
    result: MergeResult
    crm_values: Mapping[str, m.Value]
    erp_actor: m.Actor | None
    problems: tuple[Problem, ...]
    crm_changed_by: str | None = None
    """Who last wrote the CRM record (``user:<id>``, ``sync:<id>``, ...): the author of the values it sends."""
    crm_updated_at: dt.datetime | None = None  # when each side changed (the conflict inbox)
    erp_last_modified: str | None = None

    @property
    def idle(self) -> bool:
        """Nothing to write and nothing to report."""
        return not self.result.decisions and not self.problems

    def result_for(self, link: ErpLink, errors: list[runs.RecordError]) -> RecordResult:
        """What the plan did to ``link`` (as stored now), with the record's ``errors``."""
        return RecordResult(
            link_id=link.id,
            state=link.state,
            changed_crm=sorted(self.crm_values),
            changed_erp=sorted(self.result.erp_writes),
            conflicts=[Conflict.of(d) for d in self.result.decisions if d.conflict],
            errors=errors,
        )


def plan_record(p: Pass, link: ErpLink, actor: m.Actor, crm: CrmRecord, parents: moves.Parents | None = None) -> Plan:
    """Merge one link's current values on both sides against its agreed values; decide what to write where. For a
    person, ``parents`` (its company links) makes its company merge too (``sync.moves``)."""
    crm_side, erp_side = p.from_crm(crm.values), p.from_erp(actor.fields)
    crm_values, erp_values, rules = crm_side.values, erp_side.values, p.rules
    if parents is not None:
        crm_values = {**crm_values, moves.PARENT: parents.crm_parent(crm.company_id)}
        erp_values = {**erp_values, moves.PARENT: moves.erp_parent(actor)}
        rules = {**rules, moves.PARENT: moves.rule(p.config.policy)}
    snapshot = Snapshot(
        agreed=link.agreed_json,
        crm=crm_values,
        erp=erp_values,
        crm_updated_at=crm.updated_at,
        erp_last_modified=actor.last_modified,
        crm_written_by=p.outranked_by.get(crm.changed_by),
    )
    result = merge(snapshot, rules=rules, no_blank_overwrite=p.config.no_blank_overwrite)
    move = moves.Move()
    if parents is not None:
        result, move = moves.settle(result, parents)
    crm_writes = p.to_crm(moves.fields_only(result.crm_writes))
    written = dict(crm_writes.values)
    if move.crm_company is not None:
        written[moves.COMPANY_ATTR] = move.crm_company[0]
    erp_actor = None
    if result.erp_writes or move.writes_erp:
        # The actor's last_modified as read: the connector refuses the write as a conflict if the ERP changed since.
        parent = {}
        if move.erp_parent is not None:  # given members move the parent; absent ones keep it
            parent = dict(zip(("parent_type", "parent_key"), move.erp_parent, strict=True))
        erp_actor = m.Actor(
            actor_type=p.actor_type,
            erp_key=link.erp_key,
            last_modified=actor.last_modified,
            fields=moves.fields_only(result.erp_writes),
            **parent,
        )
    problems = crm_side.problems + erp_side.problems + crm_writes.problems
    if move.problem is not None:
        problems += (move.problem,)
    return Plan(link, result, written, erp_actor, problems, crm.changed_by, crm.updated_at, actor.last_modified)


def counts_of(results: Iterable[RecordResult]) -> runs.RunCounts:
    counts = runs.RunCounts()
    for result in results:
        if result.busy:  # left to the sync that held it (or to a later try)
            continue
        counts.records += 1
        counts.crm_writes += bool(result.changed_crm)
        counts.erp_writes += bool(result.changed_erp)
        counts.conflicts += len(result.conflicts)
        counts.errors += bool(result.errors) and result.state != links.LinkState.BROKEN.value
        counts.broken += result.state == links.LinkState.BROKEN.value
    return counts
