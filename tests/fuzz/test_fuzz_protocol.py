"""Protocol fuzzing: hypothesis-generated answers to ``changes`` and ``get_actors`` (wrong types, missing members,
huge strings, unicode, deep nesting, wrong actor types), served over real HTTP by an ASGI app in front of the sample
connector. The engine never crashes, never writes a value the answer did not validly carry, and logs a typed reason."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from erpsync.errors import ErrorCode
from erpsync.sdk.app import create_app
from erpsync.storage.db import Database
from erpsync.storage.tables import SyncConnector
from erpsync.testing.server import serve_in_thread
from support.fault_world import FaultWorld, Pair, fault_world

Json = Any
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20), st.text(min_size=5000)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
DEEP: Json = functools.reduce(lambda inner, _: [inner], range(400), {})  # nesting far past any real answer
actor_types = st.sampled_from(["customer", "supplier", "person", "project", "spaceship", "", 7])


def actors(erp_key: str) -> st.SearchStrategy[Json]:
    fields = st.fixed_dictionaries({}, optional={"name": json_values, "email": json_values, "phone": json_values})
    return st.fixed_dictionaries(
        {},
        optional={
            "actor_type": actor_types,
            "erp_key": st.sampled_from([erp_key, "", "unknown"]) | json_values,
            "last_modified": json_values,
            "fields": fields | json_values,
        },
    )


def answers(erp_key: str) -> st.SearchStrategy[Json]:
    envelope = {"ok": st.booleans() | json_values, "state": st.sampled_from(["ok", "error", "odd"]) | json_values}
    members = {
        "actors": st.lists(actors(erp_key), max_size=3) | json_values,
        "next_cursor": st.none() | json_values,
        "next_since": st.none() | json_values,
        "deleted": st.lists(st.text(max_size=5), max_size=2) | json_values,
        "not_found": st.lists(st.text(max_size=5), max_size=2) | json_values,
        "error_code": st.sampled_from([c.value for c in ErrorCode]) | json_values,
    }
    deep: Json = {"ok": True, "state": "ok", "actors": DEEP}
    return st.fixed_dictionaries({}, optional={**envelope, **members}) | json_values | st.just(deep)


class Scripted:
    """Answers ``changes`` and ``get_actors`` with the current scripted JSON; the rest goes to the real connector."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answer: Json = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rsplit("/", 1)[-1] in {"changes", "get_actors"}:
            body = json.dumps(self.answer).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def fuzz_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FaultWorld, Pair, Scripted]]:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copyfile(sqlite_template, folder / "erpsync.sqlite")
    database = Database(f"sqlite:///{folder / 'erpsync.sqlite'}")
    with fault_world(database, folder) as world:
        [pair] = world.linked_pairs(1)
        scripted = Scripted(create_app(world.sample.connector, secret=world.sample.secret))
        with serve_in_thread(scripted) as url:
            with database.session() as session:
                session.execute(update(SyncConnector).values(url=url))
            yield world, pair, scripted
    database.dispose()


KNOWN = {code.value for code in ErrorCode}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_engine_survives_any_answer_and_writes_only_valid_values(
    fuzz_world: tuple[FaultWorld, Pair, Scripted], data: st.DataObject
) -> None:
    world, pair, scripted = fuzz_world
    scripted.answer = data.draw(answers(pair.erp_key))
    before = world.crm_values(pair.company_id)
    last_run = world.last_run_id()
    [summary] = world.cycle()  # never raises
    after = world.crm_values(pair.company_id)
    for crm_field, value in after.items():
        if value != before[crm_field]:  # a write: only a string the answer carried for the mapped ERP field
            assert isinstance(value, str)
            assert value in json.dumps(scripted.answer, ensure_ascii=False) or value in str(scripted.answer)
    assert set(world.error_reasons(after_run=last_run)) <= KNOWN
    if summary.status not in ("ok",):
        assert world.error_reasons(after_run=last_run), "a failed run must say why"
    world.crm_update(pair.company_id, **before)  # the next example starts from the same CRM values
