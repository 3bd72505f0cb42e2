"""Scenario 1 (and 5): Import from ERP of every customer of the connection, the way ``erpsync import`` runs it (a job
paged by cursor, one transaction per page), over loopback HTTP into the CRM. The connector runs in another process,
so this process's peak memory is the hub's alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url

from bench.measure import Clock, peak_rss_mb, result
from bench.world import CUSTOMER, Site
from erpsync.sync import imports
from erpsync.sync.work import Engine


def measure(site: Site, n: int) -> dict[str, Any]:
    database = site.database()
    clients = site.clients(database)
    try:
        engine = Engine(database, clients)
        [connection_id] = site.connection_ids
        before_mb = peak_rss_mb()
        clock = Clock()
        job = imports.start_import(engine, connection_id, CUSTOMER)
        done = imports.run_import(engine, job.id)
        seconds, cpu = clock.read()
    finally:
        clients.close()
        database.dispose()
    if done is None or (done.status, done.created, done.total) != ("done", n, n):
        raise RuntimeError(f"the import did not create {n} companies: {done and (done.status, done.created)}")
    database_name = make_url(site.database_url).get_backend_name()
    return result(
        "import",
        n,
        seconds,
        records=n,
        database=database_name,
        **cpu,
        rss_before_run_mb=before_mb,
        calls=site.calls(),
    )
