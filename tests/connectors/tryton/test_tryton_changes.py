"""The Tryton connector's change feed: inclusive, gap-free paging over equal timestamps, deletions."""

from __future__ import annotations

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION

pytestmark = pytest.mark.tryton
T = m.ActorType


def all_pages(connector: TrytonConnector, actor_type: T, since: str | None, limit: int) -> list[m.ChangesResponse]:
    pages: list[m.ChangesResponse] = []
    cursor = None
    while True:
        request = m.ChangesRequest(
            connection_id=CONNECTION,
            actor_type=actor_type,
            since=since,
            field_keys=["name"],
            cursor=cursor,
            limit=limit,
        )
        pages.append(connector.changes(request))
        cursor = pages[-1].next_cursor
        if cursor is None:
            return pages


def changed_keys(pages: list[m.ChangesResponse]) -> list[str]:
    return [actor.erp_key or "" for page in pages for actor in page.actors]


def create_customers(tryton: TrytonServer, connector: TrytonConnector, names: list[str]) -> list[int]:
    """One Tryton transaction, so all of them share one timestamp."""
    request = m.ListItemsRequest(connection_id=CONNECTION, list_name="categories")
    connector.list_items(request)  # creates the role categories
    with tryton.rpc() as rpc:
        (customer,) = rpc.search("party.category", [["name", "=", "Customer"]])
        return rpc.create("party.party", [{"name": name, "categories": [["add", [customer]]]} for name in names])


def test_paging_over_equal_timestamps_has_no_gap_or_repeat(tryton: TrytonServer, connector: TrytonConnector) -> None:
    ids = create_customers(tryton, connector, [f"Batch {n}" for n in range(5)])
    pages = all_pages(connector, T.CUSTOMER, None, limit=2)
    assert changed_keys(pages) == [str(i) for i in ids]
    assert len({actor.last_modified for page in pages for actor in page.actors}) == 1
    assert all(page.next_since is None for page in pages[:-1])
    assert pages[0].total == 5
    since = pages[-1].actors[-1].last_modified  # an ISO time: changes at or after it, paged over the equal stamps
    incremental = all_pages(connector, T.CUSTOMER, since, limit=2)
    assert changed_keys(incremental) == [str(i) for i in ids]
    assert len(incremental) == 3
    for resumed in (pages[-1].next_since, incremental[-1].next_since):
        quiet = all_pages(connector, T.CUSTOMER, resumed, limit=2)
        assert (changed_keys(quiet), len(quiet), quiet[-1].next_since) == ([], 1, resumed)


def test_since_is_inclusive_and_next_since_resumes_after_the_last_record(
    tryton: TrytonServer, connector: TrytonConnector
) -> None:
    (first,) = create_customers(tryton, connector, ["First"])
    pages = all_pages(connector, T.CUSTOMER, None, limit=100)
    assert pages[0].actors[0].last_modified is not None
    inclusive = all_pages(connector, T.CUSTOMER, pages[0].actors[0].last_modified, limit=100)
    assert changed_keys(inclusive) == [str(first)]
    since = pages[-1].next_since
    assert changed_keys(all_pages(connector, T.CUSTOMER, since, limit=100)) == []
    (second,) = create_customers(tryton, connector, ["Second"])
    resumed = all_pages(connector, T.CUSTOMER, since, limit=100)
    assert changed_keys(resumed) == [str(second)]
    assert changed_keys(all_pages(connector, T.CUSTOMER, resumed[-1].next_since, limit=100)) == []


def test_a_full_read_ends_where_the_feed_was_when_it_began(tryton: TrytonServer, connector: TrytonConnector) -> None:
    first, second, third = create_customers(tryton, connector, ["One", "Two", "Three"])
    request = m.ChangesRequest(
        connection_id=CONNECTION, actor_type=T.CUSTOMER, since=None, field_keys=["name"], cursor=None, limit=2
    )
    page = connector.changes(request)
    assert [a.erp_key for a in page.actors] == [str(first), str(second)]
    with tryton.rpc() as rpc:  # changed behind the read's position: the next cycle reads it
        rpc.write("party.party", [first], {"name": "One renamed"})
    last = connector.changes(request.model_copy(update={"cursor": page.next_cursor}))
    assert ([a.erp_key for a in last.actors], last.next_cursor) == ([str(third)], None)
    later = all_pages(connector, T.CUSTOMER, last.next_since, limit=100)
    assert [(a.erp_key, a.fields["name"]) for p in later for a in p.actors] == [(str(first), "One renamed")]


def test_contact_change_and_deactivation(tryton: TrytonServer, connector: TrytonConnector) -> None:
    kept, dropped = create_customers(tryton, connector, ["Kept", "Dropped"])
    since = all_pages(connector, T.CUSTOMER, None, limit=100)[-1].next_since
    with tryton.rpc() as rpc:
        rpc.create("party.contact_mechanism", [{"party": kept, "type": "email", "value": "new@example.com"}])
        rpc.write("party.party", [dropped], {"active": False})
    pages = all_pages(connector, T.CUSTOMER, since, limit=100)
    assert str(kept) in changed_keys(pages)
    assert str(dropped) not in changed_keys(pages)
    assert [key for page in pages for key in page.deleted] == [str(dropped)]
    get = m.GetActorsRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER, erp_keys=[str(dropped)], field_keys=[])
    assert connector.get_actors(get).not_found == [str(dropped)]


def test_never_written_project_then_written(tryton: TrytonServer, connector: TrytonConnector) -> None:
    actor = m.Actor(actor_type=T.PROJECT, fields={"name": "Fresh", "status": "1"})
    created = connector.create_actor(m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="p"))
    assert created.actor is not None
    first = all_pages(connector, T.PROJECT, None, limit=100)
    assert changed_keys(first) == [created.actor.erp_key]
    with tryton.rpc() as rpc:
        rpc.write("project.work", [int(created.actor.erp_key or 0)], {"name": "Renamed"})
    later = all_pages(connector, T.PROJECT, first[-1].next_since, limit=100)
    assert [a.erp_key for page in later for a in page.actors] == [created.actor.erp_key]
    assert (later[-1].next_since or "") > (first[-1].next_since or "")
