"""Sessions kept per connection, and creates that a lost answer and a retry cannot duplicate."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.errors import TransientError
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION, saved_connector
from .lossy_proxy import lossy_proxy

pytestmark = pytest.mark.tryton
T = m.ActorType
MODEL = {T.CUSTOMER: "party.party", T.PROJECT: "project.work"}


def sessions(tryton: TrytonServer) -> int:
    """How many login sessions Tryton holds (not exposed over RPC, so read from its database)."""
    with closing(sqlite3.connect(tryton.database_path)) as db:
        count: int = db.execute("SELECT count(*) FROM ir_session").fetchone()[0]
        return count


def read_names(connector: TrytonConnector, keys: list[str]) -> list[m.Value]:
    request = m.GetActorsRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER, erp_keys=keys, field_keys=["name"])
    return [actor.fields["name"] for actor in connector.get_actors(request).actors]


def create_request(actor_type: T, name: str, key: str) -> m.CreateActorRequest:
    fields: dict[str, m.Value] = {"name": name, "status": "1"} if actor_type == T.PROJECT else {"name": name}
    actor = m.Actor(actor_type=actor_type, fields=fields)
    return m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key=key)


def ids_named(tryton: TrytonServer, actor_type: T, name: str) -> list[int]:
    with tryton.rpc() as rpc:
        return rpc.search(MODEL[actor_type], [["name", "=", name]])


def test_calls_share_one_session(connector: TrytonConnector, tryton: TrytonServer) -> None:
    before = sessions(tryton)
    created = connector.create_actor(create_request(T.CUSTOMER, "Shared", "shared-1")).actor
    assert created is not None
    for _ in range(5):
        assert read_names(connector, [created.erp_key or ""]) == ["Shared"]
    assert sessions(tryton) == before  # the session that saving the connection checked it with serves every call


def test_a_session_tryton_forgot_is_renewed(connector: TrytonConnector, tryton: TrytonServer) -> None:
    created = connector.create_actor(create_request(T.CUSTOMER, "Renewed", "renew-1")).actor
    assert created is not None
    with closing(sqlite3.connect(tryton.database_path)) as db, db:  # as after an expiry: Tryton forgets them all
        db.execute("DELETE FROM ir_session")
    assert read_names(connector, [created.erp_key or ""]) == ["Renewed"]
    assert sessions(tryton) == 1  # the connector logged in again


def test_a_new_config_opens_a_new_session(connector: TrytonConnector, tryton: TrytonServer) -> None:
    assert read_names(connector, ["999999"]) == []
    before = sessions(tryton)
    connector.save_connection(
        m.SaveConnectionRequest(connection_id=CONNECTION, config={**tryton.config(), "company": None})
    )
    assert read_names(connector, ["999999"]) == []
    assert sessions(tryton) == before + 1  # opened by the save, serving the calls after it


@pytest.mark.parametrize("actor_type", [T.CUSTOMER, T.PROJECT])
def test_create_retried_after_a_lost_answer_makes_one_record(
    tryton: TrytonServer, tmp_path: Path, actor_type: T
) -> None:
    name = f"Lost answer {uuid.uuid4().hex[:8]}"
    request = create_request(actor_type, name, f"lost-{actor_type}")
    with lossy_proxy(tryton.url, method=f"model.{MODEL[actor_type]}.create") as (url, proxy):
        behind_proxy = dataclasses.replace(tryton, url=url)
        with saved_connector(behind_proxy, tmp_path / "connections.sqlite") as connector:
            with pytest.raises(TransientError):
                connector.create_actor(request)
            assert proxy.lost == 1
            assert len(ids_named(tryton, actor_type, name)) == 1  # Tryton did create it: only the answer was lost
            retried = connector.create_actor(request).actor
    assert retried is not None
    assert ids_named(tryton, actor_type, name) == [int(retried.erp_key or 0)]
    assert retried.fields["name"] == name


def test_concurrent_creates_with_one_key_make_one_record(connector: TrytonConnector, tryton: TrytonServer) -> None:
    request = create_request(T.PROJECT, "Raced", "race-1")
    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = {actor.erp_key for actor in pool.map(lambda _: connector.create_actor(request).actor, range(4)) if actor}
    assert len(keys) == 1
    assert len(ids_named(tryton, T.PROJECT, "Raced")) == 1
