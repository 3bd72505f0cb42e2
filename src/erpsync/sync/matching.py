"""Matching ERP actors to CRM entities, for imports and automatic creation: an index of the CRM entities by the
criteria's normalised keys (the criteria and their keys are ``sync.match_keys``)."""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from erpsync.crm.changes import current_watermark
from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.storage.bulk import one_of
from erpsync.storage.tables import Person
from erpsync.sync.match_keys import CRITERIA, Criterion

IndexKey = tuple[int, int | None, str]
"""(criterion number, scope: a person's company or None, normalised value)."""
Hits = dict[IndexKey, set[int]]
"""The CRM entities found for each index key a page looked up."""

REFRESH_CHUNK = 2_000
"""CRM rows read (and indexed) at a time, so that refreshing the index never holds the whole CRM in memory."""
EMPTY = 0
"""A free slot of ``KeyTable`` (a key hashing to 0 is stored as 1)."""
EXPECTED_AT_MOST = 250_000
"""Entities ``CrmIndex.expect`` makes room for at most (a table of 16 MB for three keys each)."""
MAX_LOAD = 0.75
"""How full ``KeyTable`` gets before it doubles: a key it does not hold (most of an import's) is about three probes."""


class KeyTable:
    """Entity ids by the 64-bit hash of a key, in two arrays of 8-byte integers (open addressing, linear probing):
    16 bytes a slot, 21-43 a key held (it doubles when three quarters full), where a dict of the same would take some
    100 bytes a key. Keys are hashed by Python's ``hash``, salted per process, which is all the table needs: it lives
    in the process. A hash says only that an entity MAY have the key (two keys may share one): its holder checks."""

    __slots__ = ("_count", "_hashes", "_ids", "_mask")

    def __init__(self, capacity: int = 1_024) -> None:
        self._hashes = array("q", bytes(8 * capacity))
        self._ids = array("q", bytes(8 * capacity))
        self._mask = capacity - 1  # a power of two
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        """The slots the table has (it doubles when three quarters of them are taken)."""
        return self._mask + 1

    def add(self, entries: Collection[tuple[int, int]]) -> None:
        """Hold each (hash, entity id) of ``entries``, once however often it is added."""
        self.reserve(self._count + len(entries))
        self._place(entries)

    def reserve(self, keys: int) -> None:
        """Room for ``keys`` keys in all, made now: at once rather than doubling the way there, each time placing
        everything held again."""
        if keys > MAX_LOAD * self.capacity:
            self._grow(keys)

    def get(self, h: int) -> list[int]:
        """The entities held under the hash ``h``."""
        hashes, ids, mask = self._hashes, self._ids, self._mask
        h = h or 1
        slot, found = h & mask, []
        while stored := hashes[slot]:
            if stored == h:
                found.append(ids[slot])
            slot = (slot + 1) & mask
        return found

    def _place(self, entries: Iterable[tuple[int, int]]) -> None:
        """The probing loop, written out: an import puts three keys a record, and this is the whole cost of it."""
        hashes, ids, mask, added = self._hashes, self._ids, self._mask, 0
        for h, entity_id in entries:
            h = h or 1
            slot = h & mask
            while stored := hashes[slot]:
                if stored == h and ids[slot] == entity_id:
                    break
                slot = (slot + 1) & mask
            else:
                hashes[slot], ids[slot] = h, entity_id
                added += 1
        self._count += added

    def _grow(self, wanted: int) -> None:
        """Double the table until ``wanted`` keys fit, placing what it holds again (the old arrays are let go)."""
        capacity = self.capacity
        while wanted > MAX_LOAD * capacity:
            capacity *= 2
        held = compress(zip(self._hashes, self._ids, strict=True), self._hashes)  # the slots not EMPTY
        self._hashes, self._ids = array("q", bytes(8 * capacity)), array("q", bytes(8 * capacity))
        self._mask, self._count = capacity - 1, 0
        self._place(held)


@dataclass(frozen=True)
class _Entity:
    entity_id: int
    scope: int | None
    keys: tuple[str | None, ...]


