"""Classifying an import's actors: the verdict per actor (link, create or skip), decided from the connection's links
and the CRM index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.storage.bulk import one_of
from erpsync.storage.tables import ErpLink
from erpsync.sync import links
from erpsync.sync.crossings import Crossed, Crossings
from erpsync.sync.imports.reasons import Reason
from erpsync.sync.mapping.translation import Crossing
from erpsync.sync.match_keys import PLURAL
from erpsync.sync.matching import CrmIndex, Hits
from erpsync.sync.work import Pass


class Verb(StrEnum):
    CREATE = "create"
    LINK = "link"
    SKIP = "skip"


class ItemAction(StrEnum):
    CREATED = "created"
    LINKED = "linked"
    SKIPPED = "skipped"


ACTION_OF_VERB = {
    Verb.CREATE: ItemAction.CREATED.value,
    Verb.LINK: ItemAction.LINKED.value,
    Verb.SKIP: ItemAction.SKIPPED.value,
}


# --- verdicts -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Verdict:
    """What to do with one actor; ``crm_values`` are written to the CRM and ``agreed`` becomes the link's values.
    Never changed once made (not frozen: a frozen dataclass costs a few times more to make, and an import makes one
    or two per record)."""

    actor: m.Actor
    verb: Verb
    entity_id: int | None = None
    why: Reason | None = None  # the reason of a link or a skip
    crm_values: Mapping[str, m.Value] = field(default_factory=dict)
    agreed: Mapping[str, m.Value] = field(default_factory=dict)
    company_id: int | None = None
    already_linked: bool = False
    keys: tuple[str | None, ...] = ()  # its CRM values' match keys, computed once

    @property
    def erp_key(self) -> str:
        return self.actor.erp_key or ""

    def created_as(self, entity_id: int) -> Verdict:
        """This create, done: the entity it made (what ``dataclasses.replace`` gives, without its cost per record)."""
        return Verdict(
            self.actor,
            self.verb,
            entity_id,
            self.why,
            self.crm_values,
            self.agreed,
            self.company_id,
            self.already_linked,
            self.keys,
        )


@dataclass(slots=True)
class Unmatched:
    """An actor without a link yet, translated once: its CRM values are what the index is asked about, and what a
    link or a create writes (never changed once made)."""

    actor: m.Actor
    company_id: int | None
    crossing: Crossing
    keys: tuple[str | None, ...]  # by each matching criterion


@dataclass
class Classifier:
    """Decides a page's verdicts from the links of the connection and the CRM index."""

    p: Pass
    index: CrmIndex
    claimed: set[int] = field(default_factory=set)  # entities linked by this run already
    in_flight: dict[int, str] = field(default_factory=dict)
    """Entity id -> ERP key of the links a page written and not committed yet holds (``paging.SentPage``): linked
    already for the page after it, which is classified meanwhile."""

    def page(
        self, session: Session, actors: Sequence[m.Actor], crossed: Sequence[Crossed | None] = ()
    ) -> list[Verdict]:
        """The verdicts of a page's ``actors`` (each key once); ``crossed``: what the page reader computed of each
        (``sync.crossings``), computed here for those it did not."""
        self.index.refresh(session)
        ahead = crossed or [None] * len(actors)
        pairs = {actor.erp_key: (actor, done) for actor, done in zip(actors, ahead, strict=True) if actor.erp_key}
        unique = [actor for actor, _ in pairs.values()]
        linked = links.links_by_erp_key(
            session, self.p.connection_id, self.p.actor_type, [a.erp_key or "" for a in unique]
        )
        parents = self._parents(session, unique)
        drafts = [self._draft(actor, linked.get(actor.erp_key or ""), parents, done) for actor, done in pairs.values()]
        hits = self.index.find(session, (draft.keys for draft in drafts if isinstance(draft, Unmatched)))
        verdicts = [self._verdict(draft, hits) if isinstance(draft, Unmatched) else draft for draft in drafts]
        candidates = {v.entity_id for v in verdicts if v.verb is Verb.LINK and v.entity_id}
        taken = {entity_id: key for entity_id, key in self.in_flight.items() if entity_id in candidates}
        taken.update(self._linked_entities(session, candidates))
        return [self._settle(verdict, taken) for verdict in verdicts]

    def _parents(self, session: Session, actors: Sequence[m.Actor]) -> dict[tuple[str, str], int]:
        """The CRM company of each parent actor linked in this connection."""
        if self.p.entity_type is not EntityType.PERSON:
            return {}
        keys = {(a.parent_type.value, a.parent_key) for a in actors if a.parent_type is not None and a.parent_key}
        if not keys:
            return {}
        rows = session.execute(
            select(ErpLink.actor_type, ErpLink.erp_key, ErpLink.entity_id).where(
                ErpLink.connection_id == self.p.connection_id,
                ErpLink.entity_type == EntityType.COMPANY.value,
                one_of(session, ErpLink.erp_key, [key for _, key in keys]),
            )
        )
        return {(row[0], row[1]): row[2] for row in rows if (row[0], row[1]) in keys}

    def _linked_entities(self, session: Session, entity_ids: set[int]) -> dict[int, str]:
        if not entity_ids:
            return {}
        rows = session.execute(
            select(ErpLink.entity_id, ErpLink.erp_key).where(
                ErpLink.connection_id == self.p.connection_id,
                ErpLink.entity_type == self.p.entity_type.value,
                one_of(session, ErpLink.entity_id, entity_ids),
            )
        )
        return {row[0]: row[1] for row in rows}

    def _draft(
        self, actor: m.Actor, link: ErpLink | None, parents: Mapping[tuple[str, str], int], crossed: Crossed | None
    ) -> Verdict | Unmatched:
        if link is not None:
            return Verdict(actor, Verb.LINK, link.entity_id, Reason("linked_already"), already_linked=True)
        if not (crossed.inside if crossed is not None else self.crossings.inside(actor.fields)):
            return Verdict(actor, Verb.SKIP, why=Reason("outside_filter"))
        company_id = None
        if self.p.entity_type is EntityType.PERSON:
            parent = (actor.parent_type.value if actor.parent_type else "", actor.parent_key or "")
            company_id = parents.get(parent)
            if company_id is None:
                return Verdict(actor, Verb.SKIP, why=Reason("parent_missing"))
        # Only the rows that write the CRM translate to it, so the crossing's CRM values are also the values to write.
        if crossed is not None:
            return Unmatched(actor, company_id, crossed.crossing, crossed.keys)
        return Unmatched(actor, company_id, *self.crossings.crossing(actor.fields))

    @cached_property
    def crossings(self) -> Crossings:
        """What the page's actors are worth each on its own, by the job's mapping and the index's criteria."""
        return Crossings(self.p.translator, self.p.mapping.sync_filter.erp, self.index.criteria)

    def _verdict(self, draft: Unmatched, hits: Hits) -> Verdict:
        actor, company_id, (canonical, agreed, crm_values) = draft.actor, draft.company_id, draft.crossing
        found = self._match(draft.keys, company_id, hits)
        if found is not None:
            label, ids = found
            label = label.lower().replace(" ", "_")  # the criterion's key (sync.imports.reasons)
            if len(ids) > 1:
                several: dict[str, str | int] = {
                    "count": len(ids),
                    "entities": PLURAL[self.p.entity_type],
                    "criterion": label,
                }
                return Verdict(actor, Verb.SKIP, why=Reason("several_match", several))
            matched = Reason("matched_by", {"criterion": label})
            return Verdict(actor, Verb.LINK, next(iter(ids)), matched, crm_values, canonical, company_id)
        if self.p.entity_type is not EntityType.PERSON and not str(crm_values.get("NAME") or "").strip():
            return Verdict(actor, Verb.SKIP, why=Reason("no_name", {"entity": self.p.entity_type.value}))
        return Verdict(actor, Verb.CREATE, None, None, crm_values, agreed, company_id, keys=draft.keys)

    def _match(self, keys: Sequence[str | None], scope: int | None, hits: Hits) -> tuple[str, set[int]] | None:
        """The first criterion, in order, by which entities match ``keys``: its label and those entities."""
        if not hits:  # nothing matched on the page (a first import): no lookup per record and criterion
            return None
        for number, key in enumerate(keys):
            if key is not None and (ids := hits.get((number, scope, key))):
                return self.index.criteria[number].label, ids
        return None

    def _settle(self, draft: Verdict, taken: Mapping[int, str]) -> Verdict:
        if draft.verb is not Verb.LINK or draft.already_linked or draft.entity_id is None:
            return draft
        other = taken.get(draft.entity_id)
        if other is not None or draft.entity_id in self.claimed:
            criterion = draft.why.values.get("criterion", "") if draft.why else ""
            values = {"entity": self.p.entity_type.value, "criterion": criterion, "actor_type": self.p.actor_type.value}
            return Verdict(draft.actor, Verb.SKIP, why=Reason("taken_by_erp" if other else "taken_in_import", values))
        self.claimed.add(draft.entity_id)
        return draft
