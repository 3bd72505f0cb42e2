"""The import's CRM index: entities it created itself are indexed as it created them and not read back, while
everything anyone else changed or deleted is read, before, between or after them; what it finds is confirmed by the
entities' values as they stand."""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest
from sqlalchemy.orm import Session

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_entities_bulk, create_record, delete_entity, write_records
from erpsync.storage.db import Database
from erpsync.sync import matching
from erpsync.sync.matching import CrmIndex, KeyTable
from support.statements import statements_sent

COMPANY = EntityType.COMPANY


def _names(database: Database, index: CrmIndex, *names: str) -> dict[str, set[int]]:
    """The entities the index finds by each of ``names`` (the name criterion's key)."""
    number = next(n for n, criterion in enumerate(index.criteria) if criterion.code == "name")
    wanted = [tuple(name if n == number else None for n in range(len(index.criteria))) for name in names]
    with database.read_session() as session:
        hits = index.find(session, wanted)
    return {name: hits.get((number, None, name), set()) for name in names}


def _added(database: Database, *names: str) -> list[int]:
    """Companies someone else creates (not the import): a refresh reads them."""
    with database.session() as session:
        return [create_record(session, COMPANY, {"NAME": name}, changed_by="test").id for name in names]


def _refresh(database: Database, index: CrmIndex) -> None:
    with database.read_session() as session:
        index.refresh(session)


def _created(database: Database, index: CrmIndex, *names: str) -> list[int]:
    """Create companies as an import does and put them in the index as it does."""
    with database.session() as session:
        done = create_entities_bulk(session, COMPANY, [{"name": name} for name in names], changed_by="sync:1")
    index.put_created(
        [(entity_id, None, index.keys({"NAME": name})) for entity_id, name in zip(done.ids, names, strict=True)],
        done.change_seqs,
    )
    return done.ids


