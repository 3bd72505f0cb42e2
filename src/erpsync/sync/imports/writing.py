"""Writing one page of an import's verdicts in one transaction: CRM updates, bulk creates, links and items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS
from erpsync.crm.service import create_entities_bulk, read_records, write_records
from erpsync.crm.validation import clean_many
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.storage.bulk import insert_values, one_of
from erpsync.storage.tables import Base, ErpLink, ImportItem, utcnow
from erpsync.sync import links, runs
from erpsync.sync.imports.classification import ACTION_OF_VERB, Verb, Verdict
from erpsync.sync.imports.reasons import Reason
from erpsync.sync.merge import Decision, DecisionKind, Side, same
from erpsync.sync.work import Pass


@dataclass(frozen=True)
class WrittenPage:
    verdicts: list[Verdict]
    """As stored: a create with its new entity's id, a refused value turned into a skip."""
    change_seqs: range
    """The change numbers of the entities created."""
    grown: dict[str, int]
    """Rows added per table."""
    new_links: dict[int, str]
    """Entity id -> ERP key of each link the page added."""


@dataclass
class PageWriter:
    """Writes one page of verdicts in the caller's transaction: CRM updates of linked entities, bulk creates, links
    and items. A value the CRM refuses turns its verdict into a skip with the reason."""

    session: Session
    p: Pass
    job_id: int
    run_id: int | None = None
    """The import's run: the CRM values it changes go to the run's events and the field history."""

    def write(self, verdicts: Sequence[Verdict]) -> WrittenPage:
        done = self._seen([v.erp_key for v in verdicts])
        fresh = [v for v in verdicts if v.erp_key not in done]
        updating = [v for v in fresh if _matched(v)]
        before = self._canonical(updating)
        settled = self._update(fresh)
        created, seqs = self._create([v for v in settled if v.verb is Verb.CREATE])
        settled = created + [v for v in settled if v.verb is not Verb.CREATE]
        linking = [v for v in settled if v.verb is not Verb.SKIP and not v.already_linked]
        links.bind_many(
            self.session,
            self.p.connection_id,
            self.p.entity_type,
            self.p.actor_type,
            [links.NewLink(v.entity_id or 0, v.erp_key, v.agreed) for v in linking],
            now=utcnow(),
        )
        self._items(settled)
        if before:
            self._history([v for v in settled if v.verb is Verb.LINK and v.erp_key in before], before)
        created_rows = sum(v.verb is Verb.CREATE for v in created)
        grown = {
            ENTITY_TABLES[self.p.entity_type].__tablename__: created_rows,
            ErpLink.__tablename__: len(linking),
            ImportItem.__tablename__: len(settled),
        }
        return WrittenPage(settled, seqs, grown, {v.entity_id or 0: v.erp_key for v in linking})

    @staticmethod
    def reads_back(verdicts: Sequence[Verdict]) -> bool:
        """Whether writing ``verdicts`` reads rows the write itself inserts: a matched entity's new link, for the
        history of the values the import changed. A page that does not may have its inserts sent without waiting
        (``storage.bulk.queue_inserts``)."""
        return any(_matched(v) for v in verdicts)

    def _seen(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` this job stored already (a list of keys may repeat one)."""
        query = select(ImportItem.erp_key).where(
            ImportItem.job_id == self.job_id, one_of(self.session, ImportItem.erp_key, keys)
        )
        return set(self.session.scalars(query))

    def _update(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        """Write the values of the entities matched (not linked before) in one go; one the CRM refuses is skipped."""
        writers = [v for v in verdicts if _matched(v) and v.crm_values]
        if not writers:
            return list(verdicts)
        writes = [(v.entity_id or 0, v.crm_values) for v in writers]  # matched: never None
        errors = write_records(self.session, self.p.entity_type, writes, changed_by=self.p.origin)
        refused: dict[str, ValidationError] = {}
        for verdict, error in zip(writers, errors, strict=True):
            if isinstance(error, ValidationError):
                refused[verdict.erp_key] = error
            elif error is not None:  # the entity went away meanwhile: the page fails, as any other write error
                raise error
        if not refused:
            return list(verdicts)
        return [_skipped(v, str(refused[v.erp_key])) if v.erp_key in refused else v for v in verdicts]

    def _canonical(self, verdicts: Sequence[Verdict]) -> dict[str, dict[str, m.Value]]:
        """The CRM values of the verdicts' entities, in the canonical space, by ERP key."""
        if self.run_id is None or not verdicts:
            return {}
        records = read_records(self.session, self.p.entity_type, [v.entity_id or 0 for v in verdicts])
        return {
            v.erp_key: self.p.from_crm(records[v.entity_id].values).values for v in verdicts if v.entity_id in records
        }

    def _history(self, verdicts: Sequence[Verdict], before: dict[str, dict[str, m.Value]]) -> None:
        """Each CRM value the page changed, as the run's event of its record (and so in the field history)."""
        if self.run_id is None or not verdicts:
            return
        after = self._canonical(verdicts)
        ids = [v.entity_id for v in verdicts]
        stored = self.session.scalars(
            select(ErpLink).where(
                ErpLink.connection_id == self.p.connection_id,
                ErpLink.entity_type == self.p.entity_type.value,
                one_of(self.session, ErpLink.entity_id, ids),
            )
        )
        by_entity = {link.entity_id: link for link in stored}
        for verdict in verdicts:
            old, new = before[verdict.erp_key], after.get(verdict.erp_key, {})
            decisions = [
                _imported(key, old.get(key), value) for key, value in new.items() if not same(old.get(key), value)
            ]
            link = by_entity.get(verdict.entity_id or 0)
            if decisions and link is not None:
                runs.add_event(self.session, self.run_id, runs.EventRecord(link, decisions))

    def _create(self, verdicts: Sequence[Verdict]) -> tuple[list[Verdict], range]:
        attr_of = {key: field.attr for key, field in CRM_FIELDS[self.p.entity_type].items()}
        attrs = [{attr_of[key]: value for key, value in v.crm_values.items()} for v in verdicts]
        for verdict, row in zip(verdicts, attrs, strict=True):
            if verdict.company_id is not None:
                row["company_id"] = verdict.company_id
        rows: list[dict[str, Any]] = []
        kept: list[Verdict] = []
        skipped: list[Verdict] = []
        for verdict, cleaned in zip(verdicts, clean_many(self.session, self.p.entity_type, attrs), strict=True):
            if isinstance(cleaned, InvalidFieldError):
                skipped.append(_skipped(verdict, str(cleaned)))
            else:
                rows.append(cleaned)
                kept.append(verdict)
        done = create_entities_bulk(self.session, self.p.entity_type, rows, changed_by=self.p.origin)
        created = [v.created_as(entity_id) for v, entity_id in zip(kept, done.ids, strict=True)]
        return created + skipped, done.change_seqs

    def _items(self, verdicts: Sequence[Verdict]) -> None:
        entity_type = self.p.entity_type.value
        rows = [
            (
                v.erp_key,
                ACTION_OF_VERB[v.verb],
                entity_type if v.entity_id is not None else None,
                v.entity_id,
                v.why.text if v.why else None,
                v.why.detail if v.why else None,
            )
            for v in verdicts
        ]
        insert_values(self.session, _core_table(ImportItem), _ITEM_COLUMNS, rows, {"job_id": self.job_id})


_ITEM_COLUMNS = ("erp_key", "action", "entity_type", "entity_id", "reason", "reason_detail")


def _matched(verdict: Verdict) -> bool:
    """A link to a CRM entity the page matched (not linked before): its values are written, its history kept."""
    return verdict.verb is Verb.LINK and not verdict.already_linked and verdict.entity_id is not None


def _core_table(orm_class: type[Base]) -> Table:
    """The table of an ORM class: a page's bulk inserts go through it, without the ORM's per-row bookkeeping."""
    return orm_class.metadata.tables[orm_class.__tablename__]


def _imported(key: str, old: m.Value, new: m.Value) -> Decision:
    return Decision(
        field=key,
        old=old,
        crm=old,
        erp=new,
        new=new,
        winner=Side.ERP,
        reason="import",
        written_to=Side.CRM,
        kind=DecisionKind.CONNECT,
    )


def _skipped(verdict: Verdict, message: str) -> Verdict:
    """A skip because the CRM refused a value (``message``: the CRM's own words)."""
    return Verdict(verdict.actor, Verb.SKIP, why=Reason("crm_refused", {"message": message}))
