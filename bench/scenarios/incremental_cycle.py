"""Scenario 2: a cycle over N linked records after 100 changed in the ERP and 100 other ones in the CRM. The changes
are made before the clock starts; the cycle must pull, merge and write exactly those 200, whatever N is. Three rounds
on different records; the median is reported."""

from __future__ import annotations

import random
import time
from typing import Any

from bench.measure import median, result
from bench.scenarios.cycles import site_engine
from bench.world import CUSTOMER, Site, linked_pairs
from erpsync.crm.fields import EntityType
from erpsync.crm.service import write_record
from erpsync.storage.db import Database
from erpsync.sync.engine import run_cycle

CHANGED_PER_SIDE = 100
ROUNDS = 3


def measure(site: Site, n: int, changed: int = CHANGED_PER_SIDE) -> dict[str, Any]:
    rng = random.Random(n)
    with site_engine(site) as engine:
        pairs = rng.sample(linked_pairs(engine.database, site.connection_ids[0]), 2 * changed * ROUNDS)
        timings = []
        for round_number in range(ROUNDS):
            chunk = pairs[round_number * 2 * changed : (round_number + 1) * 2 * changed]
            change_both_sides(site, engine.database, chunk, f"r{round_number}")
            start = time.perf_counter()
            [summary] = run_cycle(engine)
            timings.append(time.perf_counter() - start)
            counts = summary.counts
            if (counts.crm_writes, counts.erp_writes, counts.errors) != (changed, changed, 0):
                raise RuntimeError(f"the cycle did not sync exactly the changed records: {summary}")
    return result("incremental_cycle", n, median(timings), changed_per_side=changed, rounds=ROUNDS)


def change_both_sides(site: Site, database: Database, pairs: list[tuple[int, int, str]], tag: str) -> None:
    """Change the e-mail of the first half's ERP customers and the second half's CRM companies."""
    half = len(pairs) // 2
    erp = site.erp()
    try:
        for _, _, erp_key in pairs[:half]:
            erp.update_actor(site.erp_companies[0], CUSTOMER, erp_key, {"email": f"erp-{tag}-{erp_key}@bench.example"})
    finally:
        erp.close()
    with database.session() as session:
        for _, company_id, _ in pairs[half:]:
            values = {"EMAIL": f"crm-{tag}-{company_id}@bench.example"}
            write_record(session, EntityType.COMPANY, company_id, values, changed_by="user:bench")
