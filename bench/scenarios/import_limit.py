"""The limit of scenario 1, measured in the same run: the same pages (same page size and fields) fetched with a bare
signed httpx client in a thread of their own, overlapped with the writes as the product overlaps them, and the same
rows the import stores (a company, its link and the job's item naming what was done with the actor) written by the
raw driver in ONE transaction: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, with ids and change numbers reserved
up front. No models, matching or checks: this is what the hardware, the connector and the database driver allow, not
a sync."""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from bench.measure import Clock, result
from bench.world import CUSTOMER, MAPPED, PAGE_SIZE, Site, engine_pass
from erpsync.crm.fields import CRM_FIELDS, EntityType
from erpsync.protocol.signing import signed_headers_v2
from erpsync.sync import imports
from erpsync.sync.work import Engine, Pass

ORIGIN = "bench:limit"
COMPANY_COLUMNS = (
    "id",
    "change_seq",
    "changed_by",
    "updated_at",
    *(CRM_FIELDS[EntityType.COMPANY][k].attr for k in MAPPED.values()),
)
LINK_COLUMNS = (
    "connection_id",
    "entity_type",
    "entity_id",
    "actor_type",
    "erp_key",
    "agreed_json",
    "state",
    "attempts",
    "last_sync_at",
    "created_at",
)
ITEM_COLUMNS = ("job_id", "erp_key", "action", "entity_type", "entity_id")
Page = list[dict[str, Any]]


def measure(site: Site, n: int) -> dict[str, Any]:
    database = site.database()
    clients = site.clients(database)
    try:
        engine = Engine(database, clients)
        p = engine_pass(engine, site.connection_ids[0])  # setup: what the pages are asked for
        job_id = imports.start_import(engine, p.connection_id, CUSTOMER).id  # setup: the job its items belong to
    finally:
        clients.close()
        database.dispose()
    backend = make_url(site.database_url).get_backend_name()
    clock = Clock()
    writer = PostgresWriter(site, p, job_id) if backend == "postgresql" else SqliteWriter(site, p, job_id)
    with writer:
        count = sum(writer.write(page) for page in fetched_pages(site, p))
    seconds, cpu = clock.read()
    if count != n:
        raise RuntimeError(f"the limit stored {count} actors, not {n}")
    return result("import_limit", n, seconds, records=n, database=backend, **cpu)


def fetched_pages(site: Site, p: Pass) -> Iterator[Page]:
    """The pages of every customer, fetched one ahead in a thread of their own while the caller writes."""
    pages: queue.Queue[Page | BaseException | None] = queue.Queue(maxsize=1)

    def fetch() -> None:
        try:
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
                    pages.put(page["actors"])
                    cursor = page["next_cursor"]
                    if cursor is None:
                        pages.put(None)
                        return
        except BaseException as error:  # handed to the writing thread, which raises it
            pages.put(error)

    thread = threading.Thread(target=fetch, name="limit-fetch", daemon=True)
    thread.start()
    while (page := pages.get()) is not None:
        if isinstance(page, BaseException):
            raise page
        yield page
    thread.join()


class Writer:
    """Turns a page into company, link and item rows (the mapped values, the country through the list mapping)."""

    def __init__(self, site: Site, p: Pass, job_id: int) -> None:
        self.connection_id = p.connection_id
        self.job_id = job_id
        self.countries = p.lists["country"].items
        self.attrs = {erp: CRM_FIELDS[EntityType.COMPANY][crm].attr for erp, crm in MAPPED.items()}
        self.now = datetime.now(UTC).replace(tzinfo=None)

    def rows(self, page: Page, ids: list[int], first_seq: int) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
        companies = []
        for entity_id, seq, actor in zip(ids, range(first_seq, first_seq + len(page)), page, strict=True):
            fields = actor["fields"]
            values = [self.countries.get(str(fields.get(k))) if k == "country" else fields.get(k) for k in MAPPED]
            companies.append((entity_id, seq, ORIGIN, self.now, *values))
        return companies, [actor["fields"] for actor in page]

    def link_row(self, entity_id: int, erp_key: str, agreed: Any, now: Any) -> tuple[Any, ...]:
        return (self.connection_id, "company", entity_id, CUSTOMER.value, erp_key, agreed, "ok", 0, now, now)

    def item_rows(self, page: Page, ids: list[int]) -> list[tuple[Any, ...]]:
        return [
            (self.job_id, actor["erp_key"], "created", "company", entity_id)
            for entity_id, actor in zip(ids, page, strict=True)
        ]


