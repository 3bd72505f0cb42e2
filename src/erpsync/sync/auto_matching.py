"""What automatic creation does with an unlinked ERP actor (docs/concepts.md *Automatic creation*): its verdict, from
the chosen match keys (``sync.matching``), the sync filter, the review list and the connection's links.

Reads only, so the engine and the preview decide alike: exactly one candidate by the chosen keys links, none creates,
several (or only a similar name, or a candidate linked to another actor) go to the review list; a record outside the
sync filter, a person whose company is not linked yet, a record without a name or with a value the CRM refuses is
stopped, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.crm.service import CrmRecord, read_records
from erpsync.crm.validation import clean_attrs
from erpsync.protocol import models as m
from erpsync.storage.bulk import one_of
from erpsync.storage.tables import AutoReview, ErpLink
from erpsync.sync import filters
from erpsync.sync.match_keys import SIMILAR, Criterion, auto_criteria
from erpsync.sync.matching import CrmIndex, Hits
from erpsync.sync.merge import Side
from erpsync.sync.work import Pass

ERP_SIDE = "erp"
CRM_SIDE = "crm"
OPEN = "open"
WAITING = "waiting"
"""A person whose company is not linked yet: kept on the list (not for a decision) and tried again each run."""
PARENT_MISSING = "its company is not linked yet"


class AutoVerb(StrEnum):
    LINK = "link"
    CREATE = "create"
    REVIEW = "review"
    STOP = "stop"
    DECIDED = "decided"  # a person decided on it in the review list (ignored, or linked or created by hand)


class ReviewReason(StrEnum):
    SEVERAL = "several"  # several candidates by the chosen keys
    SIMILAR = "similar"  # no candidate by the chosen keys, but a similar name
    TAKEN = "taken"  # the one candidate is linked to another record already
    PARENT = "parent"  # a person waiting for its company to be linked (status ``WAITING``)


@dataclass(frozen=True)
class Candidate:
    key: str  # a CRM entity id (as text) or an ERP key
    label: str
    criterion: str


@dataclass(frozen=True)
class AutoVerdict:
    """What automatic creation does with one record; ``crm_values`` are written to the CRM and ``agreed`` becomes the
    link's values."""

    record_key: str
    label: str
    verb: AutoVerb
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()
    entity_id: int | None = None
    crm_values: Mapping[str, m.Value] = field(default_factory=dict)
    agreed: Mapping[str, m.Value] = field(default_factory=dict)
    company_id: int | None = None


def crm_label(entity_type: EntityType, values: Mapping[str, object]) -> str:
    keys = ("FIRSTNAME", "LASTNAME") if entity_type is EntityType.PERSON else ("NAME",)
    return " ".join(str(values.get(key) or "").strip() for key in keys).strip()


def decided_reviews(session: Session, p: Pass, side: str, keys: Sequence[str]) -> dict[str, str]:
    """The status of the review items of ``keys`` (records of ``side``) that exist; a waiting person is not one."""
    if not keys:
        return {}
    rows = session.execute(
        select(AutoReview.record_key, AutoReview.status).where(
            AutoReview.connection_id == p.connection_id,
            AutoReview.actor_type == p.actor_type.value,
            AutoReview.side == side,
            one_of(session, AutoReview.record_key, keys),
            AutoReview.status != WAITING,
        )
    )
    return {row[0]: row[1] for row in rows}


def waiting_keys(session: Session, p: Pass, side: str) -> list[str]:
    """The records of ``side`` that wait for their company to be linked."""
    query = select(AutoReview.record_key).where(
        AutoReview.connection_id == p.connection_id,
        AutoReview.actor_type == p.actor_type.value,
        AutoReview.side == side,
        AutoReview.status == WAITING,
    )
    return list(session.scalars(query.order_by(AutoReview.id)))


@dataclass
class _Draft:
    actor: m.Actor
    company_id: int | None
    canonical: Mapping[str, m.Value]
    crm_values: Mapping[str, m.Value]
    keys: tuple[str | None, ...]


