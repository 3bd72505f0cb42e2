"""Scenario 3: a cycle over N linked records when nothing changed on either side: near-zero work, zero rows written
(CRM change sequence, links, ``save_actors`` calls). Runs several cycles and reports the median."""

from __future__ import annotations

import time
from typing import Any

from bench.measure import median, result
from bench.scenarios.cycles import Writes, site_engine
from bench.world import Site
from erpsync.sync.engine import run_cycle

CYCLES = 5


def measure(site: Site, n: int) -> dict[str, Any]:
    with site_engine(site) as engine:
        before = Writes.now(engine, site)
        timings = []
        for _ in range(CYCLES):
            start = time.perf_counter()
            [summary] = run_cycle(engine)
            timings.append(time.perf_counter() - start)
        written = before.since(engine, site)
    if summary.status != "ok" or summary.counts.records:
        raise RuntimeError(f"a no-change cycle touched records: {summary}")
    return result(
        "no_change_cycle",
        n,
        median(timings),
        cycles=CYCLES,
        rows_written=sum(written.values()),
        **written,
    )
