"""The import's CRM index: entities it created itself are indexed as it created them and not read back, while
everything anyone else changed or deleted is read, before, between or after them."""

from __future__ import annotations

from contextlib import closing

import pytest

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_entities_bulk, create_record, delete_entity
from erpsync.storage.db import Database
from erpsync.sync import matching
from erpsync.sync.matching import CrmIndex
from support.statements import statements_sent

COMPANY = EntityType.COMPANY


def _names(index: CrmIndex, *names: str) -> dict[str, set[int]]:
    """The entities the index holds by each of ``names`` (the name criterion's key)."""
    number = next(n for n, criterion in enumerate(index.criteria) if criterion.code == "name")
    wanted = [tuple(name if n == number else None for n in range(len(index.criteria))) for name in names]
    hits = index.find(wanted)
    return {name: hits.get((number, None, name), set()) for name in names}


def _added(database: Database, *names: str) -> list[int]:
    """Companies someone else creates (not the import): a refresh reads them."""
    with database.session() as session:
        return [create_record(session, COMPANY, {"NAME": name}, changed_by="test").id for name in names]


def _refresh(database: Database, index: CrmIndex) -> None:
    with database.read_session() as session:
        index.refresh(session)


def _created(database: Database, index: CrmIndex, *names: str) -> list[int]:
    """Create companies as an import does and put them in the index under keys that are NOT their stored names: a
    refresh that read them back would replace those keys."""
    with database.session() as session:
        done = create_entities_bulk(session, COMPANY, [{"name": name} for name in names], changed_by="sync:1")
    index.put_created(
        [(entity_id, None, index.keys({"NAME": f"put {entity_id}"})) for entity_id in done.ids], done.change_seqs
    )
    return done.ids


def test_entities_put_by_the_import_are_not_read_back_and_what_others_change_around_them_is(database: Database) -> None:
    with closing(CrmIndex(COMPANY)) as index:
        (before,) = _added(database, "Before")
        _refresh(database, index)
        first = _created(database, index, "Stored A", "Stored B")  # right after what the index read
        (between,) = _added(database, "Between")  # someone else, between two pages of the import
        second = _created(database, index, "Stored C")  # after a change the index has not read yet
        with database.session() as session:  # and after them: a change and a deletion
            after = create_record(session, COMPANY, {"NAME": "After"}, changed_by="test").id
            delete_entity(session, COMPANY, before, changed_by="test")
        _refresh(database, index)
        puts = {f"put {entity_id}": {entity_id} for entity_id in [*first, *second]}
        assert _names(index, *puts, "stored a", "stored c") == {**puts, "stored a": set(), "stored c": set()}
        assert _names(index, "before", "between", "after") == {"before": set(), "between": {between}, "after": {after}}


def test_a_crm_larger_than_a_chunk_is_read_a_chunk_at_a_time_and_nothing_is_missed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matching, "REFRESH_CHUNK", 3)
    names = [f"Company {n}" for n in range(7)]  # two whole chunks and a part
    ids = _added(database, *names)
    with closing(CrmIndex(COMPANY)) as index:
        _refresh(database, index)
        assert _names(index, *(name.lower() for name in names)) == {
            name.lower(): {entity_id} for name, entity_id in zip(names, ids, strict=True)
        }
        put = _created(database, index, "Stored A")  # its change number between the others' below
        later = [f"Later {n}" for n in range(3)]  # a whole chunk: the next read must go on after it
        more = _added(database, *later)
        _refresh(database, index)
        assert _names(index, *(name.lower() for name in later), f"put {put[0]}", "stored a") == {
            **{name.lower(): {entity_id} for name, entity_id in zip(later, more, strict=True)},
            f"put {put[0]}": set(put),
            "stored a": set(),
        }


def test_a_refresh_when_nothing_changed_is_one_look_at_the_watermark(database: Database) -> None:
    with closing(CrmIndex(COMPANY)) as index:
        (first,) = _added(database, "First")
        _refresh(database, index)
        _created(database, index, "Mine")  # the import's own page: not a change to read
        with statements_sent(database) as statements, database.read_session() as session:
            index.refresh(session)
        reads = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
        assert len(reads) == 1
        assert "change_counter" in reads[0]
        (second,) = _added(database, "Second")
        _refresh(database, index)  # someone else's change: read
        assert _names(index, "first", "second") == {"first": {first}, "second": {second}}
