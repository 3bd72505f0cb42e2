"""Scenario 6: scale-out. The same import (every customer) over 4 connections, each to an ERP company of its own with
N/4 customers, run by 1, 2 and 4 ``erpsync worker`` processes (Dramatiq, one thread each) on PostgreSQL and Redis.
The clock runs from sending the 4 jobs to the last one done. Each worker count gets a fresh PostgreSQL database; the
ERP and its connector process are shared (the connector is part of the load, as in production)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.measure import result
from bench.world import CUSTOMER, Site, connector_process, environment, new_site, seed_erp
from erpsync.storage.db import Database
from erpsync.sync import imports, jobs
from erpsync.sync.work import Engine
from erpsync.testing.db import ensure_postgres_running, postgres_database
from erpsync.worker import DramatiqDispatcher, build_broker

CONNECTIONS = 4
REDIS_URL = "redis://127.0.0.1:6379/0"
POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 900.0
WORKER_START_SECONDS = 60.0
CONSUMER_START_SECONDS = 1.0
READY_LINE = "erpsync worker:"
Row = dict[str, Any]


def run(folder: Path, n: int, worker_counts: list[int]) -> Iterator[Row]:
    """One row per worker count."""
    ensure_postgres_running()
    companies = {f"C{number}": n // CONNECTIONS for number in range(1, CONNECTIONS + 1)}
    secret = secrets.token_urlsafe(24)
    seed_erp(folder / "erp", companies)
    with connector_process(folder / "erp", secret) as url:
        for count in worker_counts:
            with postgres_database() as database_url:
                site = new_site(folder / "erp", database_url, url, secret, list(companies))
                yield measure(site, folder, sum(companies.values()), count)


def measure(site: Site, folder: Path, n: int, workers: int) -> Row:
    namespace = f"erpsync-bench-{secrets.token_hex(4)}"
    database = site.database()
    clients = site.clients(database)
    broker = build_broker(REDIS_URL, namespace=namespace)
    try:
        engine = Engine(database, clients)
        job_ids = [imports.start_import(engine, cid, CUSTOMER).id for cid in site.connection_ids]
        with worker_processes(site, folder, workers, namespace):
            dispatcher = DramatiqDispatcher(broker)
            start = time.perf_counter()
            for job_id in job_ids:
                dispatcher.run_job(job_id)
                jobs.mark_enqueued(database, job_id)
            created = wait_for(database, job_ids)
            seconds = time.perf_counter() - start
    finally:
        broker.close()
        clients.close()
        database.dispose()
    if created != n:
        raise RuntimeError(f"the imports created {created} companies, not {n}")
    row = result(f"scale_out_{workers}w", n, seconds, records=n, workers=workers, connections=len(site.connection_ids))
    return {**row, "peak_rss_mb": None}  # the work ran in the worker processes, not in this one


@contextmanager
def worker_processes(site: Site, folder: Path, count: int, namespace: str) -> Iterator[None]:
    env = environment(site, ERPSYNC_REDIS_URL=REDIS_URL, ERPSYNC_DATA_DIR=str(folder / "hub-data"))
    erpsync = str(Path(sys.executable).parent / "erpsync")  # the console script installed next to this Python
    command = [erpsync, "worker", "--threads", "1", "--namespace", namespace]
    logs = [folder / f"worker-{namespace}-{number}.log" for number in range(count)]
    with ExitStack() as stack:
        for path in logs:
            log = stack.enter_context(open(path, "w"))
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, process)
        _wait_until_ready(logs)
        yield


def _wait_until_ready(logs: list[Path]) -> None:
    """Until every worker has printed its start line (its start-up is not what we measure), and a moment more for
    its Dramatiq consumer to connect."""
    deadline = time.monotonic() + WORKER_START_SECONDS
    while not all(READY_LINE in path.read_text() for path in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not start within {WORKER_START_SECONDS:g} s: see {logs}")
        time.sleep(POLL_SECONDS)
    time.sleep(CONSUMER_START_SECONDS)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(database: Database, job_ids: list[int]) -> int:
    """Wait (bounded) until every job is done; how many companies they created."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        states = [jobs.read_job(database, job_id) for job_id in job_ids]
        failed = [job for job in states if job.status in ("failed", "cancelled")]
        if failed:
            raise RuntimeError(f"import job {failed[0].id} {failed[0].status}: {failed[0].error}")
        if all(job.status == "done" for job in states):
            return sum(job.created for job in states)
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the imports did not finish within {TIMEOUT_SECONDS:g} s")
