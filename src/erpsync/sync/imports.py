"""Import from the ERP (SPEC §5.3): preview what each ERP actor would become, then import as a resumable background job.

Per actor the verdict is *link* to an existing CRM entity (its ERP key is linked already; else one unlinked entity
matches by org number, then VAT number, then email, then exact normalised name; persons within their parent's company),
*create* a CRM entity, or *skip* with the reason (ambiguous match, parent company not linked, no name). Persons are
imported under the company linked to their parent actor, so import companies first.

The run pages through the actors: every actor of the type (``changes`` from the beginning, by cursor), or the keys a
search found (``get_actors`` in batches); the next page is fetched while one is stored. Each page is decided outside
any write transaction, then stored in ONE transaction: bulk writes (ids and change numbers reserved up front, then one
``COPY`` on PostgreSQL or one ``executemany`` on SQLite per table) of the new CRM entities (tagged with the
connection's origin, so its sync does not echo them), their links, the per-actor items and the job's cursor. So
SQLite's write lock is held for one page's writes only, and a page that finds the database busy is tried again with
backoff (``busy.retrying``) instead of failing the job. A re-run after a crash resumes at the cursor, and an actor
whose key is linked is linked to, never created again: no duplicates. The actors are not counted first: a job of every
actor of its type learns its total with its last page.

Matching looks a page's values up, one query per criterion, in an index of the CRM entities that lives on disk (so
memory does not grow with the CRM): each record's keys are computed once, the entities the import creates are put in
the index as they are written, and everything else is read by change sequence each page. The per-page lookups in the
hub database (links, items, changes) stay on their indexes at any size: on PostgreSQL the import keeps the tables'
statistics current as it grows them (``LoadStatistics``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.crm.service import create_entities_bulk, delete_entity, write_records
from erpsync.crm.validation import clean_attrs
from erpsync.errors import ConflictError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.bulk import LoadStatistics, insert_rows
from erpsync.storage.db import Database
from erpsync.storage.tables import (
    ENTITY_TABLES,
    Base,
    CrmDeletion,
    ErpConnection,
    ErpLink,
    ImportItem,
    Person,
    SyncJob,
    utcnow,
)
from erpsync.sync import busy, jobs, links, locks
from erpsync.sync.engine import Engine, Pass, passes
from erpsync.sync.erp_tab import RestrictionInput, check_restrictions
from erpsync.sync.mapping import ENTITY_FOR_ACTOR
from erpsync.sync.merge import Side

PAGE_SIZE = 500
"""Actors per page of a run: one transaction each (the connector may answer fewer)."""
PREVIEW_LIMIT = 200
UNDO_LOCK_WAIT_SECONDS = 10.0


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


# --- matching -------------------------------------------------------------------------------------------------------


SEPARATORS = re.compile(r"[\s\-./]")


def _compact(text: str) -> str:
    return SEPARATORS.sub("", text).casefold()


def _name(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Criterion:
    label: str
    crm_keys: tuple[str, ...]
    normalise: Callable[[str], str]

    def key(self, values: Mapping[str, Any]) -> str | None:
        if len(self.crm_keys) == 1:  # the usual case, once per criterion and record: no list, no join
            value = values.get(self.crm_keys[0])
            text = str(value).strip() if value else ""
            return self.normalise(text) if text else None
        parts = [str(values.get(crm_key) or "").strip() for crm_key in self.crm_keys]
        return self.normalise(" ".join(parts)) if any(parts) else None


CRITERIA: dict[EntityType, tuple[Criterion, ...]] = {
    EntityType.COMPANY: (
        Criterion("org number", ("NUMBER1",), _compact),
        Criterion("VAT number", ("VATNO",), _compact),
        Criterion("email", ("EMAIL",), _name),
        Criterion("name", ("NAME",), _name),
    ),
    EntityType.PERSON: (
        Criterion("email", ("EMAIL",), _name),
        Criterion("name", ("FIRSTNAME", "LASTNAME"), _name),
    ),
    EntityType.PROJECT: (
        Criterion("number", ("NUMBER",), _compact),
        Criterion("name", ("NAME",), _name),
    ),
}

PLURAL = {EntityType.COMPANY: "companies", EntityType.PERSON: "persons", EntityType.PROJECT: "projects"}

IndexKey = tuple[int, int | None, str]
"""(criterion number, scope: a person's company or None, normalised value)."""
Hits = dict[IndexKey, set[int]]
"""The CRM entities found for each index key a page looked up."""

REFRESH_CHUNK = 2_000
"""CRM rows read (and indexed) at a time, so that refreshing the index never holds the whole CRM in memory."""
NO_SCOPE = 0  # entity ids start at 1


class CrmIndex:
    """The CRM entities of one type by each matching criterion's normalised value, in a private temporary SQLite
    database: it lives on disk with a small page cache, so memory stays flat however many entities the CRM holds, and
    a page's lookups use its index. ``refresh`` reads what changed in the CRM since the last read; ``close`` (or the
    index's collection) deletes it."""

    def __init__(self, entity_type: EntityType) -> None:
        self.entity_type = entity_type
        self.criteria = CRITERIA[entity_type]
        self._seq = 0
        self._known: list[range] = []  # change numbers of entities put by ``put_created``: not read back
        # An empty file name: SQLite's private on-disk temporary database, deleted when it is closed.
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE match_keys (number INTEGER, scope INTEGER, key TEXT, entity_id INTEGER);"
            "CREATE INDEX match_keys_lookup ON match_keys (number, key);"
            "CREATE INDEX match_keys_entity ON match_keys (entity_id);"
        )
        self._closer = weakref.finalize(self, self._db.close)

    def close(self) -> None:
        self._closer()

    def refresh(self, session: Session) -> None:
        table = ENTITY_TABLES[self.entity_type]
        fields = CRM_FIELDS[self.entity_type]
        crm_keys = sorted({key for criterion in self.criteria for key in criterion.crm_keys})
        columns = [getattr(table, fields[key].attr) for key in crm_keys]
        scope = [Person.company_id] if self.entity_type is EntityType.PERSON else []
        known = [seqs for seqs in self._known if seqs.stop - 1 > self._seq]
        query = select(table.id, table.change_seq, *scope, *columns).where(
            table.change_seq > self._seq, *(~table.change_seq.between(seqs[0], seqs[-1]) for seqs in known)
        )
        changed = session.execute(query).yield_per(REFRESH_CHUNK)
        for rows in changed.partitions():
            entities = [
                (row[0], row[2] if scope else None, dict(zip(crm_keys, row[2 + len(scope) :], strict=True)))
                for row in rows
            ]
            self._put(entities)
            self._seq = max(self._seq, max(row[1] for row in rows))
        gone = session.execute(
            select(CrmDeletion.entity_id, CrmDeletion.change_seq).where(
                CrmDeletion.entity_type == self.entity_type.value, CrmDeletion.change_seq > self._seq
            )
        ).all()
        self._drop([entity_id for entity_id, _ in gone])
        self._seq = max([self._seq, *(seq for _, seq in gone), *(seqs[-1] for seqs in known)])
        self._known = []

    def put_created(self, created: Sequence[tuple[int, int | None, Sequence[str | None]]], seqs: range) -> None:
        """Index entities just created with the change numbers ``seqs``, by their (entity id, scope, keys as ``keys``
        gave them): the next ``refresh`` does not read them back. Only for entities created in ``seqs`` and nothing
        else: anything else changed meanwhile is read by ``refresh``."""
        rows = [
            (number, scope or NO_SCOPE, key, entity_id)
            for entity_id, scope, keys in created
            for number, key in enumerate(keys)
            if key is not None
        ]
        self._db.executemany("INSERT INTO match_keys VALUES (?, ?, ?, ?)", rows)
        if seqs:
            self._known.append(seqs)

    def keys(self, values: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The normalised value of ``values`` by each criterion, in order (None where they have none)."""
        return tuple(criterion.key(values) for criterion in self.criteria)

    def _put(self, entities: Sequence[tuple[int, int | None, Mapping[str, Any]]]) -> None:
        self._drop([entity_id for entity_id, _, _ in entities])
        rows = [
            (number, scope or NO_SCOPE, key, entity_id)
            for entity_id, scope, values in entities
            for number, key in enumerate(self.keys(values))
            if key is not None
        ]
        self._db.executemany("INSERT INTO match_keys VALUES (?, ?, ?, ?)", rows)

    def _drop(self, entity_ids: Sequence[int]) -> None:
        self._db.executemany("DELETE FROM match_keys WHERE entity_id = ?", [(entity_id,) for entity_id in entity_ids])

    def find(self, wanted: Iterable[Sequence[str | None]]) -> Hits:
        """The entities that match any of the ``wanted`` keys (as ``keys`` gives them) by their criterion, in any
        scope: one lookup per criterion for them all (a page's worth)."""
        keys: dict[int, set[str]] = {}
        for values_keys in wanted:
            for number, key in enumerate(values_keys):
                if key is not None:
                    keys.setdefault(number, set()).add(key)
        hits: Hits = {}
        for number, values_of_criterion in keys.items():
            marks = ", ".join("?" * len(values_of_criterion))
            query = f"SELECT scope, key, entity_id FROM match_keys WHERE number = ? AND key IN ({marks})"  # noqa: S608
            for scope, key, entity_id in self._db.execute(query, (number, *values_of_criterion)):
                hits.setdefault((number, scope if scope != NO_SCOPE else None, key), set()).add(entity_id)
        return hits


# --- verdicts -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What to do with one actor; ``crm_values`` are written to the CRM and ``agreed`` becomes the link's values."""

    actor: m.Actor
    verb: Verb
    entity_id: int | None = None
    reason: str = ""
    crm_values: Mapping[str, m.Value] = field(default_factory=dict)
    agreed: Mapping[str, m.Value] = field(default_factory=dict)
    company_id: int | None = None
    already_linked: bool = False
    keys: tuple[str | None, ...] = ()  # its CRM values' match keys, computed once

    @property
    def erp_key(self) -> str:
        return self.actor.erp_key or ""


@dataclass(frozen=True)
class Unmatched:
    """An actor without a link yet, translated once: its CRM values are what the index is asked about, and what a
    link or a create writes."""

    actor: m.Actor
    company_id: int | None
    canonical: Mapping[str, m.Value]
    crm_values: Mapping[str, m.Value]
    keys: tuple[str | None, ...]  # by each matching criterion


@dataclass
class Classifier:
    """Decides a page's verdicts from the links of the connection and the CRM index."""

    p: Pass
    index: CrmIndex
    claimed: set[int] = field(default_factory=set)  # entities linked by this run already

    @cached_property
    def to_crm_fields(self) -> set[str]:
        return {row.erp_field for row in self.p.mapping.fields if row.synced and row.direction.writes(Side.CRM)}

    def page(self, session: Session, actors: Sequence[m.Actor]) -> list[Verdict]:
        self.index.refresh(session)
        unique = list({actor.erp_key: actor for actor in actors if actor.erp_key}.values())
        linked = links.links_by_erp_key(
            session, self.p.connection_id, self.p.actor_type, [a.erp_key or "" for a in unique]
        )
        parents = self._parents(session, unique)
        drafts = [self._draft(actor, linked.get(actor.erp_key or ""), parents) for actor in unique]
        hits = self.index.find(draft.keys for draft in drafts if isinstance(draft, Unmatched))
        verdicts = [self._verdict(draft, hits) if isinstance(draft, Unmatched) else draft for draft in drafts]
        candidates = {v.entity_id for v in verdicts if v.verb is Verb.LINK and v.entity_id}
        taken = self._linked_entities(session, candidates)
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
                ErpLink.erp_key.in_([key for _, key in keys]),
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
                ErpLink.entity_id.in_(entity_ids),
            )
        )
        return {row[0]: row[1] for row in rows}

    def _draft(
        self, actor: m.Actor, link: ErpLink | None, parents: Mapping[tuple[str, str], int]
    ) -> Verdict | Unmatched:
        if link is not None:
            return Verdict(actor, Verb.LINK, link.entity_id, "its ERP key is linked already", already_linked=True)
        company_id = None
        if self.p.entity_type is EntityType.PERSON:
            parent = (actor.parent_type.value if actor.parent_type else "", actor.parent_key or "")
            company_id = parents.get(parent)
            if company_id is None:
                return Verdict(
                    actor, Verb.SKIP, reason="its parent company is not imported or linked in this connection"
                )
        canonical = self.p.from_erp(actor.fields).values
        # Only the rows that write the CRM translate to it, so these are also the values to write.
        crm_values = self.p.translator.canonical_to_crm(canonical)
        return Unmatched(actor, company_id, canonical, crm_values, self.index.keys(crm_values))

    def _verdict(self, draft: Unmatched, hits: Hits) -> Verdict:
        actor, company_id, crm_values = draft.actor, draft.company_id, draft.crm_values
        found = self._match(draft.keys, company_id, hits)
        if found is not None:
            label, ids = found
            if len(ids) > 1:
                return Verdict(actor, Verb.SKIP, reason=f"{len(ids)} CRM {PLURAL[self.p.entity_type]} match by {label}")
            return Verdict(
                actor, Verb.LINK, next(iter(ids)), f"matched by {label}", crm_values, draft.canonical, company_id
            )
        if self.p.entity_type is not EntityType.PERSON and not str(crm_values.get("NAME") or "").strip():
            return Verdict(actor, Verb.SKIP, reason=f"no name to create a CRM {self.p.entity_type} with")
        agreed = {k: v for k, v in draft.canonical.items() if k in self.to_crm_fields}
        return Verdict(actor, Verb.CREATE, None, "", crm_values, agreed, company_id, keys=draft.keys)

    def _match(self, keys: Sequence[str | None], scope: int | None, hits: Hits) -> tuple[str, set[int]] | None:
        """The first criterion, in order, by which entities match ``keys``: its label and those entities."""
        for number, (criterion, key) in enumerate(zip(self.index.criteria, keys, strict=True)):
            ids = hits.get((number, scope, key), set()) if key is not None else set()
            if ids:
                return criterion.label, ids
        return None

    def _settle(self, draft: Verdict, taken: Mapping[int, str]) -> Verdict:
        if draft.verb is not Verb.LINK or draft.already_linked or draft.entity_id is None:
            return draft
        other = taken.get(draft.entity_id)
        if other is not None or draft.entity_id in self.claimed:
            whom = f"ERP {self.p.actor_type} {other}" if other else "another actor of this import"
            return Verdict(
                draft.actor,
                Verb.SKIP,
                reason=f"CRM {self.p.entity_type} {draft.entity_id} {draft.reason} but is linked to {whom}",
            )
        self.claimed.add(draft.entity_id)
        return draft


