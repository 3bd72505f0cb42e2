"""Many requests at once over real HTTP, more than the hub has threads and pooled connections, with one connector
that hangs: nobody gets a 500, nothing deadlocks, and only the requests that need the hung connector wait for it (and
then only as long as the interactive time budget, until its circuit opens and they fail fast).

Bounded: a fixed number of requests, every one with a client timeout, everything on loopback.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync.app import create_app
from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol import models as m
from erpsync.settings import Settings
from erpsync.storage.db import Database, pool_size_for
from erpsync.testing.fault_proxy import Fault, running_fault_proxy
from erpsync.testing.sample import COMPANY, running_sample
from erpsync.testing.server import serve_in_thread

from .conftest import Hub

THREADS = 6
BUDGET_SECONDS = 2.0
CONCURRENCY = 2
FAILURES = 3
HANG_SECONDS = 60.0  # longer than the test waits for any answer: the connector never answers in time
CLIENT_TIMEOUT = 30.0


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@dataclass
class Loaded:
    hub: Hub
    member: httpx.Client
    good: int
    hung: int
    linked_company: int
    breaker_state: Callable[[], str]


def _connection(admin: httpx.Client, name: str, url: str, secret: str, config: dict[str, Any]) -> int:
    connector = _ok(admin.post("/connectors", json={"name": name, "url": url, "secret": secret}), 201)
    body = {"name": name, "connector_id": connector["id"], "config": config, "visibility": {"everyone": True}}
    connection_id: int = _ok(admin.post("/connections", json=body), 201)["id"]
    fields = [{"erp_field": "name", "crm_field": "NAME", "direction": "both", "show_in_tab": True}]
    _ok(admin.put(f"/connections/{connection_id}/mappings/customer", json={"active": True, "fields": fields}))
    _ok(admin.post(f"/connections/{connection_id}/activate"))
    return connection_id


@pytest.fixture
def loaded(database: Database, tmp_path: Path) -> Iterator[Loaded]:
    with _loaded(database, tmp_path, budget=BUDGET_SECONDS, concurrency=CONCURRENCY, failures=FAILURES) as world:
        yield world


@contextmanager
def _loaded(database: Database, tmp_path: Path, *, budget: float, concurrency: int, failures: int) -> Iterator[Loaded]:
    settings = Settings(
        data_dir=tmp_path / "data",
        http_threads=THREADS,
        interactive_budget_seconds=budget,
        connector_concurrency=concurrency,
        breaker_failures=failures,
        breaker_reset_seconds=600,
    )
    app = create_app(settings, database=database)
    with (
        serve_in_thread(app) as url,
        running_sample(tmp_path / "sample") as sample,
        running_fault_proxy(sample.url) as proxy,
    ):
        hub = Hub(url, database)
        hub.add_user("admin", is_admin=True, licences=("erp",))
        hub.add_user("member", licences=("erp",))
        with hub.sign_in("admin") as admin, hub.sign_in("member") as member:
            good = _connection(admin, "Good", sample.url, sample.secret, sample.config)
            hung = _connection(admin, "Hung", proxy.url, sample.secret, sample.config)
            erp_key = sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": "Acme"}))
            company = _ok(admin.post("/companies", json={"name": "Acme"}), 201)["id"]
            link = {"actor_type": "customer", "erp_key": erp_key, "winners": {}}
            _ok(member.post(f"/companies/{company}/erp/{good}/connect", json=link), 201)
            proxy.inject(Fault.DELAY, operation="search_actors", times=10_000, delay=HANG_SECONDS)
            hung_connector = _ok(admin.get(f"/connections/{hung}"))["connector_id"]

            def breaker_state() -> str:
                bulkhead = app.state.clients.bulkhead(hung_connector)
                return "unused" if bulkhead is None else bulkhead.state

            yield Loaded(hub, member, good, hung, company, breaker_state)
            proxy.clear()


def test_more_requests_than_threads_and_connections_with_a_hung_connector_answer_without_500(
    loaded: Loaded,
) -> None:
    assert pool_size_for(THREADS) < 60  # more requests at once than pooled connections
    member, company = loaded.member, loaded.linked_company

    def hung_search(_: int) -> tuple[str, int, float]:
        return _timed(
            "hung search",
            lambda: member.post(
                f"/companies/{company}/erp/{loaded.hung}/search", json={"actor_type": "customer", "text": "Acme"}
            ),
        )

    def erp_tab(_: int) -> tuple[str, int, float]:
        return _timed("erp tab", lambda: member.get(f"/companies/{company}/erp"))

    def write(index: int) -> tuple[str, int, float]:
        return _timed("write", lambda: member.post("/companies", json={"name": f"Load {index}"}))

    def me(_: int) -> tuple[str, int, float]:
        return _timed("me", lambda: member.get("/me"))

    work = [hung_search] * 20 + [erp_tab] * 20 + [write] * 10 + [me] * 10
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        results = list(pool.map(lambda pair: pair[1](pair[0]), enumerate(work)))

    statuses = Counter((kind, status) for kind, status, _ in results)
    assert not [r for r in results if r[1] >= 500 and r[0] != "hung search"], statuses
    # The hung connector: refused by its bulkhead (503) or out of time budget (502), never a 500, never a hang.
    assert {status for kind, status, _ in results if kind == "hung search"} <= {502, 503}, statuses
    assert all(status == 200 for kind, status, _ in results if kind in ("erp tab", "me")), statuses
    assert statuses[("write", 201)] == 10, statuses
    slowest_hung = max(seconds for kind, _, seconds in results if kind == "hung search")
    assert slowest_hung < 4 * BUDGET_SECONDS + 5, slowest_hung
    # After FAILURES unanswered calls in a row its circuit opens: then a request fails at once, with the time to wait.
    for _ in range(FAILURES):
        if loaded.breaker_state() == "open":
            break
        assert hung_search(0)[1] in (502, 503)
    assert loaded.breaker_state() == "open"
    started = time.monotonic()
    refused = member.post(
        f"/companies/{company}/erp/{loaded.hung}/search", json={"actor_type": "customer", "text": "Acme"}
    )
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert "not answering" in refused.json()["detail"]
    assert time.monotonic() - started < 1.0
    # The connection that works still works, and the hung one does not spoil the ERP tab's other section.
    sections = {s["connection_name"]: s for s in _ok(member.get(f"/companies/{company}/erp"))["sections"]}
    assert sections["Good"]["fields"]
    assert sections["Good"]["error"] is None


def test_who_asks_is_answered_while_every_request_thread_waits_on_a_connector(
    database: Database, tmp_path: Path
) -> None:
    # A bulkhead wider than the thread pool and a long budget: hung searches hold every request thread for 8 s.
    held_seconds = 8.0
    with _loaded(database, tmp_path, budget=held_seconds, concurrency=THREADS + 4, failures=100) as world:
        member, company = world.member, world.linked_company
        body = {"actor_type": "customer", "text": "Acme"}

        def hung_search(_: int) -> int:
            return member.post(f"/companies/{company}/erp/{world.hung}/search", json=body).status_code

        with ThreadPoolExecutor(max_workers=THREADS + 2) as pool:
            searches = [pool.submit(hung_search, n) for n in range(THREADS + 2)]
            time.sleep(1.5)  # every request thread now waits on the hung connector
            assert not any(search.done() for search in searches)
            _, status, seconds = _timed("me", lambda: member.get("/me"))
            assert status == 200
            assert seconds < held_seconds / 2, seconds  # it did not wait for a request thread
            assert {search.result() for search in searches} <= {502, 503}


def _timed(kind: str, call: Callable[[], httpx.Response]) -> tuple[str, int, float]:
    started = time.monotonic()
    status = call().status_code
    return kind, status, time.monotonic() - started