class SqliteWriter(Writer):
    def __init__(self, site: Site, p: Pass, job_id: int) -> None:
        super().__init__(site, p, job_id)
        self.db = sqlite3.connect(make_url(site.database_url).database or "", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.next_id = 0
        self.now_text = self.now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def __enter__(self) -> SqliteWriter:
        self.db.execute("BEGIN IMMEDIATE")
        highest = self.db.execute("SELECT max(id) FROM companies").fetchone()[0] or 0
        ever = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'companies'").fetchone()
        self.next_id = max(highest, ever[0] if ever else 0) + 1
        return self

    def __exit__(self, kind: object, *_rest: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        self.db.close()

    def write(self, page: Page) -> int:
        ids = list(range(self.next_id, self.next_id + len(page)))
        self.next_id += len(page)
        (last,) = self.db.execute(
            "UPDATE change_counter SET value = value + ? RETURNING value", (len(page),)
        ).fetchone()
        companies, agreed = self.rows(page, ids, last - len(page) + 1)
        companies = [(*row[:3], self.now_text, *row[4:]) for row in companies]
        marks = ", ".join("?" * len(COMPANY_COLUMNS))
        self.db.executemany(f"INSERT INTO companies ({', '.join(COMPANY_COLUMNS)}) VALUES ({marks})", companies)
        links = [
            self.link_row(entity_id, actor["erp_key"], json.dumps(values), self.now_text)
            for entity_id, actor, values in zip(ids, page, agreed, strict=True)
        ]
        marks = ", ".join("?" * len(LINK_COLUMNS))
        self.db.executemany(f"INSERT INTO erp_links ({', '.join(LINK_COLUMNS)}) VALUES ({marks})", links)
        marks = ", ".join("?" * len(ITEM_COLUMNS))
        items = self.item_rows(page, ids)
        self.db.executemany(f"INSERT INTO import_items ({', '.join(ITEM_COLUMNS)}) VALUES ({marks})", items)
        return len(page)


class PostgresWriter(Writer):
    def __init__(self, site: Site, p: Pass, job_id: int) -> None:
        super().__init__(site, p, job_id)
        url = make_url(site.database_url).set(drivername="postgresql")
        self.db: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(url.render_as_string(hide_password=False))

    def __enter__(self) -> PostgresWriter:
        return self

    def __exit__(self, kind: object, *_rest: object) -> None:
        if kind is None:
            self.db.commit()
        self.db.close()

    def write(self, page: Page) -> int:
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('companies', 'id')) FROM generate_series(1, %s)", (len(page),)
            )
            ids = [int(row[0]) for row in cursor.fetchall()]
            cursor.execute("UPDATE change_counter SET value = value + %s RETURNING value", (len(page),))
            row = cursor.fetchone()
            assert row is not None
            companies, agreed = self.rows(page, ids, int(row[0]) - len(page) + 1)
            with cursor.copy(f"COPY companies ({', '.join(COMPANY_COLUMNS)}) FROM STDIN") as copy:
                for company in companies:
                    copy.write_row(company)
            with cursor.copy(f"COPY erp_links ({', '.join(LINK_COLUMNS)}) FROM STDIN") as copy:
                for entity_id, actor, values in zip(ids, page, agreed, strict=True):
                    copy.write_row(self.link_row(entity_id, actor["erp_key"], Jsonb(values), self.now))
            with cursor.copy(f"COPY import_items ({', '.join(ITEM_COLUMNS)}) FROM STDIN") as copy:
                for item in self.item_rows(page, ids):
                    copy.write_row(item)
        return len(page)