# --- connection and actor type --------------------------------------------------------------------------------------


def import_pass(engine: Engine, session: Session, connection: ErpConnection, actor_type: m.ActorType) -> Pass:
    """The mapping an import of ``actor_type`` follows; refused when the connection does not map that type."""
    for p in passes(engine, session, connection):
        if p.actor_type is actor_type:
            return p
    raise ValidationError(
        f"connection {connection.name!r} does not map ERP {actor_type}: switch its mapping on with synced fields first"
    )


def _pass(engine: Engine, connection_id: int, actor_type: m.ActorType) -> tuple[Pass, list[str]]:
    with engine.database.read_session() as session:
        connection = jobs.live_connection(session, connection_id)
        searchable = next(
            (list(row.searchable_json) for row in connection.actor_fields if row.actor_type == actor_type.value), []
        )
        return import_pass(engine, session, connection, actor_type), searchable


def _search(p: Pass, searchable: list[str], restrictions: Sequence[RestrictionInput], limit: int) -> list[m.Actor]:
    checked = check_restrictions(restrictions, p.erp_fields, searchable)
    return p.client.search_advanced(
        connection_id=p.connection_uuid,
        actor_type=p.actor_type,
        restrictions=checked,
        field_keys=p.field_keys,
        limit=limit,
    ).actors


