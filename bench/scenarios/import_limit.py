"""The limit of scenario 1, measured in the same run: the same pages fetched with a bare httpx client (signed, no
models, no retries), then ONE transaction of bulk inserts of the same rows (the companies and their links) into the
same kind of database. Nothing is checked or matched: this is what the hardware and libraries allow, not a sync."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from sqlalchemy import insert, update

from bench.measure import result
from bench.world import CUSTOMER, MAPPED, PAGE_SIZE, Site, engine_pass
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.protocol.signing import signed_headers_v2
from erpsync.storage.db import Database
from erpsync.storage.tables import ChangeCounter, Company, ErpLink, utcnow
from erpsync.sync.engine import Engine, Pass

ORIGIN = "bench:limit"


def measure(site: Site, n: int) -> dict[str, Any]:
    database = site.database()
    clients = site.clients(database)
    try:
        p = engine_pass(Engine(database, clients), site.connection_ids[0])
        start = time.perf_counter()
        actors = fetch_all(site, p)
        fetched = time.perf_counter()
        insert_all(database, p, actors)
        seconds = time.perf_counter() - start
    finally:
        clients.close()
        database.dispose()
    if len(actors) != n:
        raise RuntimeError(f"the limit fetched {len(actors)} actors, not {n}")
    return result(
        "import_limit",
        n,
        seconds,
        records=n,
        fetch_seconds=round(fetched - start, 4),
        insert_seconds=round(seconds - (fetched - start), 4),
    )


def fetch_all(site: Site, p: Pass) -> list[dict[str, Any]]:
    actors: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=site.connector_url, timeout=60) as http:
        while True:
            request = {
                "connection_id": p.connection_uuid,
                "actor_type": CUSTOMER.value,
                "since": None,
                "field_keys": p.field_keys,
                "cursor": cursor,
                "limit": PAGE_SIZE,
            }
            body = json.dumps(request).encode()
            signed = signed_headers_v2(site.connector_secret, body, path="/v1/changes")
            headers = {"Content-Type": "application/json", **signed}
            page = http.post("/v1/changes", content=body, headers=headers).json()
            actors += page["actors"]
            cursor = page["next_cursor"]
            if cursor is None:
                return actors


def insert_all(database: Database, p: Pass, actors: list[dict[str, Any]]) -> None:
    attrs = {erp: CRM_FIELDS[EntityType.COMPANY][crm].attr for erp, crm in MAPPED.items()}
    countries = p.lists["country"].items
    now = utcnow()
    rows = [
        {attrs[key]: countries.get(str(v)) if key == "country" else v for key, v in actor["fields"].items()}
        for actor in actors
    ]
    with database.session() as session:
        bump = update(ChangeCounter).values(value=ChangeCounter.value + len(rows)).returning(ChangeCounter.value)
        first = int(session.execute(bump).scalar_one()) - len(rows) + 1
        stamped = [
            {**row, "change_seq": first + i, "changed_by": ORIGIN, "updated_at": now} for i, row in enumerate(rows)
        ]
        ids = session.scalars(insert(Company).returning(Company.id, sort_by_parameter_order=True), stamped)
        links = [
            {
                "connection_id": p.connection_id,
                "entity_type": EntityType.COMPANY.value,
                "entity_id": entity_id,
                "actor_type": CUSTOMER.value,
                "erp_key": actor["erp_key"],
                "agreed_json": actor["fields"],
                "state": "ok",
                "attempts": 0,
                "last_sync_at": now,
                "created_at": now,
            }
            for entity_id, actor in zip(ids, actors, strict=True)
        ]
        session.execute(insert(ErpLink), links)
