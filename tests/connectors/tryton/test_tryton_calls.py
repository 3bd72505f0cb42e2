"""The Tryton connector works at Tryton's speed: a page costs a few Tryton calls, however many actors it holds."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION

pytestmark = pytest.mark.tryton
T = m.ActorType
FIELDS = ["name", "email", "city", "country"]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Tryton methods the connector calls, in order."""
    made: list[str] = []
    send = TrytonRpc._send

    def counted(self: TrytonRpc, method: str, params: list[Any]) -> Any:
        made.append(method)
        return send(self, method, params)

    monkeypatch.setattr(TrytonRpc, "_send", counted)
    return made


def customers(tryton: TrytonServer, count: int) -> list[int]:
    with tryton.rpc() as rpc:
        (customer,) = rpc.search("party.category", [["name", "=", "Customer"]])
        (denmark,) = rpc.search("country.country", [["code", "=", "DK"]])
        values = [
            {
                "name": f"Party {n}",
                "categories": [["add", [customer]]],
                "addresses": [["create", [{"city": "Aarhus", "country": denmark}]]],
                "contact_mechanisms": [["create", [{"type": "email", "value": f"p{n}@example.com"}]]],
            }
            for n in range(count)
        ]
        return rpc.create("party.party", values)


def read_all(connector: TrytonConnector) -> list[m.Actor]:
    request = m.ChangesRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER, field_keys=FIELDS, limit=500)
    return connector.changes(request).actors


@pytest.mark.parametrize("count", [2, 12])
def test_a_page_is_read_and_saved_in_a_number_of_calls_that_does_not_grow_with_it(
    tryton: TrytonServer, connector: TrytonConnector, calls: list[str], count: int
) -> None:
    customers(tryton, count)
    connector.actor_types(m.ConnectionRequest(connection_id=CONNECTION))  # the session is opened before counting
    calls.clear()
    actors = read_all(connector)
    assert len(actors) == count
    assert len(calls) <= 13, calls  # the feed's end (8 streams, once per read), a count, the parties, their 3 parts
    with tryton.rpc() as rpc:
        (retail,) = rpc.create("party.category", [{"name": "Retail"}])
    calls.clear()
    values = {"city": "Odense", "fax": "+45 70 00 00 00", "category": str(retail)}
    changed = [
        actor.model_copy(update={"fields": {"email": f"new{actor.erp_key}@example.com", **values}}) for actor in actors
    ]
    saved = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=changed))
    assert saved.errors == []
    # read as they are (4) and what writing needs (4), the category looked up once, one write, read back (4)
    assert len(calls) <= 14, calls
    assert calls.count("model.party.party.write") == 1
    assert {(a.fields["email"], a.fields["city"]) for a in read_all(connector)} == {
        (f"new{a.erp_key}@example.com", "Odense") for a in actors
    }


def test_one_stale_actor_is_refused_and_the_others_of_its_page_are_saved(
    tryton: TrytonServer, connector: TrytonConnector
) -> None:
    first, second, third = customers(tryton, 3)
    actors = {a.erp_key: a for a in read_all(connector)}
    with tryton.rpc() as rpc:
        rpc.write("party.party", [second], {"name": "Changed in Tryton"})
    changed = [
        actors[str(key)].model_copy(update={"fields": {"name": f"From CRM {key}"}}) for key in (first, second, third)
    ]
    saved = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=changed))
    assert [(e.index, e.erp_key, e.error_code) for e in saved.errors] == [(1, str(second), ErrorCode.CONFLICT)]
    assert sorted(a.fields["name"] for a in saved.actors) == [f"From CRM {first}", f"From CRM {third}"]
    names = {a.erp_key: a.fields["name"] for a in read_all(connector)}
    assert names[str(second)] == "Changed in Tryton"