# --- preview --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    erp_key: str
    label: str
    verb: Verb
    entity_id: int | None
    reason: str


def preview(
    engine: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    limit: int = PREVIEW_LIMIT,
) -> list[PreviewRow]:
    """What an import would do with each actor the search finds (or the first ``limit`` actors of the type)."""
    p, searchable = _pass(engine, connection_id, actor_type)
    if restrictions is not None:
        actors = _search(p, searchable, restrictions, limit)
    else:
        actors = p.client.changes(
            connection_id=p.connection_uuid, actor_type=actor_type, since=None, field_keys=p.field_keys, limit=limit
        ).actors
    with closing(CrmIndex(p.entity_type)) as index, engine.database.read_session() as session:
        verdicts = Classifier(p, index).page(session, actors)
    return [PreviewRow(v.erp_key, _label(v.actor), v.verb, v.entity_id, v.reason) for v in verdicts]


def _label(actor: m.Actor) -> str:
    parts = [str(actor.fields.get(key) or "") for key in ("name", "first_name", "last_name")]
    return " ".join(part for part in parts if part) or actor.erp_key or ""


# --- starting, undoing and reading an import ------------------------------------------------------------------------


def start_import(
    engine: Engine,
    connection_id: int,
    actor_type: m.ActorType,
    *,
    restrictions: Sequence[RestrictionInput] | None = None,
    erp_keys: Sequence[str] | None = None,
    user_id: int | None = None,
) -> SyncJob:
    """Queue an import: every actor of the type, the actors a search finds, or the given keys (the ticked rows; with
    a search, only those of its hits)."""
    p, searchable = _pass(engine, connection_id, actor_type)
    keys: list[str] | None = list(dict.fromkeys(erp_keys)) if erp_keys is not None else None
    if restrictions is not None:
        found = [actor.erp_key or "" for actor in _search(p, searchable, restrictions, m.MAX_LIMIT)]
        keys = found if keys is None else [key for key in found if key in set(keys)]
    job = SyncJob(
        kind=jobs.JobKind.IMPORT.value,
        connection_id=connection_id,
        actor_type=actor_type.value,
        keys_json=keys,
        criteria_json=[vars(r) for r in restrictions or []],
        total=None if keys is None else len(keys),
        created_by=user_id,
    )
    with engine.database.session() as session:
        return jobs.add_job(session, job)


