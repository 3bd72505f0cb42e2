"""The Tryton benchmark: ``python -m bench.tryton [--sizes 5000,20000] [--results bench/RESULTS.md]``.

Against a real trytond (the test fixture's pinned Tryton and template, SQLite) holding N parties created through
Tryton's JSON-RPC as a company's data would be (batched create calls, each party with an address, an e-mail and a
phone, in the customers' category), it measures in one run:

- ``tryton_bare_read``: the yardstick, a bare JSON-RPC client reading the mapped data: pages of 500 parties by id,
  then their addresses (the stored street) and contact mechanisms by party, three calls a page;
- ``tryton_import``: Import from ERP of every customer through the hub (SQLite) and the Tryton connector, served by a
  process of its own over loopback HTTP; ``ratio_to_bare`` = import time / bare read time;
- ``tryton_first_cycle``: the first sync cycle after the import (nothing changed);
- ``tryton_quiet_cycle``: a cycle after that (nothing changed);
- ``tryton_changes_cycle``: a cycle after 50 parties changed in Tryton and 50 other companies in the CRM.

Each row also gives the Tryton calls made (counted by the connector process as protocol operations) and the time.
Writes its section of ``--results`` between the ``tryton-bench`` markers, leaving the rest of the file as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.connector_proc import CALLS_PATH
from bench.world import _wait_until_up
from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import user_origin, write_record
from erpsync.crypto import Cipher, key_from_secret
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpConnection
from erpsync.sync import configuration, configuration_loading, imports
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.engine import run_cycle
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine
from erpsync.testing.db import migrated_database
from erpsync.testing.server import free_port
from erpsync.testing.tryton import (
    COUNTRIES,
    ROLE_CATEGORIES,
    TrytonServer,
    cache_dir,
    ensure_template,
    ensure_venv,
    tryton_server,
)

CUSTOMER = m.ActorType.CUSTOMER
SEED_BATCH = 250
PAGE = 500
CHANGED_PER_SIDE = 50
SYNCED = {"name": "NAME", "email": "EMAIL", "phone": "PHONE", "street": "POSTALAD1", "postal_code": "POSTALZIP"}
SYNCED |= {"city": "POSTALCITY", "country": "COUNTRY"}
# The stored street, not Tryton's computed ``street`` (several times slower to read): what a careful client reads.
BARE_ADDRESS = ["street_unstructured", "postal_code", "city", "country.code"]
RESULTS = Path("bench/RESULTS.md")
BEGIN, END = "<!-- tryton-bench: begin -->", "<!-- tryton-bench: end -->"
Row = dict[str, Any]


# --- Tryton, filled as a company's users would ----------------------------------------------------------------------


def seed(rpc: TrytonRpc, n: int) -> int:
    """N customers with an address, an e-mail and a phone, created in batches; returns the customer category."""
    (customer,) = rpc.search("party.category", [["name", "=", ROLE_CATEGORIES[0]]])
    countries = rpc.search("country.country", [], order=[["id", "ASC"]])
    for start in range(0, n, SEED_BATCH):
        rpc.create("party.party", [_party(i, customer, countries) for i in range(start, min(n, start + SEED_BATCH))])
    return int(customer)


def _party(i: int, category: int, countries: list[int]) -> dict[str, Any]:
    address = {"street": f"Street {i}", "postal_code": f"{1000 + i % 9000}", "city": f"City {i % 97}"}
    mechanisms = [{"type": "email", "value": f"party{i}@example.com"}, {"type": "phone", "value": f"+45 {i:08d}"}]
    return {
        "name": f"Party {i:06d}",
        "categories": [["add", [category]]],
        "addresses": [["create", [{**address, "country": countries[i % len(countries)]}]]],
        "contact_mechanisms": [["create", mechanisms]],
    }


def bare_read(rpc: TrytonRpc, category: int) -> tuple[float, int, int]:
    """Seconds, parties and calls for a bare client reading the mapped data by pages of parties."""
    start, last, parties, calls = time.perf_counter(), 0, 0, 0
    while True:
        domain = [["categories", "in", [category]], ["id", ">", last]]
        names = ["name", "code", "lang.code", "categories", "write_date", "create_date"]
        rows = rpc.search_read("party.party", domain, names, limit=PAGE, order=[["id", "ASC"]])
        calls += 1
        if not rows:
            return time.perf_counter() - start, parties, calls
        ids = [row["id"] for row in rows]
        rpc.search_read("party.address", [["party", "in", ids]], ["party", *BARE_ADDRESS])
        rpc.search_read("party.contact_mechanism", [["party", "in", ids]], ["party", "type", "value"])
        calls += 2
        parties, last = parties + len(rows), ids[-1]


# --- the hub --------------------------------------------------------------------------------------------------------


@contextmanager
def connector_process(secret: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "bench.tryton_proc", str(port), secret])
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def connector_calls(url: str) -> dict[str, int]:
    calls: dict[str, int] = httpx.get(url + CALLS_PATH, timeout=10).json()
    return calls


def build_hub(database: Database, clients: ConnectorClients, url: str, secret: str, server: TrytonServer) -> int:
    """One active connection to ``server`` with the customers' name, contacts, address and country synced."""
    with database.session() as session:
        registered = add_connector(session, clients, name="Tryton", url=url, secret=secret)
        draft = ConnectionDraft(name="Tryton", connector_id=registered.id, config=server.config())
        connection_id = create_connection(session, clients, draft).id
        countries = {code: crm_lists.add_item(session, CrmList.COUNTRY, label=name).id for code, name in COUNTRIES}
    with database.read_session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
    erp_lists = configuration_loading.read_erp_lists(clients, connection, ["countries"])
    items = {item.key: countries.get(item.key) for item in erp_lists["countries"]}
    rows = tuple(FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH) for erp, crm in SYNCED.items())
    with database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        mapping = ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)
        configuration.save_mapping(session, connection, mapping, erp_lists=erp_lists)
        countries_mapping = ListMapping(list_name="countries", crm_list=CrmList.COUNTRY, items=items)
        configuration.save_list_mappings(session, connection, {"countries": countries_mapping}, erp_lists=erp_lists)
        configuration.activate(session, connection, erp_lists=erp_lists)
    return connection_id


