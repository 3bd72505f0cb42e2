"""HTTP load on a running hub: many concurrent users on the ERP tab, Sync now and a mix, with and without a background
import, and with one hung connector; each scenario reports p50/p95/p99, errors and a ``GET /me`` probe.

    .venv/bin/python -m bench.load_http            # 20 and 50 clients, 20 s a scenario, a 50k background import
    .venv/bin/python -m bench.load_http --quick    # 10 and 20 clients, 5 s a scenario, a 5k import

The hub is ``erpsync serve`` in a process of its own on the embedded default (SQLite), the sample connector another
(``bench.connector_proc``); the clients are asyncio httpx in this process. The hung connector is the same sample
connector behind the fault proxy, which holds every search for 60 s. Bounded: every request has a timeout, every
scenario a duration, everything is on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench import load_report
from bench.lean_http import Answer, LeanConnection
from bench.measure import cpu_seconds
from bench.world import CUSTOMER, Site, connector_process, environment, link_everything, new_site, seed_erp
from erpsync import accounts
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, configuration_loading
from erpsync.sync.connections import ConnectionDraft, create_connection
from erpsync.sync.connectors import add_connector
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.fault_proxy import Fault, running_fault_proxy
from erpsync.testing.server import free_port

PASSWORD = "load test password"
REQUEST_TIMEOUT = 40.0
ME_INTERVAL = 0.1
TAB_COMPANIES = 200
HUNG_SECONDS = 60.0
TARGET_ME_P99_MS = 300.0
TARGET_TAB_P99_MS = 2000.0
CLIENTS = ("lean", "httpx")


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    by_call: dict[str, list[float]] = field(default_factory=dict)  # a mix's latencies per kind of request
    hub_cpu_seconds: float = 0.0  # the hub's CPU time during the scenario (shared by scenarios run side by side)
    client_cpu_seconds: float = 0.0  # the load generator's (this process's), likewise shared

    def add(self, seconds: float, outcome: str | None, call: str = "") -> None:
        self.latencies.append(seconds)
        if call:
            self.by_call.setdefault(call, []).append(seconds)
        if outcome:
            self.errors[outcome] += 1

    def quantile(self, q: float, call: str = "") -> float:
        ordered = sorted(self.by_call.get(call, []) if call else self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass(frozen=True)
class Hub:
    url: str
    token: str
    tab: int  # a connection whose customers are linked to CRM companies 1..TAB_COMPANIES
    big: int  # a connection with the import's customers, nothing imported
    hung: int  # a connection through a connector that never answers a search
    companies: list[int]
    pid: int  # the hub's process, whose CPU time each scenario reports
    client: str = "lean"  # the load's HTTP client: lean (``bench.lean_http``) or httpx


# --- setting up -----------------------------------------------------------------------------------------------------


def _show_in_tab(site: Site, connection_id: int) -> None:
    fields = [("name", "NAME"), ("email", "EMAIL"), ("phone", "PHONE"), ("postal_city", "POSTALCITY")]
    database = site.database()
    clients = site.clients(database)
    try:
        with database.session() as session:
            connection = session.get_one(ErpConnection, connection_id)
            erp_lists = configuration_loading.read_erp_lists(clients, connection, set())
            rows = tuple(
                FieldMapping(
                    erp_field=erp, crm_field=crm, direction=Direction.BOTH, show_in_tab=True, show_in_search=True
                )
                for erp, crm in fields
            )
            mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)
            configuration.save_mapping(session, connection, mapping, erp_lists=erp_lists)
    finally:
        clients.close()
        database.dispose()


def _hung_connection(site: Site, url: str) -> int:
    database = site.database()
    clients = site.clients(database)
    try:
        with database.session() as session:
            connector = add_connector(session, clients, name="Hung", url=url, secret=site.connector_secret)
            config = {"company": site.erp_companies[0], "user": DEMO_USER, "password": DEMO_PASSWORD}
            draft = ConnectionDraft(name="Hung ERP", connector_id=connector.id, config=config)
            connection = create_connection(session, clients, draft)
            connection_id = connection.id
        with database.session() as session:
            connection = session.get_one(ErpConnection, connection_id)
            rows = (FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH, show_in_search=True),)
            mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)
            configuration.save_mapping(session, connection, mapping, erp_lists={})
            configuration.activate(session, connection, erp_lists={})
        with database.session() as session:
            accounts.create_user(session, login="loader", password=PASSWORD, licences=("erp",), is_admin=True)
        return connection_id
    finally:
        clients.close()
        database.dispose()


@contextmanager
def _hub_process(site: Site, folder: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = environment(site, ERPSYNC_DATA_DIR=str(folder / "hub-data"))
    log = (folder / "hub.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "erpsync"), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/api/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _token(url: str) -> str:
    answer = httpx.post(f"{url}/api/v1/auth/token", data={"username": "loader", "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


# --- load -----------------------------------------------------------------------------------------------------------


class Client(Protocol):
    async def request(self, method: str, path: str, body: Any = None) -> Answer: ...


class _Httpx:
    """The general client (``--client httpx``, as before the lean one): one ``httpx.AsyncClient`` shared by all."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        response = await self._client.request(method, path, json=body)
        return Answer(response.status_code, response.content)