@dataclass(frozen=True)
class ImportResult:
    job: SyncJob
    created: list[ImportItem]
    linked: list[ImportItem]
    skipped: list[ImportItem]


def import_result(session: Session, job_id: int) -> ImportResult:
    job = jobs.get_job(session, job_id, kind=jobs.JobKind.IMPORT)
    items = session.scalars(select(ImportItem).where(ImportItem.job_id == job_id).order_by(ImportItem.id)).all()
    by_action = {action: [item for item in items if item.action == action.value] for action in ItemAction}
    return ImportResult(job, by_action[ItemAction.CREATED], by_action[ItemAction.LINKED], by_action[ItemAction.SKIPPED])


def undo_import(database: Database, job_id: int) -> int:
    """Delete the CRM entities the import created (their links go with them); returns how many were deleted.
    Nothing is deleted in the ERP. Holds the connection's lease, so no sync works on them meanwhile."""
    with database.read_session() as session:
        job = jobs.get_job(session, job_id, kind=jobs.JobKind.IMPORT)
    if job.status in jobs.ACTIVE or job.status == jobs.JobStatus.UNDONE.value:
        raise ConflictError(f"import {job_id} is {job.status}: only a finished import can be undone")
    with (
        locks.held(database, locks.connection_lock(job.connection_id), wait=UNDO_LOCK_WAIT_SECONDS),
        database.session() as session,
    ):
        entity_type = ENTITY_FOR_ACTOR[m.ActorType(job.actor_type or "")]
        created = session.scalars(
            select(ImportItem.entity_id).where(
                ImportItem.job_id == job_id, ImportItem.action == ItemAction.CREATED.value
            )
        ).all()
        deleted = 0
        for entity_id in created:
            if entity_id is None or session.get(ENTITY_TABLES[entity_type], entity_id) is None:
                continue  # deleted meanwhile
            links.remove_entity_links(session, entity_type, entity_id, connection_id=job.connection_id)
            delete_entity(session, entity_type, entity_id, changed_by=f"import-undo:{job_id}")
            deleted += 1
        stored = jobs.get_job(session, job_id)
        stored.status, stored.undone_at = jobs.JobStatus.UNDONE.value, utcnow()
    return deleted