@dataclass
class ErpMatcher:
    """Decides the verdicts of one actor type's unlinked ERP actors, page by page; the CRM index is built on first
    use and read incrementally after."""

    p: Pass
    claimed: set[int] = field(default_factory=set)  # entities linked by this run already
    _index: CrmIndex | None = None

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        chosen = auto_criteria(self.p.entity_type, self.p.mapping.auto_create.match)
        return (*chosen, SIMILAR[self.p.entity_type])

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    def decide(self, session: Session, actors: Sequence[m.Actor]) -> list[AutoVerdict]:
        """The verdict of each of ``actors`` (unlinked ERP actors of the pass's type); reads only."""
        if self._index is None:
            self._index = CrmIndex(self.p.entity_type, self.criteria)
        self._index.refresh(session)
        decided = decided_reviews(session, self.p, ERP_SIDE, [a.erp_key or "" for a in actors])
        parents = erp_parents(session, self.p, actors)
        verdicts: list[AutoVerdict] = []
        drafts: list[_Draft] = []
        for actor in actors:
            early = self._early(actor, decided.get(actor.erp_key or ""), parents)
            if isinstance(early, AutoVerdict):
                verdicts.append(early)
            else:
                drafts.append(early)
        hits = self._index.find(session, (draft.keys for draft in drafts))
        candidates = {entity_id for ids in hits.values() for entity_id in ids}
        taken = _linked_entities(session, self.p, candidates)
        labels = {key: crm_label(self.p.entity_type, r.values) for key, r in self._records(session, hits).items()}
        return verdicts + [self._verdict(session, draft, hits, taken, labels) for draft in drafts]

    def _records(self, session: Session, hits: Hits) -> dict[int, CrmRecord]:
        ids = {entity_id for found in hits.values() for entity_id in found}
        return read_records(session, self.p.entity_type, ids) if ids else {}

    def _early(
        self, actor: m.Actor, status: str | None, parents: Mapping[tuple[str, str], int]
    ) -> AutoVerdict | _Draft:
        p, key = self.p, actor.erp_key or ""
        canonical = p.from_erp(actor.fields).values
        crm_values = p.translator.canonical_to_crm(canonical)
        label = crm_label(p.entity_type, crm_values) or key
        if status is not None:
            verb = AutoVerb.REVIEW if status == OPEN else AutoVerb.DECIDED
            return AutoVerdict(key, label, verb, reason=status)
        if outside := filters.outside_reason(p.mapping.sync_filter, actor.fields, crm_values):
            return AutoVerdict(key, label, AutoVerb.STOP, reason=outside)
        company_id = None
        if p.entity_type is EntityType.PERSON:
            parent = (actor.parent_type.value if actor.parent_type else "", actor.parent_key or "")
            company_id = parents.get(parent)
            if company_id is None:
                return AutoVerdict(key, label, AutoVerb.STOP, reason=PARENT_MISSING)
        elif not str(crm_values.get("NAME") or "").strip():
            return AutoVerdict(key, label, AutoVerb.STOP, reason="it has no name")
        keys = tuple(criterion.erp_key(actor.fields, crm_values) for criterion in self.criteria)
        return _Draft(actor, company_id, canonical, crm_values, keys)

    def _verdict(
        self, session: Session, draft: _Draft, hits: Hits, taken: Mapping[int, str], labels: Mapping[int, str]
    ) -> AutoVerdict:
        key = draft.actor.erp_key or ""
        label = crm_label(self.p.entity_type, draft.crm_values) or key
        exact, similar = self._found(draft, hits)
        if len(exact) == 1:
            ((entity_id, criterion),) = exact.items()
            if entity_id in taken or entity_id in self.claimed:
                one = (Candidate(str(entity_id), labels.get(entity_id, ""), criterion),)
                return AutoVerdict(key, label, AutoVerb.REVIEW, ReviewReason.TAKEN, one)
            self.claimed.add(entity_id)
            return writing(self.p, draft.actor, AutoVerb.LINK, criterion, entity_id, draft.company_id)
        found_in = exact or similar
        if found_in:
            reason = ReviewReason.SEVERAL if exact else ReviewReason.SIMILAR
            found = tuple(Candidate(str(i), labels.get(i, ""), c) for i, c in sorted(found_in.items()))
            return AutoVerdict(key, label, AutoVerb.REVIEW, reason, found)
        refused = self._refused(session, draft)
        if refused is not None:
            return AutoVerdict(key, label, AutoVerb.STOP, reason=refused)
        return writing(self.p, draft.actor, AutoVerb.CREATE, "", None, draft.company_id)

    def _found(self, draft: _Draft, hits: Hits) -> tuple[dict[int, str], dict[int, str]]:
        """The candidates by the chosen keys and those by a similar name, each with the criterion that found it."""
        exact: dict[int, str] = {}
        similar: dict[int, str] = {}
        last = len(self.criteria) - 1
        for number, (criterion, value) in enumerate(zip(self.criteria, draft.keys, strict=True)):
            if value is None:
                continue
            for entity_id in hits.get((number, draft.company_id, value), set()):
                (similar if number == last else exact).setdefault(entity_id, criterion.code)
        return exact, similar

    def _refused(self, session: Session, draft: _Draft) -> str | None:
        """Why the CRM would refuse to create the record, or None."""
        fields = CRM_FIELDS[self.p.entity_type]
        attrs = {fields[k].attr: v for k, v in draft.crm_values.items()}
        if draft.company_id is not None:
            attrs["company_id"] = draft.company_id
        try:
            clean_attrs(session, self.p.entity_type, attrs)
        except InvalidFieldError as error:
            return str(error)
        return None