Call = Callable[[Client, Hub], Awaitable[Answer]]


def _tab(client: Client, hub: Hub) -> Awaitable[Answer]:
    return client.request("GET", f"/companies/{random.choice(hub.companies)}/erp")


def _sync_now(client: Client, hub: Hub) -> Awaitable[Answer]:
    return client.request("POST", f"/companies/{random.choice(hub.companies)}/erp/{hub.tab}/sync")


def _search(client: Client, hub: Hub) -> Awaitable[Answer]:
    body = {"actor_type": "customer", "text": random.choice("ABCDEFGHIJ")}
    return client.request("POST", f"/companies/{random.choice(hub.companies)}/erp/{hub.tab}/search", body)


def _write(client: Client, hub: Hub) -> Awaitable[Answer]:
    body = {"phone": f"+45 {random.randint(10_000_000, 99_999_999)}"}
    return client.request("PATCH", f"/companies/{random.choice(hub.companies)}", body)


def _hung_search(client: Client, hub: Hub) -> Awaitable[Answer]:
    body = {"actor_type": "customer", "text": "A"}
    return client.request("POST", f"/companies/{random.choice(hub.companies)}/erp/{hub.hung}/search", body)


Load = tuple[tuple[Call, int], ...]
"""What the clients of a scenario send: each kind of request and its weight."""
MIX: Load = ((_tab, 6), (_search, 2), (_sync_now, 1), (_write, 1))


async def _clients(hub: Hub, load: Call | Load, count: int, seconds: float) -> tuple[Stats, Stats, Stats]:
    """The load's statistics, its ``/me`` probe's (among its clients, in this process's event loop) and those of a
    probe in a process of its own (``bench.me_probe``), which measures the hub alone."""
    stats, me = Stats(), Stats()
    own = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.me_probe",
        hub.url,
        hub.token,
        str(seconds),
        str(ME_INTERVAL),
        stdout=asyncio.subprocess.PIPE,
    )
    cpu_before, client_before = cpu_seconds(hub.pid), time.process_time()
    async with _connections(hub, count + 1) as clients:
        end = time.monotonic() + seconds

        calls, weights = zip(*load, strict=True) if isinstance(load, tuple) else ((load,), (1,))

        async def user(client: Client) -> None:
            while time.monotonic() < end:
                call = random.choices(calls, weights)[0]
                name = call.__name__.strip("_") if len(calls) > 1 else ""
                await _one(stats, partial(call, client, hub), name)

        async def probe(client: Client) -> None:
            while time.monotonic() < end:
                await _one(me, lambda: client.request("GET", "/me"))
                await asyncio.sleep(ME_INTERVAL)

        await asyncio.gather(*(user(client) for client in clients[:count]), probe(clients[count]))
    stats.hub_cpu_seconds = cpu_seconds(hub.pid) - cpu_before
    stats.client_cpu_seconds = time.process_time() - client_before
    output, _ = await asyncio.wait_for(own.communicate(), timeout=REQUEST_TIMEOUT + 30)
    probed = json.loads(output)
    me_alone = Stats(latencies=probed["latencies"], errors=Counter(probed["errors"]))
    return stats, me, me_alone