class CrmIndex:
    """The CRM entities of one type by each matching criterion's normalised value, held in the process as hashes
    (``KeyTable``: 21-43 bytes a key, some 80 a company under the three keys an import matches it by). ``refresh``
    reads what changed in the CRM since the last read; ``find`` looks a page's keys up and confirms each entity found
    by its values as they stand (read again, in the caller's transaction): an entity changed or deleted since it was
    indexed keeps its old keys in the table, and never matches by them. ``close`` lets the table go."""

    def __init__(self, entity_type: EntityType, criteria: Sequence[Criterion] | None = None) -> None:
        self.entity_type = entity_type
        self.criteria = tuple(criteria) if criteria is not None else CRITERIA[entity_type]
        self._keyers = tuple(criterion.keyer() for criterion in self.criteria)
        self._seq = 0
        self._known: list[range] = []  # change numbers of entities put by ``put_created``: not read back
        self._table = KeyTable()
        self._recent: dict[int, _Entity] = {}
        """The entities ``put_created`` put last, as put: confirmed by those values, which the caller's transaction
        may not see yet (a page written and not committed, ``sync.imports.paging``)."""

    def close(self) -> None:
        self._table = KeyTable()
        self._recent = {}

    def refresh(self, session: Session) -> None:
        known = sorted((seqs for seqs in self._known if seqs.stop - 1 > self._seq), key=lambda seqs: seqs.start)
        while known and known[0].start <= self._seq + 1:  # right after what was read: nothing there to read back
            self._seq = known.pop(0).stop - 1
        watermark = current_watermark(session)
        if watermark <= self._seq:  # nothing changed in the CRM since: one look, no query per table
            self._known = []
            return
        table = ENTITY_TABLES[self.entity_type]
        excluded = [~table.change_seq.between(seqs[0], seqs[-1]) for seqs in known]
        while True:  # a chunk at a time, by the change number's index (a plain query each, no server-side cursor)
            entities, last = self._read(session, table.change_seq > self._seq, *excluded, chunk=True)
            self._put(entities)
            for entity in entities:  # changed by someone else since it was put: as the CRM holds it now
                self._recent.pop(entity.entity_id, None)
            self._seq = last if last is not None else self._seq
            if len(entities) < REFRESH_CHUNK:
                break
        # Every change up to the watermark is visible now (the counter serialises the writers), deletions included:
        # a deleted entity's keys stay in the table, and ``find`` finds it gone.
        self._seq = max([self._seq, watermark, *(seqs[-1] for seqs in known)])
        self._known = []

    def put_created(self, created: Sequence[tuple[int, int | None, Sequence[str | None]]], seqs: range) -> None:
        """Index entities just created with the change numbers ``seqs``, by their (entity id, scope, keys as ``keys``
        gave them): the next ``refresh`` does not read them back. Only for entities created in ``seqs`` and nothing
        else: anything else changed meanwhile is read by ``refresh``."""
        entities = [_Entity(entity_id, scope, tuple(keys)) for entity_id, scope, keys in created]
        self._put(entities)
        self._recent = {entity.entity_id: entity for entity in entities}
        if seqs:
            self._known.append(seqs)

    def expect(self, count: int, keys_each: int) -> None:
        """About ``count`` more entities are coming (an import's total), with at most ``keys_each`` keys each: the
        table is made big enough for them now. The count is the connector's word, so at most ``EXPECTED_AT_MOST``
        are believed."""
        self._table.reserve(len(self._table) + keys_each * min(max(count, 0), EXPECTED_AT_MOST))

    def keys(self, values: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The normalised value of ``values`` by each criterion, in order (None where they have none)."""
        return tuple([key(values) for key in self._keyers])

    def find(self, session: Session, wanted: Iterable[Sequence[str | None]]) -> Hits:
        """The entities that match any of the ``wanted`` keys (as ``keys`` gives them) by their criterion, in any
        scope, confirmed by their values as ``session`` sees them (or as ``put_created`` put them last)."""
        asked = {(number, key) for values_keys in wanted for number, key in enumerate(values_keys) if key is not None}
        table = self._table
        candidates = {entity_id for number_key in asked for entity_id in table.get(hash(number_key))}
        if not candidates:  # nothing matched on the page (a first import): nothing to read
            return {}
        recent = [self._recent[entity_id] for entity_id in candidates if entity_id in self._recent]
        others = candidates.difference(self._recent)
        entities = recent + (
            self._read(session, one_of(session, ENTITY_TABLES[self.entity_type].id, others))[0] if others else []
        )
        hits: Hits = {}
        for entity in entities:
            for number, key in enumerate(entity.keys):
                if key is not None and (number, key) in asked:
                    hits.setdefault((number, entity.scope, key), set()).add(entity.entity_id)
        return hits

    def _read(
        self, session: Session, *where: ColumnElement[bool], chunk: bool = False
    ) -> tuple[list[_Entity], int | None]:
        """The entities ``where`` selects with their keys (by change number, at most ``REFRESH_CHUNK`` of them when
        ``chunk``), and the last one's change number."""
        table = ENTITY_TABLES[self.entity_type]
        fields = CRM_FIELDS[self.entity_type]
        crm_keys = sorted({key for criterion in self.criteria for key in criterion.crm_keys})
        scope = [Person.company_id] if self.entity_type is EntityType.PERSON else []
        query = select(table.id, table.change_seq, *scope, *(getattr(table, fields[key].attr) for key in crm_keys))
        query = query.where(*where)
        if chunk:
            query = query.order_by(table.change_seq).limit(REFRESH_CHUNK)
        rows = session.execute(query).all()
        entities = [
            _Entity(
                row[0], row[2] if scope else None, self.keys(dict(zip(crm_keys, row[2 + len(scope) :], strict=True)))
            )
            for row in rows
        ]
        return entities, rows[-1][1] if rows else None

    def _put(self, entities: Sequence[_Entity]) -> None:
        self._table.add(
            [
                (hash((number, key)), entity.entity_id)
                for entity in entities
                for number, key in enumerate(entity.keys)
                if key is not None
            ]
        )
