"""The import's CRM index: entities it created itself are indexed as it created them and not read back, while
everything anyone else changed or deleted is read, before, between or after them."""

from __future__ import annotations

from contextlib import closing

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_entities_bulk, create_record, delete_entity
from erpsync.storage.db import Database
from erpsync.sync.matching import CrmIndex

COMPANY = EntityType.COMPANY


def _names(index: CrmIndex, *names: str) -> dict[str, set[int]]:
    """The entities the index holds by each of ``names`` (the name criterion's key)."""
    number = next(n for n, criterion in enumerate(index.criteria) if criterion.code == "name")
    wanted = [tuple(name if n == number else None for n in range(len(index.criteria))) for name in names]
    hits = index.find(wanted)
    return {name: hits.get((number, None, name), set()) for name in names}


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
        with database.session() as session:
            before = create_record(session, COMPANY, {"NAME": "Before"}, changed_by="test").id
        with database.read_session() as session:
            index.refresh(session)
        first = _created(database, index, "Stored A", "Stored B")  # right after what the index read
        with database.session() as session:  # someone else, between two pages of the import
            between = create_record(session, COMPANY, {"NAME": "Between"}, changed_by="test").id
        second = _created(database, index, "Stored C")  # after a change the index has not read yet
        with database.session() as session:  # and after them: a change and a deletion
            after = create_record(session, COMPANY, {"NAME": "After"}, changed_by="test").id
            delete_entity(session, COMPANY, before, changed_by="test")
        with database.read_session() as session:
            index.refresh(session)
        puts = {f"put {entity_id}": {entity_id} for entity_id in [*first, *second]}
        assert _names(index, *puts, "stored a", "stored c") == {**puts, "stored a": set(), "stored c": set()}
        assert _names(index, "before", "between", "after") == {"before": set(), "between": {between}, "after": {after}}