def writing(
    p: Pass, actor: m.Actor, verb: AutoVerb, reason: str, entity_id: int | None, company_id: int | None
) -> AutoVerdict:
    """A link or a create of ``actor``: the CRM values to write (the ERP's, as on an import's link) and the values the
    link agrees on."""
    canonical = p.from_erp(actor.fields).values
    crm_values = p.translator.canonical_to_crm(canonical)
    to_crm = {row.erp_field for row in p.mapping.fields if row.synced and row.direction.writes(Side.CRM)}
    agreed = {k: v for k, v in canonical.items() if k in to_crm}
    key = actor.erp_key or ""
    label = crm_label(p.entity_type, crm_values) or key
    return AutoVerdict(key, label, verb, reason, (), entity_id, crm_values, agreed, company_id)


def erp_parents(session: Session, p: Pass, actors: Sequence[m.Actor]) -> dict[tuple[str, str], int]:
    """The CRM company of each parent actor linked in this connection."""
    if p.entity_type is not EntityType.PERSON:
        return {}
    keys = {(a.parent_type.value, a.parent_key) for a in actors if a.parent_type is not None and a.parent_key}
    if not keys:
        return {}
    rows = session.execute(
        select(ErpLink.actor_type, ErpLink.erp_key, ErpLink.entity_id).where(
            ErpLink.connection_id == p.connection_id,
            ErpLink.entity_type == EntityType.COMPANY.value,
            one_of(session, ErpLink.erp_key, [key for _, key in keys]),
        )
    )
    return {(row[0], row[1]): row[2] for row in rows if (row[0], row[1]) in keys}


def _linked_entities(session: Session, p: Pass, entity_ids: set[int]) -> dict[int, str]:
    """The ERP key each of ``entity_ids`` is linked to in the connection, if any."""
    if not entity_ids:
        return {}
    rows = session.execute(
        select(ErpLink.entity_id, ErpLink.erp_key).where(
            ErpLink.connection_id == p.connection_id,
            ErpLink.entity_type == p.entity_type.value,
            one_of(session, ErpLink.entity_id, entity_ids),
        )
    )
    return {row[0]: row[1] for row in rows}