# --- the run --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedPage:
    """One page of a job's actors as the ERP gave them, and the job's cursor after it."""

    actors: Sequence[m.Actor]
    cursor: str | None
    last: bool
    missing: Sequence[m.Actor] = ()


class Prefetch:
    """Fetches the page at ``cursor`` in a thread of its own, so the connector works while the hub stores the page
    before it; ``result`` waits for it (and raises what the fetch raised)."""

    def __init__(self, cursor: str | None, fetch: Callable[[str | None], FetchedPage | None]) -> None:
        self.cursor = cursor
        self._fetch = fetch
        self._page: FetchedPage | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="import-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._page = self._fetch(self.cursor)
        except Exception as error:  # raised again in the thread that waits for the page
            self._error = error

    def result(self) -> FetchedPage | None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._page


@dataclass
class ImportPager:
    """Pages through the job's actors; each page's verdicts are stored in one transaction with the cursor. The next
    page is fetched while one is stored (it is used only if the job's cursor is still the one it was fetched at)."""

    engine: Engine
    p: Pass
    classifier: Classifier
    job_id: int
    ahead: Prefetch | None = None
    statistics: LoadStatistics = field(default_factory=LoadStatistics)

    def next_page(self, job: SyncJob, run_id: int) -> bool:
        keys = job.keys_json
        ahead, self.ahead = self.ahead, None
        page = ahead.result() if ahead is not None and ahead.cursor == job.cursor else self._fetch(keys, job.cursor)
        if page is None:
            return True
        if not page.last:
            self.fetch_ahead(keys, page.cursor)
        self._store(page.actors, run_id, page.cursor, last=page.last, missing=page.missing)
        return page.last

    def fetch_ahead(self, keys: Sequence[object] | None, cursor: str | None) -> None:
        self.ahead = Prefetch(cursor, lambda at: self._fetch(keys, at))

    def _fetch(self, keys: Sequence[object] | None, cursor: str | None) -> FetchedPage | None:
        """The page at ``cursor``: of every actor of the type, or of the job's ``keys`` (None when none are left)."""
        if keys is None:
            page = self.p.client.changes(
                connection_id=self.p.connection_uuid,
                actor_type=self.p.actor_type,
                since=None,
                field_keys=self.p.field_keys,
                cursor=cursor,
                limit=PAGE_SIZE,
            )
            return FetchedPage(page.actors, page.next_cursor, page.next_cursor is None)
        start = int(cursor or 0)
        chunk = [str(key) for key in keys[start : start + PAGE_SIZE]]
        if not chunk:
            return None
        found = self.p.client.get_actors(
            connection_id=self.p.connection_uuid,
            actor_type=self.p.actor_type,
            erp_keys=chunk,
            field_keys=self.p.field_keys,
        )
        missing = [m.Actor(actor_type=self.p.actor_type, erp_key=key) for key in found.not_found]
        end = start + len(chunk)
        return FetchedPage(found.actors, str(end), end >= len(keys), missing)

    def _store(
        self, actors: Sequence[m.Actor], run_id: int, cursor: str | None, *, last: bool, missing: Sequence[m.Actor] = ()
    ) -> None:
        database = self.engine.database
        with database.read_session() as session:
            verdicts = self.classifier.page(session, actors)
        verdicts += [Verdict(actor, Verb.SKIP, reason="not found in the ERP") for actor in missing]
        written = busy.retrying(lambda: self._write(verdicts, run_id, cursor, last), what=f"import {self.job_id}")
        self.classifier.index.put_created(
            [(v.entity_id, v.company_id, v.keys) for v in written.verdicts if v.verb is Verb.CREATE and v.entity_id],
            written.change_seqs,
        )
        for table, rows in written.grown.items():
            self.statistics.grew(table, rows)
        if database.dialect == "postgresql":  # SQLite plans its lookups on the indexes without statistics
            busy.retrying(self._analyse, what=f"import {self.job_id}")

    def _write(self, verdicts: Sequence[Verdict], run_id: int, cursor: str | None, last: bool) -> WrittenPage:
        """The page in ONE transaction, with the job's cursor and counts; tried again as a whole while the database
        is busy (the verdicts are decided once, outside it, so SQLite's write lock is held only for the writes)."""
        with self.engine.database.session() as session:
            written = PageWriter(session, self.p, self.job_id).write(verdicts)
            stored = written.verdicts
            counts = jobs.PageCounts(
                processed=len(stored),
                created=sum(v.verb is Verb.CREATE for v in stored),
                linked=sum(v.verb is Verb.LINK for v in stored),
                skipped=sum(v.verb is Verb.SKIP for v in stored),
            )
            jobs.advance(session, self.job_id, run_id, cursor=cursor, counts=counts, last=last)
        return written

    def _analyse(self) -> None:
        with self.engine.database.session() as session:
            self.statistics.keep_current(session)