def timed_cycle(engine: Engine, url: str, name: str, n: int) -> Row:
    before = connector_calls(url)
    start = time.perf_counter()
    [summary] = run_cycle(engine)
    seconds = time.perf_counter() - start
    calls = _calls_since(before, connector_calls(url))
    counts = summary.counts
    return _row(
        name,
        n,
        seconds,
        records=counts.records,
        crm_writes=counts.crm_writes,
        erp_writes=counts.erp_writes,
        errors=counts.errors,
        calls=calls,
    )


def change_both_sides(database: Database, server: TrytonServer, category: int) -> None:
    with server.rpc() as rpc:
        parties = rpc.search(
            "party.party", [["categories", "in", [category]]], limit=2 * CHANGED_PER_SIDE, order=[["id", "ASC"]]
        )
        for party in parties[:CHANGED_PER_SIDE]:
            rpc.write("party.party", [party], {"name": f"Renamed in Tryton {party}"})
    with database.session() as session:
        from sqlalchemy import select

        ids = list(session.scalars(select(Company.id).order_by(Company.id.desc()).limit(CHANGED_PER_SIDE)))
        for company_id in ids:
            write_record(
                session,
                EntityType.COMPANY,
                company_id,
                {"EMAIL": f"crm{company_id}@example.com"},
                changed_by=user_origin(1),
            )


# --- the run --------------------------------------------------------------------------------------------------------