@asynccontextmanager
async def _connections(hub: Hub, count: int) -> AsyncIterator[list[Client]]:
    """``count`` clients: with the lean client (the default) each its own keep-alive connection; with httpx one
    ``AsyncClient`` whose pool has room for them all."""
    base, headers = f"{hub.url}/api/v1", {"Authorization": f"Bearer {hub.token}"}
    if hub.client == "httpx":
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT, limits=limits) as shared:
            yield [_Httpx(shared)] * count
        return
    connections = [LeanConnection(base, headers, REQUEST_TIMEOUT) for _ in range(count)]
    try:
        yield list(connections)
    finally:
        for connection in connections:
            connection.close()


async def _one(stats: Stats, send: Callable[[], Awaitable[Answer]], call: str = "") -> None:
    started = time.monotonic()
    try:
        response = await send()
        outcome = None if response.status_code < 400 else str(response.status_code)
    except (TimeoutError, httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as error:
        outcome = type(error).__name__
    stats.add(time.monotonic() - started, outcome, call)


def _import(hub: Hub) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {hub.token}"}
    answer = httpx.post(
        f"{hub.url}/api/v1/connections/{hub.big}/imports", json={"actor_type": "customer"}, headers=headers, timeout=60
    )
    answer.raise_for_status()
    job_id: int = answer.json()["id"]
    return job_id, time.monotonic()


def _import_state(hub: Hub, job_id: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {hub.token}"}
    answer = httpx.get(f"{hub.url}/api/v1/connections/{hub.big}/imports", headers=headers, timeout=60)
    answer.raise_for_status()
    state: dict[str, Any] = next(job for job in answer.json() if job["id"] == job_id)
    return state


def _wait_for_import(hub: Hub, job_id: int, started: float, limit: float) -> dict[str, Any]:
    deadline = started + limit
    while time.monotonic() < deadline:
        job = _import_state(hub, job_id)
        if job["status"] not in ("queued", "running"):
            keep = ("status", "total", "processed", "created", "failed")
            return {**{key: job[key] for key in keep}, "seconds": round(time.monotonic() - started, 1)}
        time.sleep(0.5)
    return {"status": "still running", "seconds": time.monotonic() - started}


def _report(name: str, clients: int, stats: Stats, probes: tuple[Stats, Stats], **extra: Any) -> dict[str, Any]:
    me, me_alone = probes
    answered = len(stats.latencies) + len(me.latencies)
    row = {
        "scenario": name,
        "clients": clients,
        "requests": len(stats.latencies),
        "p50_ms": round(stats.quantile(0.50), 1),
        "p95_ms": round(stats.quantile(0.95), 1),
        "p99_ms": round(stats.quantile(0.99), 1),
        **({"tab_p99_ms": round(stats.quantile(0.99, "tab"), 1)} if len(stats.by_call) > 1 else {}),
        "errors": dict(stats.errors),
        "me_p99_ms": round(me.quantile(0.99), 1),
        "me_errors": dict(me.errors),
        "me_own_process_p50_ms": round(me_alone.quantile(0.50), 1),
        "me_own_process_p99_ms": round(me_alone.quantile(0.99), 1),
        "me_own_process_errors": dict(me_alone.errors),
        "hub_cpu_ms_per_request": round(1000 * stats.hub_cpu_seconds / (answered + len(me_alone.latencies)), 1)
        if stats.latencies
        else None,
        "client_cpu_ms_per_request": round(1000 * stats.client_cpu_seconds / answered, 2) if stats.latencies else None,
        **extra,
    }
    print(json.dumps(row), flush=True)
    return row


def run(
    sizes: list[int], seconds: float, import_n: int, only: set[str] | None = None, client: str = "lean"
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="erpsync-load-") as tmp:
        folder = Path(tmp)
        seed_erp(folder / "erp", {"TAB": TAB_COMPANIES, "BIG": import_n})
        secret = "load test connector secret"
        with (
            connector_process(folder / "erp", secret) as connector_url,
            running_fault_proxy(connector_url, lifetime=3600) as proxy,
        ):
            site = new_site(folder, f"sqlite:///{folder / 'hub.sqlite'}", connector_url, secret, ["TAB", "BIG"])
            link_everything(site, site.connection_ids[0])
            _show_in_tab(site, site.connection_ids[0])
            hung = _hung_connection(site, proxy.url)
            with _hub_process(site, folder) as (url, pid):
                connections = site.connection_ids
                hub = Hub(url, _token(url), connections[0], connections[1], hung, list(range(1, 201)), pid, client)
                rows += _scenarios(hub, sizes, seconds, proxy, only or set(SCENARIOS))
    return rows


SCENARIOS = ("erp_tab", "sync_now", "mix", "mix_with_import", "hung_connector")


def _scenarios(hub: Hub, sizes: list[int], seconds: float, proxy: Any, only: set[str]) -> list[dict[str, Any]]:
    rows = []
    loads: tuple[tuple[str, Call | Load], ...] = (("erp_tab", _tab), ("sync_now", _sync_now), ("mix", MIX))
    for count in sizes:
        for name, call in loads:
            if name in only:
                stats, me, me_alone = asyncio.run(_clients(hub, call, count, seconds))
                rows.append(_report(name, count, stats, (me, me_alone)))
    count = sizes[-1]
    if "mix_with_import" in only:
        rows.append(_mix_with_import(hub, count, seconds))
    if "hung_connector" in only:
        rows += _hung(hub, count, seconds, proxy)
    return rows


def _mix_with_import(hub: Hub, count: int, seconds: float) -> dict[str, Any]:
    job_id, started = _import(hub)
    stats, me, me_alone = asyncio.run(_clients(hub, MIX, count, seconds))
    during = _import_state(hub, job_id)["processed"]
    finished = _wait_for_import(hub, job_id, started, limit=900)
    return _report("mix_with_import", count, stats, (me, me_alone), imported_during_load=during, import_job=finished)


def _hung(hub: Hub, count: int, seconds: float, proxy: Any) -> list[dict[str, Any]]:
    proxy.inject(Fault.DELAY, operation="search_actors", times=1_000_000, delay=HUNG_SECONDS)

    async def hung_and_tab() -> tuple[tuple[Stats, Stats, Stats], tuple[Stats, Stats, Stats]]:
        hung = _clients(hub, _hung_search, count, seconds)
        tab = _clients(hub, _tab, max(5, count // 5), seconds)
        return await asyncio.gather(hung, tab)

    (hung_stats, me, me_alone), (tab_stats, _, _) = asyncio.run(hung_and_tab())
    proxy.clear()
    return [
        _report("hung_connector_search", count, hung_stats, (me, me_alone)),
        _report("erp_tab_beside_hung_connector", max(5, count // 5), tab_stats, (me, me_alone)),
    ]


RESULTS = Path("bench/RESULTS.md")
QUICK_RESULTS = Path("bench/out/RESULTS-load-quick.md")  # bench/out/ is not committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help=f"the Markdown file whose section to write (default {RESULTS}; quick {QUICK_RESULTS})",
    )
    parser.add_argument("--no-results", action="store_true", help="print the JSON lines only")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON lines here")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument("--clients", default=None, help="client counts, e.g. 50 (default 20,50; quick 10,20)")
    parser.add_argument("--client", choices=CLIENTS, default="lean", help="the load's HTTP client (default lean)")
    args = parser.parse_args()
    sizes, seconds, import_n = ([10, 20], 5.0, 5_000) if args.quick else ([20, 50], 20.0, 50_000)
    if args.clients:
        sizes = [int(count) for count in args.clients.split(",")]
    only = set(args.only.split(","))
    if only - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(only - set(SCENARIOS)))}")
    if "mix_with_import" not in only:
        import_n = 100  # nothing imports it: no need to seed the ERP with more
    started = time.monotonic()
    rows = run(sizes, seconds, import_n, only, args.client)
    if args.json:
        args.json.write_text("".join(json.dumps(row) + "\n" for row in rows))
    if not args.no_results:
        command = " ".join(["python -m bench.load_http", *sys.argv[1:]])
        results = args.results or (QUICK_RESULTS if args.quick else RESULTS)
        load_report.write_section(results, rows, command=command, seconds=time.monotonic() - started)


if __name__ == "__main__":
    main()