@dataclass(frozen=True)
class WrittenPage:
    verdicts: list[Verdict]
    """As stored: a create with its new entity's id, a refused value turned into a skip."""
    change_seqs: range
    """The change numbers of the entities created."""
    grown: dict[str, int]
    """Rows added per table."""


@dataclass
class PageWriter:
    """Writes one page of verdicts in the caller's transaction: CRM updates of linked entities, bulk creates, links
    and items. A value the CRM refuses turns its verdict into a skip with the reason."""

    session: Session
    p: Pass
    job_id: int

    def write(self, verdicts: Sequence[Verdict]) -> WrittenPage:
        done = self._seen([v.erp_key for v in verdicts])
        fresh = [v for v in verdicts if v.erp_key not in done]
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
        created_rows = sum(v.verb is Verb.CREATE for v in created)
        grown = {
            ENTITY_TABLES[self.p.entity_type].__tablename__: created_rows,
            ErpLink.__tablename__: len(linking),
            ImportItem.__tablename__: len(settled),
        }
        return WrittenPage(settled, seqs, grown)

    def _seen(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` this job stored already (a list of keys may repeat one)."""
        query = select(ImportItem.erp_key).where(ImportItem.job_id == self.job_id, ImportItem.erp_key.in_(keys))
        return set(self.session.scalars(query))

    def _update(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        """Write the values of the entities matched (not linked before) in one go; one the CRM refuses is skipped."""
        writers = [
            (v, v.entity_id)
            for v in verdicts
            if v.verb is Verb.LINK and not v.already_linked and v.entity_id is not None and v.crm_values
        ]
        writes = [(entity_id, v.crm_values) for v, entity_id in writers]
        errors = write_records(self.session, self.p.entity_type, writes, changed_by=self.p.origin)
        refused: dict[str, ValidationError] = {}
        for (verdict, _), error in zip(writers, errors, strict=True):
            if isinstance(error, ValidationError):
                refused[verdict.erp_key] = error
            elif error is not None:  # the entity went away meanwhile: the page fails, as any other write error
                raise error
        return [
            _skipped(v, f"the CRM refused a value: {refused[v.erp_key]}") if v.erp_key in refused else v
            for v in verdicts
        ]

    def _create(self, verdicts: Sequence[Verdict]) -> tuple[list[Verdict], range]:
        fields = CRM_FIELDS[self.p.entity_type]
        rows: list[dict[str, Any]] = []
        kept: list[Verdict] = []
        skipped: list[Verdict] = []
        for verdict in verdicts:
            attrs = {fields[key].attr: value for key, value in verdict.crm_values.items()}
            if verdict.company_id is not None:
                attrs["company_id"] = verdict.company_id
            try:
                rows.append(clean_attrs(self.session, self.p.entity_type, attrs))
                kept.append(verdict)
            except InvalidFieldError as error:
                skipped.append(_skipped(verdict, f"the CRM refused a value: {error}"))
        done = create_entities_bulk(self.session, self.p.entity_type, rows, changed_by=self.p.origin)
        created = [replace(v, entity_id=entity_id) for v, entity_id in zip(kept, done.ids, strict=True)]
        return created + skipped, done.change_seqs

    def _items(self, verdicts: Sequence[Verdict]) -> None:
        entity_type, job_id = self.p.entity_type.value, self.job_id
        rows = [
            {
                "job_id": job_id,
                "erp_key": v.erp_key,
                "action": ACTION_OF_VERB[v.verb],
                "entity_type": entity_type if v.entity_id is not None else None,
                "entity_id": v.entity_id,
                "reason": v.reason or None,
            }
            for v in verdicts
        ]
        insert_rows(self.session, _core_table(ImportItem), rows)


def _core_table(orm_class: type[Base]) -> Table:
    """The table of an ORM class: a page's bulk inserts go through it, without the ORM's per-row bookkeeping."""
    return orm_class.metadata.tables[orm_class.__tablename__]


def _skipped(verdict: Verdict, reason: str) -> Verdict:
    return Verdict(verdict.actor, Verb.SKIP, reason=reason)


def import_pager(engine: Engine, job: SyncJob) -> ImportPager:
    """The pager of an import job. The actors are not counted first (that would be a whole extra pass over the
    connector): a job of every actor of its type learns its total when its last page is stored."""
    p, _ = _pass(engine, job.connection_id, m.ActorType(job.actor_type or ""))
    pager = ImportPager(engine, p, Classifier(p, CrmIndex(p.entity_type)), job.id)
    pager.fetch_ahead(job.keys_json, job.cursor)
    return pager


def run_import(engine: Engine, job_id: int, **options: Any) -> SyncJob | None:
    """Run or resume an import job (``jobs.run_job`` options: ``lease_ttl``, ``progress``)."""
    return jobs.run_job(engine, job_id, import_pager, **options)