def measure(n: int, folder: Path) -> list[Row]:
    cache = cache_dir()
    bin_dir = ensure_venv(cache)
    template = ensure_template(cache, bin_dir)
    rows: list[Row] = []
    secret = secrets.token_urlsafe(24)
    with tryton_server(bin_dir=bin_dir, template=template, workdir=folder) as server, _rpc(server) as rpc:
        start = time.perf_counter()
        category = seed(rpc, n)
        print(f"seeded {n} parties in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        bare_seconds, parties, bare_calls = bare_read(rpc, category)
        rows.append(_row("tryton_bare_read", n, bare_seconds, records=parties, tryton_calls=bare_calls))
        database = migrated_database(f"sqlite:///{folder / 'hub.sqlite'}")
        clients = hub_clients(database, Cipher(key_from_secret("tryton bench hub secret " * 2)), timeout=120)
        try:
            with connector_process(secret) as url:
                connection_id = build_hub(database, clients, url, secret, server)
                engine = Engine(database, clients)
                before = connector_calls(url)
                start = time.perf_counter()
                job = imports.start_import(engine, connection_id, CUSTOMER)
                done = imports.run_import(engine, job.id)
                seconds = time.perf_counter() - start
                assert done is not None
                if (done.status, done.created, done.total) != ("done", n, n):
                    raise RuntimeError(f"the import did not create {n}: {(done.status, done.created, done.total)}")
                calls = _calls_since(before, connector_calls(url))
                imported = _row("tryton_import", n, seconds, records=done.created, calls=calls)
                imported["ratio_to_bare"] = round(seconds / bare_seconds, 2)
                rows.append(imported)
                rows.append(timed_cycle(engine, url, "tryton_first_cycle", n))
                rows.append(timed_cycle(engine, url, "tryton_quiet_cycle", n))
                change_both_sides(database, server, category)
                rows.append(timed_cycle(engine, url, "tryton_changes_cycle", n))
        finally:
            clients.close()
            database.dispose()
    return rows


def _rpc(server: TrytonServer) -> TrytonRpc:
    rpc = TrytonRpc(server.url, server.database, timeout=600)
    rpc.login(server.login, server.password)
    return rpc


def _calls_since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {op: count - before.get(op, 0) for op, count in after.items() if count - before.get(op, 0)}


def _row(scenario: str, n: int, seconds: float, **details: Any) -> Row:
    records = details.get("records") or 0
    rate = round(records / seconds, 1) if seconds and records else None
    return {"scenario": scenario, "n": n, "seconds": round(seconds, 3), "records_per_s": rate, **details}


def section(rows: list[Row]) -> str:
    lines = [BEGIN, "## Tryton (real trytond 8.2 on SQLite, `python -m bench.tryton`)", ""]
    lines += ["| Scenario | N | Seconds | Records/s | Details |", "|---|---|---|---|---|"]
    for row in rows:
        details = {k: v for k, v in row.items() if k not in ("scenario", "n", "seconds", "records_per_s")}
        lines.append(
            f"| {row['scenario']} | {row['n']:,} | {row['seconds']} | {row['records_per_s'] or ''} | "
            f"`{json.dumps(details)}` |"
        )
    imports_ = {row["n"]: row for row in rows if row["scenario"] == "tryton_import"}
    if len(imports_) >= 2:
        small, large = min(imports_), max(imports_)
        growth = imports_[large]["seconds"] / imports_[small]["seconds"]
        lines += ["", f"Import time {large:,} / {small:,}: {growth:.2f} (target <= {1.1 * large / small:.1f})."]
    load = report.load_average()
    lines += ["", f"Load average when the section was written: {load} on {os.cpu_count()} cores."]
    lines += [
        "",
        "Targets: import within 2x of the bare read (`ratio_to_bare` <= 2), linear in N; quiet cycle reads nothing.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, rows: list[Row]) -> None:
    report.replace_section(path, BEGIN, END, section(rows))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tryton", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,20000", help="comma-separated numbers of parties")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file whose section to write")
    parser.add_argument("--no-results", action="store_true", help="print the JSON lines only")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for n in (int(size) for size in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="erpsync-bench-tryton-") as folder:
            for row in measure(n, Path(folder)):
                rows.append(row)
                print(json.dumps(row), flush=True)
    if not args.no_results:
        write_section(args.results, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