@pytest.fixture
def read_back(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The entities every refresh reads from the CRM (its reads by change number, a chunk at a time)."""
    read: list[int] = []
    original = CrmIndex._read

    def recording(
        index: CrmIndex, session: Session, *where: Any, chunk: bool = False
    ) -> tuple[list[matching._Entity], int | None]:
        entities, last = original(index, session, *where, chunk=chunk)
        if chunk:
            read.extend(entity.entity_id for entity in entities)
        return entities, last

    monkeypatch.setattr(CrmIndex, "_read", recording)
    return read


def test_entities_put_by_the_import_are_not_read_back_and_what_others_change_around_them_is(
    database: Database, read_back: list[int]
) -> None:
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
        assert read_back == [before, between, after]
        assert _names(database, index, "stored a", "stored b", "stored c") == {
            "stored a": {first[0]},
            "stored b": {first[1]},
            "stored c": set(second),
        }
        assert _names(database, index, "before", "between", "after") == {
            "before": set(),  # deleted: its key is still held, the entity is gone
            "between": {between},
            "after": {after},
        }


def test_an_entity_renamed_after_it_was_indexed_is_found_by_its_new_name_only(database: Database) -> None:
    with closing(CrmIndex(COMPANY)) as index:
        (renamed,) = _added(database, "Old Name")
        (mine,) = _created(database, index, "Mine")
        _refresh(database, index)
        with database.session() as session:
            assert write_records(
                session, COMPANY, [(renamed, {"NAME": "New Name"}), (mine, {"NAME": "Theirs"})], changed_by="test"
            ) == [None, None]
        # not refreshed yet: the old keys are held still, and found to be wrong; the new ones are not held yet
        assert _names(database, index, "old name") == {"old name": set()}
        assert _names(database, index, "new name") == {"new name": set()}
        _refresh(database, index)
        assert _names(database, index, "old name", "new name", "mine", "theirs") == {
            "old name": set(),
            "new name": {renamed},
            "mine": set(),
            "theirs": {mine},
        }


def test_the_entities_put_last_are_found_by_their_put_values_before_the_database_shows_them(
    database: Database,
) -> None:
    """A page written and not committed (PostgreSQL sends one while the next is classified): the next page's
    classification does not see its entities, and must match them all the same."""
    with closing(CrmIndex(COMPANY)) as index:
        index.put_created([(10_001, None, index.keys({"NAME": "Unseen"}))], range(0))
        assert _names(database, index, "unseen") == {"unseen": {10_001}}
        index.put_created([(10_002, None, index.keys({"NAME": "Next"}))], range(0))
        # committed by now, as the pager does before it puts the next page: the database holds no such entity
        assert _names(database, index, "unseen", "next") == {"unseen": set(), "next": {10_002}}


def test_a_crm_larger_than_a_chunk_is_read_a_chunk_at_a_time_and_nothing_is_missed(
    database: Database, monkeypatch: pytest.MonkeyPatch, read_back: list[int]
) -> None:
    monkeypatch.setattr(matching, "REFRESH_CHUNK", 3)
    names = [f"Company {n}" for n in range(7)]  # two whole chunks and a part
    ids = _added(database, *names)
    with closing(CrmIndex(COMPANY)) as index:
        _refresh(database, index)
        assert _names(database, index, *(name.lower() for name in names)) == {
            name.lower(): {entity_id} for name, entity_id in zip(names, ids, strict=True)
        }
        put = _created(database, index, "Stored A")  # its change number between the others' below
        later = [f"Later {n}" for n in range(3)]  # a whole chunk: the next read must go on after it
        more = _added(database, *later)
        _refresh(database, index)
        assert read_back == [*ids, *more]
        assert _names(database, index, *(name.lower() for name in later), "stored a") == {
            **{name.lower(): {entity_id} for name, entity_id in zip(later, more, strict=True)},
            "stored a": set(put),
        }


def test_a_refresh_when_nothing_changed_is_one_look_at_the_watermark(database: Database) -> None:
    with closing(CrmIndex(COMPANY)) as index:
        (first,) = _added(database, "First")
        _refresh(database, index)
        _created(database, index, "Mine")  # the import's own page: not a change to read
        with database.session() as session:  # a deletion: nothing to read either
            delete_entity(session, COMPANY, _added(database, "Gone")[0], changed_by="test")
        _refresh(database, index)
        with statements_sent(database) as statements, database.read_session() as session:
            index.refresh(session)
        reads = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
        assert len(reads) == 1
        assert "change_counter" in reads[0]
        (second,) = _added(database, "Second")
        _refresh(database, index)  # someone else's change: read
        assert _names(database, index, "first", "second", "gone") == {
            "first": {first},
            "second": {second},
            "gone": set(),
        }


def test_the_key_table_holds_each_entity_under_a_hash_once_and_grows_without_losing_any() -> None:
    table = KeyTable(capacity=4)
    table.add([(7, 1), (7, 2), (7, 1), (0, 3), (-5, 4)])  # one hash, two entities; a repeat; hash 0 and a negative
    assert sorted(table.get(7)) == [1, 2]
    assert table.get(0) == [3]
    assert table.get(-5) == [4]
    assert len(table) == 4
    table.add([(h, h + 100) for h in range(8, 5_000)])  # grown many times over
    assert len(table) == 4 + 4_992
    assert sorted(table.get(7)) == [1, 2]
    assert all(table.get(h) == [h + 100] for h in range(8, 5_000))
    assert table.get(5_000) == []


def test_a_table_made_room_for_fits_that_many_keys_without_growing_again() -> None:
    table = KeyTable(capacity=4)
    table.add([(-1, 1), (0, 2)])
    table.reserve(3_000)
    room = table.capacity
    assert room * matching.MAX_LOAD >= 3_000
    table.add([(h, h) for h in range(2, 3_000)])
    assert table.capacity == room  # no doubling on the way
    assert table.get(-1) == [1]  # what it held before, placed again
    assert table.get(0) == [2]
    assert all(table.get(h) == [h] for h in range(2, 3_000))
    table.reserve(10)
    assert table.capacity == room  # never smaller


def test_an_import_total_sizes_the_index_once_and_only_as_far_as_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matching, "EXPECTED_AT_MOST", 1_000)
    index = CrmIndex(COMPANY)
    index.expect(600, keys_each=3)
    assert index._table.capacity * matching.MAX_LOAD >= 600 * 3
    index.expect(10**9, keys_each=3)  # a connector's word: at most the bound is believed
    assert index._table.capacity * matching.MAX_LOAD < 2 * (600 + 1_000) * 3
