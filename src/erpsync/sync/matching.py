"""Matching ERP actors to CRM entities, for imports and automatic creation: the criteria's normalised keys, and an
index of the CRM entities by them.

Imports try ``CRITERIA`` in order. Automatic creation tries the criteria an administrator chose among
``AUTO_CRITERIA`` (exact: equal normalised keys), then ``SIMILAR`` (a loose name: punctuation and legal forms such as
*A/S* or *Ltd* dropped), which never links on its own but sends the record to the review list."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm.changes import current_watermark
from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.storage.tables import CrmDeletion, Person

# --- matching -------------------------------------------------------------------------------------------------------


_DROP_SEPARATORS = str.maketrans("", "", "-./")


def _compact(text: str) -> str:
    """Without whitespace (as ``str.isspace`` and a regular expression's ``\\s`` know it) nor ``-``, ``.``, ``/``;
    case folded. ``translate`` and ``split`` rather than a regular expression: this runs per record and criterion."""
    return "".join(text.translate(_DROP_SEPARATORS).split()).casefold()


def _name(text: str) -> str:
    return " ".join(text.split()).casefold()


_LEGAL_FORMS = frozenset(
    "a s as aps ab asa oy oyj gmbh ag kg ltd limited inc llc plc bv nv sa sas sarl srl spa co corp ivs is".split()  # noqa: SIM905
)


def _loose_name(text: str) -> str:
    """A name with case, punctuation, legal forms and spacing ignored: *Acme A/S* and *ACME* agree."""
    words = "".join(char if char.isalnum() else " " for char in text.casefold()).split()
    kept = [word for word in words if word not in _LEGAL_FORMS]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Criterion:
    label: str
    crm_keys: tuple[str, ...]
    normalise: Callable[[str], str]
    erp_field: str | None = None
    """Where the ERP side's value comes from when not from the mapped CRM values: the ERP actor's own field."""

    @property
    def code(self) -> str:
        """The criterion's key in settings, reasons and the API: its label with underscores."""
        return self.label.lower().replace(" ", "_")

    def erp_key(self, erp_values: Mapping[str, Any], crm_values: Mapping[str, Any]) -> str | None:
        """The normalised value of an ERP actor: from its own field, or from its values translated to the CRM."""
        if self.erp_field is None:
            return self.key(crm_values)
        value = erp_values.get(self.erp_field)
        text = str(value).strip() if value else ""
        return self.normalise(text) if text else None

    def key(self, values: Mapping[str, Any]) -> str | None:
        parts = [str(values.get(crm_key) or "").strip() for crm_key in self.crm_keys]
        return self.normalise(" ".join(parts)) if any(parts) else None

    def keyer(self) -> Callable[[Mapping[str, Any]], str | None]:
        """``key`` as a function of the values alone: for the usual criterion of one field, without a list or a join
        (it runs once per criterion and record)."""
        if len(self.crm_keys) != 1:
            return self.key
        crm_key, normalise = self.crm_keys[0], self.normalise

        def key(values: Mapping[str, Any]) -> str | None:
            value = values.get(crm_key)
            text = str(value).strip() if value else ""
            return normalise(text) if text else None

        return key


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

AUTO_CRITERIA: dict[EntityType, tuple[Criterion, ...]] = {
    EntityType.COMPANY: (
        *CRITERIA[EntityType.COMPANY],
        Criterion("customer number", ("NUMBER2",), _compact, erp_field="number"),
    ),
    EntityType.PERSON: CRITERIA[EntityType.PERSON],
    EntityType.PROJECT: CRITERIA[EntityType.PROJECT],
}
"""The match keys automatic creation offers; *customer number* is the ERP actor's number against the CRM's
``NUMBER2``."""

SIMILAR: dict[EntityType, Criterion] = {
    EntityType.COMPANY: Criterion("similar name", ("NAME",), _loose_name),
    EntityType.PERSON: Criterion("similar name", ("FIRSTNAME", "LASTNAME"), _loose_name),
    EntityType.PROJECT: Criterion("similar name", ("NAME",), _loose_name),
}


def auto_criteria(entity_type: EntityType, codes: Iterable[str]) -> tuple[Criterion, ...]:
    """The chosen criteria of ``entity_type`` by code, in the offered order; unknown codes left out."""
    wanted = set(codes)
    return tuple(criterion for criterion in AUTO_CRITERIA[entity_type] if criterion.code in wanted)


PLURAL = {EntityType.COMPANY: "companies", EntityType.PERSON: "persons", EntityType.PROJECT: "projects"}


def _no_key(values: Mapping[str, Any]) -> None:
    return None


IndexKey = tuple[int, int | None, str]
"""(criterion number, scope: a person's company or None, normalised value)."""
Hits = dict[IndexKey, set[int]]
"""The CRM entities found for each index key a page looked up."""

REFRESH_CHUNK = 2_000
"""CRM rows read (and indexed) at a time, so that refreshing the index never holds the whole CRM in memory."""
NO_SCOPE = 0  # entity ids start at 1
INDEX_CACHE_KIB = 8_192
"""The index database's page cache. An import's inserts and lookups land all over the lookup index (keys in no
order); with SQLite's default 2 MiB, a 100k-entity CRM's index (~23 MB on disk) is mostly read back from its temporary
file for each page; 8 MiB (with keys inserted in the index's order) took a sixth off putting and finding 100k
companies' keys. A bound, whatever the CRM's size."""


class CrmIndex:
    """The CRM entities of one type by each matching criterion's normalised value, in a private temporary SQLite
    database: it lives on disk with a small page cache, so memory stays flat however many entities the CRM holds, and
    a page's lookups use its index. ``refresh`` reads what changed in the CRM since the last read; ``close`` (or the
    index's collection) deletes it."""

    def __init__(self, entity_type: EntityType, criteria: Sequence[Criterion] | None = None) -> None:
        self.entity_type = entity_type
        self.criteria = tuple(criteria) if criteria is not None else CRITERIA[entity_type]
        self._keyers = tuple(criterion.keyer() for criterion in self.criteria)
        self._seq = 0
        self._known: list[range] = []  # change numbers of entities put by ``put_created``: not read back
        # An empty file name: SQLite's private on-disk temporary database, deleted when it is closed.
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.executescript(
            f"PRAGMA cache_size=-{INDEX_CACHE_KIB}; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
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
        known = sorted((seqs for seqs in self._known if seqs.stop - 1 > self._seq), key=lambda seqs: seqs.start)
        while known and known[0].start <= self._seq + 1:  # right after what was read: nothing there to read back
            self._seq = known.pop(0).stop - 1
        if current_watermark(session) <= self._seq:  # nothing changed in the CRM since: one look, no query per table
            self._known = []
            return
        query = (
            select(table.id, table.change_seq, *scope, *columns)
            .where(*(~table.change_seq.between(seqs[0], seqs[-1]) for seqs in known))
            .order_by(table.change_seq)
            .limit(REFRESH_CHUNK)
        )
        while True:  # a chunk at a time, by the change number's index (a plain query each, no server-side cursor)
            rows = session.execute(query.where(table.change_seq > self._seq)).all()
            entities = [
                (row[0], row[2] if scope else None, dict(zip(crm_keys, row[2 + len(scope) :], strict=True)))
                for row in rows
            ]
            if rows:
                self._put(entities)
                self._seq = rows[-1][1]
            if len(rows) < REFRESH_CHUNK:
                break
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
        self._insert(rows)
        if seqs:
            self._known.append(seqs)

    def keys(self, values: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The normalised value of ``values`` by each criterion, in order (None where they have none)."""
        return tuple([key(values) for key in self._keyers])

    def record_keys(self, written: Collection[str]) -> Callable[[Mapping[str, Any]], tuple[str | None, ...]]:
        """``keys`` for values that hold no CRM field but those ``written``: a criterion none of whose fields is among
        them has no key, without looking (an import's records hold the fields its mapping writes)."""
        keyers = [
            keyer if set(criterion.crm_keys) & set(written) else _no_key
            for criterion, keyer in zip(self.criteria, self._keyers, strict=True)
        ]

        def keys(values: Mapping[str, Any]) -> tuple[str | None, ...]:
            return tuple([key(values) for key in keyers])

        return keys

    def _put(self, entities: Sequence[tuple[int, int | None, Mapping[str, Any]]]) -> None:
        self._drop([entity_id for entity_id, _, _ in entities])
        rows = [
            (number, scope or NO_SCOPE, key, entity_id)
            for entity_id, scope, values in entities
            for number, key in enumerate(self.keys(values))
            if key is not None
        ]
        self._insert(rows)

    def _insert(self, rows: list[tuple[int, int, str, int]]) -> None:
        """Insert ``rows`` in the lookup index's order (criterion, key): each index page they touch is read and
        changed once."""
        rows.sort(key=itemgetter(0, 2))
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
