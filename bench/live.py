"""The live-sync benchmark: ``python -m bench.live [--quick] [--edits 200] [--modes embedded,workers]``.

On two hubs, each with automatic sync on with a one-hour interval (so no scheduled cycle runs), the sample connector in
a process of its own over loopback HTTP, and 300 linked customers: ``embedded``, the default (SQLite, the embedded
worker with live sync on, in this process), and ``workers`` (PostgreSQL, two ``erpsync worker`` processes on Redis
with live sync on; this process only edits and reads):

- ``erp_to_crm``: one customer's e-mail changed in the ERP (by this process, as another ERP user would: the
  connector's watch finds it on its next look, every half second) until the CRM shows it; one edit at a time, each
  after a random pause, so edits fall at any moment of the connector's looks;
- ``crm_to_erp``: one company's e-mail changed in the CRM (the CRM's write path, as a user's save) until the ERP holds
  it;
- ``idle``: the connector requests the hub makes per connection per minute with nothing changing.

p50/p95/p99 in milliseconds. Writes its section of ``--results`` between the ``live-bench`` markers. ``--quick``: 20
edits each way and a 30-second idle window, embedded only. Targets: p50 under 1 s and p99 under 3 s both ways; at most
about 3 requests per connection per minute when idle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from bench import report
from bench.world import Site, connector_process, link_everything, linked_pairs, new_site, seed_erp
from erpsync.connectors.sample import SampleErp
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.crm.fields import EntityType
from erpsync.crm.service import read_record, user_origin, write_record
from erpsync.protocol import models as m
from erpsync.sync import live
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.sync.work import Engine
from erpsync.testing.db import ensure_postgres_running, postgres_database
from erpsync.testing.services import ensure_redis_running
from erpsync.worker import EmbeddedWorker

COMPANY = "NORDIC"
CUSTOMERS = 300
WORKERS = 2
EDITS, QUICK_EDITS = 200, 20
IDLE_SECONDS, QUICK_IDLE_SECONDS = 120.0, 30.0
EDIT_TIMEOUT_SECONDS = 30.0
THINK_SECONDS = (0.1, 0.9)
RESULTS = Path("bench/RESULTS.md")
BEGIN, END = "<!-- live-bench: begin -->", "<!-- live-bench: end -->"
Row = dict[str, Any]


@contextmanager
def embedded_hub(folder: Path, url: str, secret: str) -> Iterator[tuple[Site, Engine]]:
    """A hub on SQLite with one linked connection and its embedded worker, live sync on."""
    site = _linked_site(folder, f"sqlite:///{folder / 'hub.sqlite'}", url, secret)
    database = site.database()
    clients = site.clients(database)
    engine = Engine(database, clients)
    worker = EmbeddedWorker(engine, live_sync=True).start()
    try:
        _wait(lambda: _is_live(engine, site.connection_ids[0]), 60.0, "the connection to go live")
        yield site, engine
    finally:
        worker.stop()
        clients.close()
        database.dispose()


@contextmanager
def workers_hub(folder: Path, url: str, secret: str) -> Iterator[tuple[Site, Engine]]:
    """A hub on PostgreSQL with one linked connection and ``WORKERS`` ``erpsync worker`` processes on Redis, live
    sync on; this process runs none: its CRM saves reach the workers by ``NOTIFY``."""
    from bench.scenarios.scale_out import worker_processes  # needs PostgreSQL and Redis: imported when it runs

    ensure_postgres_running()
    ensure_redis_running()
    with postgres_database() as database_url:
        site = _linked_site(folder, database_url, url, secret)
        database = site.database()
        clients = site.clients(database)
        engine = Engine(database, clients)
        try:
            with worker_processes(site, folder, WORKERS, f"erpsync-bench-live-{secrets.token_hex(4)}"):
                _wait(lambda: _is_live(engine, site.connection_ids[0]), 60.0, "the connection to go live")
                yield site, engine
        finally:
            clients.close()
            database.dispose()


def _linked_site(folder: Path, database_url: str, url: str, secret: str) -> Site:
    site = new_site(folder / "erp", database_url, url, secret, [COMPANY])
    link_everything(site, site.connection_ids[0])
    database = site.database()
    try:
        with database.session() as session:
            save_engine_settings(session, EngineSettings(running=True, interval_seconds=3600))
    finally:
        database.dispose()
    return site


HUBS = {"embedded": embedded_hub, "workers": workers_hub}


def _is_live(engine: Engine, connection_id: int) -> bool:
    with engine.database.read_session() as session:
        return connection_id in live.live_connection_ids(session)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` every 10 ms; the moment it held (``perf_counter``)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.01)
    raise TimeoutError(f"waited {timeout:g} s for {what}")


def erp_to_crm(site: Site, engine: Engine, pairs: list[tuple[int, int, str]], edits: int) -> list[float]:
    erp, latencies, marker = site.erp(), [], secrets.token_hex(3)
    try:
        for n in range(edits):
            _, company_id, erp_key = pairs[n % len(pairs)]
            email = f"erp{n}-{marker}@live.example"  # a value no earlier run left on either side
            _think()
            started = time.perf_counter()
            erp.update_actor(COMPANY, m.ActorType.CUSTOMER, erp_key, {"email": email})
            shown = _wait(partial(_crm_shows, engine, company_id, email), EDIT_TIMEOUT_SECONDS, f"CRM {company_id}")
            latencies.append(shown - started)
    finally:
        erp.close()
    return latencies


def crm_to_erp(site: Site, engine: Engine, pairs: list[tuple[int, int, str]], edits: int) -> list[float]:
    erp, latencies, marker = site.erp(), [], secrets.token_hex(3)
    try:
        for n in range(edits):
            _, company_id, erp_key = pairs[-1 - n % len(pairs)]
            email = f"crm{n}-{marker}@live.example"
            _think()
            started = time.perf_counter()
            with engine.database.session() as session:
                write_record(session, EntityType.COMPANY, company_id, {"EMAIL": email}, changed_by=user_origin(1))
            shown = _wait(partial(_erp_holds, erp, erp_key, email), EDIT_TIMEOUT_SECONDS, f"ERP {erp_key}")
            latencies.append(shown - started)
    finally:
        erp.close()
    return latencies


def _think() -> None:
    """Edits come at random moments, not in step with the connector's looks or the hub's watches."""
    time.sleep(random.uniform(*THINK_SECONDS))


def _crm_shows(engine: Engine, company_id: int, email: str) -> bool:
    with engine.database.read_session() as session:
        return bool(read_record(session, EntityType.COMPANY, company_id).values.get("EMAIL") == email)


def _erp_holds(erp: SampleErp, erp_key: str, email: str) -> bool:
    actor = erp.fetch(COMPANY, m.ActorType.CUSTOMER, [erp_key], list(ORGANISATION.fields))[erp_key]
    return actor.fields.get("email") == email


def idle_rate(site: Site, seconds: float) -> tuple[float, dict[str, int]]:
    """Connector requests per minute with nothing changing (one connection), and which operations they were."""
    time.sleep(2.0)  # the last edit's echo has come and gone
    before = site.calls()
    time.sleep(seconds)
    after = site.calls()
    made = {operation: after.get(operation, 0) - before.get(operation, 0) for operation in after}
    made = {operation: count for operation, count in made.items() if count}
    return sum(made.values()) * 60.0 / seconds, made


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000),
        "p95_ms": round(cuts[94] * 1000),
        "p99_ms": round(cuts[98] * 1000),
        "max_ms": round(max(latencies) * 1000),
    }


def measure(modes: list[str], edits: int, idle_seconds: float) -> Iterator[Row]:
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-live-") as folder:
        secret = secrets.token_urlsafe(32)
        seed_erp(Path(folder) / "erp", {COMPANY: CUSTOMERS})
        with connector_process(Path(folder) / "erp", secret) as url:
            for mode in modes:
                with HUBS[mode](Path(folder), url, secret) as (site, engine):
                    yield from _measure_hub(mode, site, engine, edits, idle_seconds)


def _measure_hub(mode: str, site: Site, engine: Engine, edits: int, idle_seconds: float) -> Iterator[Row]:
    pairs = linked_pairs(engine.database, site.connection_ids[0])
    for scenario, run in (("erp_to_crm", erp_to_crm), ("crm_to_erp", crm_to_erp)):
        yield {"scenario": scenario, "mode": mode, "edits": edits, **percentiles(run(site, engine, pairs, edits))}
    rate, made = idle_rate(site, idle_seconds)
    yield {"scenario": "idle", "mode": mode, "seconds": idle_seconds, "requests_per_minute": round(rate, 2), **made}


def section(rows: list[Row]) -> str:
    lines = [BEGIN, "## Live sync (`python -m bench.live`)", ""]
    lines += ["| Scenario | Hub | Edits | p50 ms | p95 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|"]
    for row in (r for r in rows if "p50_ms" in r):
        lines.append(
            f"| {row['scenario']} | {row['mode']} | {row['edits']} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['p99_ms']} | {row['max_ms']} |"
        )
    lines.append("")
    for row in (r for r in rows if r["scenario"] == "idle"):
        details = {k: v for k, v in row.items() if k not in ("scenario", "mode", "seconds", "requests_per_minute")}
        lines.append(
            f"- Idle hub ({row['mode']}), one connection, {row['seconds']:g} s: {row['requests_per_minute']} connector "
            f"requests a minute (`{json.dumps(details)}`)."
        )
    load = report.load_average()
    lines += ["", f"Load average when the section was written: {load} on {os.cpu_count()} cores."]
    lines += [
        "",
        "Targets: p50 under 1 s and p99 under 3 s both ways; an idle hub makes at most about 3 requests per "
        "connection per minute.",
        END,
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, rows: list[Row]) -> None:
    report.replace_section(path, BEGIN, END, section(rows))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    quick = f"{QUICK_EDITS} edits each way, {QUICK_IDLE_SECONDS:g} s idle, embedded only"
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--edits", type=int, default=None, help=f"edits each way (default {EDITS})")
    parser.add_argument("--modes", default=None, help="embedded,workers (default both; quick: embedded)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file whose section to write")
    parser.add_argument("--no-results", action="store_true", help="print the JSON lines only")
    args = parser.parse_args(argv)
    edits = args.edits or (QUICK_EDITS if args.quick else EDITS)
    modes = (args.modes or ("embedded" if args.quick else "embedded,workers")).split(",")
    rows = []
    for row in measure(modes, edits, QUICK_IDLE_SECONDS if args.quick else IDLE_SECONDS):
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.no_results:
        write_section(args.results, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
