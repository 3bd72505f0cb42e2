"""``changes``: at-or-after semantics, stable paging while records change, tombstones, next_since, bad cursors."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.connectors.sample.erp import SampleErp
from erpsync.errors import ValidationError
from erpsync.protocol import models as m

CUSTOMER = m.ActorType.CUSTOMER


def _pages(call: Any, since: str | None = None, limit: int = 2, connection_id: str = "conn-acme") -> list[Any]:
    pages, cursor = [], None
    while True:
        page = call(
            "changes",
            connection_id=connection_id,
            actor_type="customer",
            since=since,
            field_keys=["name"],
            cursor=cursor,
            limit=limit,
        )
        pages.append(page)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_changes_pages_in_order_and_ends_with_next_since(call: Any, add: Any) -> None:
    keys = [add("customer", name=f"Customer {i}") for i in range(5)]
    pages = _pages(call)
    assert [len(page.actors) for page in pages] == [2, 2, 1]
    actors = [actor for page in pages for actor in page.actors]
    assert [actor.erp_key for actor in actors] == keys
    assert [actor.last_modified for actor in actors] == sorted(actor.last_modified for actor in actors)
    assert all(page.next_since is None for page in pages[:-1])
    assert pages[-1].next_since > actors[-1].last_modified
    assert _pages(call, since=pages[-1].next_since)[0].actors == []


def test_since_is_inclusive(call: Any, add: Any) -> None:
    add("customer", name="Older")
    newer = add("customer", name="Newer")
    stamp = call("get_actors", actor_type="customer", erp_keys=[newer], field_keys=[]).actors[0].last_modified
    [page] = _pages(call, since=stamp)
    assert [actor.erp_key for actor in page.actors] == [newer]


def test_paging_has_no_gaps_or_duplicates_when_records_change_between_pages(
    call: Any, add: Any, erp: SampleErp
) -> None:
    keys = [add("customer", name=f"Customer {i}") for i in range(6)]
    first = call("changes", actor_type="customer", since=None, field_keys=["name"], cursor=None, limit=2)
    erp.update_actor("ACME", CUSTOMER, keys[0], {"name": "Customer 0, changed"})  # already delivered
    erp.update_actor("ACME", CUSTOMER, keys[4], {"name": "Customer 4, changed"})  # not yet delivered
    erp.delete_actor("ACME", CUSTOMER, keys[3])
    later = _continue(call, first.next_cursor)
    delivered = [(a.erp_key, a.last_modified) for page in [first, *later] for a in page.actors]
    assert len(delivered) == len(set(delivered))
    latest = {a.erp_key: a.fields["name"] for page in [first, *later] for a in page.actors}
    assert latest == {
        keys[0]: "Customer 0, changed",
        keys[1]: "Customer 1",
        keys[2]: "Customer 2",
        keys[4]: "Customer 4, changed",
        keys[5]: "Customer 5",
    }
    assert [key for page in later for key in page.deleted] == [keys[3]]


def _continue(call: Any, cursor: str | None) -> list[Any]:
    pages = []
    while cursor is not None:
        page = call("changes", actor_type="customer", since=None, field_keys=["name"], cursor=cursor, limit=2)
        pages.append(page)
        cursor = page.next_cursor
    return pages


def test_deletions_are_reported_after_the_watermark(call: Any, add: Any, erp: SampleErp) -> None:
    parent = add("customer", name="Going away")
    person = add("person", parent=("customer", parent), last_name="Along")
    project = add("project", parent=("customer", parent), name="Stays")
    [done] = _pages(call, limit=10)
    erp.delete_actor("ACME", CUSTOMER, parent)
    [page] = _pages(call, since=done.next_since)
    assert (page.actors, page.deleted) == ([], [parent])
    persons = call("changes", actor_type="person", since=done.next_since, field_keys=[], cursor=None, limit=10)
    assert persons.deleted == [person]
    projects = call("changes", actor_type="project", since=done.next_since, field_keys=[], cursor=None, limit=10)
    assert [(a.erp_key, a.parent_key) for a in projects.actors] == [(project, None)]


def test_page_size_is_the_smaller_of_the_request_and_the_config(call: Any, add: Any) -> None:
    for i in range(5):
        add("customer", name=f"Customer {i}")
    call("save_connection", connection_id="small-pages", config={**_CONFIG, "page_size": 3})
    pages = _pages(call, limit=100, connection_id="small-pages")
    assert [len(page.actors) for page in pages] == [3, 2]


def test_sync_from_hides_older_changes(call: Any, add: Any) -> None:
    add("customer", name="Old")
    call("save_connection", connection_id="recent", config={**_CONFIG, "sync_from": "2999-01-01T00:00:00Z"})
    assert _pages(call, connection_id="recent")[0].actors == []


def test_companies_have_their_own_changes(call: Any, add: Any) -> None:
    add("customer", company="OTHER", name="Elsewhere")
    assert _pages(call)[0].actors == []


@pytest.mark.parametrize(
    ("since", "cursor", "message"),
    [
        ("yesterday", None, "since"),
        (None, "not-a-cursor", "cursor"),
        (None, "eyJ0eXBlIjoicGVyc29uIiwic2luY2UiOiIiLCJzdGFtcCI6IjIwMjYiLCJrZXkiOjN9", "another"),
    ],
)
def test_bad_since_or_cursor_is_refused(call: Any, since: str | None, cursor: str | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call("changes", actor_type="customer", since=since, field_keys=[], cursor=cursor, limit=5)


_CONFIG = {"company": "ACME", "user": "erpsync", "password": "demo"}
