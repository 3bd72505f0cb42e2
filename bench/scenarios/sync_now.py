"""Scenario 4: *Sync now* of one record (``engine.sync_link``), one call after another on different records; every
other record has a CRM change to carry to the ERP (made before its call's clock starts). Median and p99 latency."""

from __future__ import annotations

import random
import time
from typing import Any

from bench.measure import median, percentile, result
from bench.scenarios.cycles import site_engine
from bench.world import Site, linked_pairs
from erpsync.crm.fields import EntityType
from erpsync.crm.service import write_record
from erpsync.sync.engine import sync_link

CALLS = 200


def measure(site: Site, n: int, calls: int = CALLS) -> dict[str, Any]:
    rng = random.Random(n + 1)
    with site_engine(site) as engine:
        pairs = rng.sample(linked_pairs(engine.database, site.connection_ids[0]), calls)
        timings, written = [], 0
        for number, (link_id, company_id, _) in enumerate(pairs):
            if number % 2:
                with engine.database.session() as session:
                    values = {"PHONE": f"+45 {number:08d}"}
                    write_record(session, EntityType.COMPANY, company_id, values, changed_by="user:bench")
            start = time.perf_counter()
            record = sync_link(engine, link_id)
            timings.append(time.perf_counter() - start)
            written += bool(record.changed_erp)
    if written != calls // 2:
        raise RuntimeError(f"{written} of {calls // 2} changed records reached the ERP")
    ms = [t * 1000 for t in timings]
    return result(
        "sync_now",
        n,
        sum(timings),
        calls=calls,
        median_ms=round(median(ms), 1),
        p99_ms=round(percentile(ms, 0.99), 1),
        max_ms=round(max(ms), 1),
    )
