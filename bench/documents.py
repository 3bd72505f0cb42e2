"""The Documents benchmark: ``python -m bench.documents [--invoices 1000] [--requests 200] [--results PATH]``.

The ERP tab's Documents part for a customer with N invoices (sample connector in a process of its own, hub on
SQLite served over loopback HTTP, a signed-in browser session asking for the part as htmx does), in one run:

- ``documents_part_live``: the part's first page with ``refresh=true``, so every request reads the connector
  (a page of documents and the balance) and renders the HTML: median and p99;
- ``documents_pages``: paging through all N documents, one live page of 10 after the other by cursor: p99 per page;
- ``documents_part_cached``: the part's first page again within the cache's life: median and p99.

Target: p99 under 300 ms for the live part and its pages. Writes its section of ``--results`` between the
``documents-bench`` markers, leaving the rest of the file as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.world import connector_process
from erpsync import accounts
from erpsync.app import create_app
from erpsync.connectors.sample import ERP_FILE, SampleErp
from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales_seed import generate_invoices
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER
from erpsync.crypto import cipher_for
from erpsync.protocol import models as m
from erpsync.settings import Settings
from erpsync.testing.db import migrated_database
from erpsync.testing.documents import LinkedCompany, link_company
from erpsync.testing.server import serve_in_thread

RESULTS = Path("bench/RESULTS.md")
BEGIN, END = "<!-- documents-bench: begin -->", "<!-- documents-bench: end -->"
TARGET_P99_MS = 300.0
COMPANY = "NORDIC"
USER, PASSWORD = "bench", "a bench password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
Row = dict[str, Any]


def _erp(folder: Path, invoices: int) -> str:
    """The sample ERP with one customer holding ``invoices`` invoices; returns the customer's key."""
    erp = SampleErp(folder / ERP_FILE)
    try:
        erp.add_user(DEMO_USER, DEMO_PASSWORD, iterations=1000)
        erp.add_company(COMPANY, "Benchmark company")
        key = erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": "Big Buyer A/S"}))
        generate_invoices(erp, invoices, company=COMPANY, customer_key=key, today=dt.date.today())
        return key
    finally:
        erp.close()


@contextmanager
def _hub(folder: Path, invoices: int) -> Iterator[tuple[httpx.Client, LinkedCompany]]:
    """Connector process, hub on SQLite over loopback, the customer linked, a signed-in session."""
    secret = secrets.token_urlsafe(24)
    erp_key = _erp(folder / "erp", invoices)
    settings = Settings(data_dir=folder / "data")
    database = migrated_database(f"sqlite:///{folder / 'erpsync.sqlite'}")
    with database.session() as session:
        accounts.create_user(session, login=USER, password=PASSWORD, licences=("erp",))
    config: m.Config = {"company": COMPANY, "user": DEMO_USER, "password": DEMO_PASSWORD}
    try:
        with (
            connector_process(folder / "erp", secret) as url,
            serve_in_thread(create_app(settings, database=database)) as hub,
        ):
            linked = link_company(
                database, cipher_for(settings), url=url, secret=secret, config=config, erp_key=erp_key
            )
            with httpx.Client(base_url=hub, timeout=30) as browser:
                token = _CSRF.search(browser.get("/login").text)
                assert token is not None
                data = {"csrf_token": token.group(1), "username": USER, "password": PASSWORD}
                assert browser.post("/login", data=data).status_code == 303
                yield browser, linked
    finally:
        database.dispose()


def _timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or "data-erp-documents" not in answer.text or "data-documents-error" in answer.text:
        raise RuntimeError(f"the Documents part failed: HTTP {answer.status_code} {answer.text[:300]}")
    return elapsed, answer


def _row(scenario: str, n: int, times: list[float], **details: Any) -> Row:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "scenario": scenario,
        "n": n,
        "requests": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(ordered[-1], 1),
        **details,
    }


def measure(invoices: int, requests: int) -> list[Row]:
    htmx = {"HX-Request": "true"}
    with (
        tempfile.TemporaryDirectory(prefix="erpsync-bench-documents-") as folder,
        _hub(Path(folder), invoices) as (
            browser,
            linked,
        ),
    ):
        part = f"/companies/{linked.company_id}/erp/{linked.connection_id}/documents"
        _timed(lambda: browser.get(part, headers=htmx))  # warm up: the connector's info, the first connection
        live = [_timed(lambda: browser.get(part, params={"refresh": "true"}, headers=htmx))[0] for _ in range(requests)]
        pages, cursor, start = [], None, 0
        while True:
            params = {"refresh": "true", **({"cursor": cursor, "start": str(start)} if cursor else {})}
            elapsed, answer = _timed(lambda: browser.get(part, params=params, headers=htmx))  # noqa: B023
            pages.append(elapsed)
            found = re.search(r'href="[^"]*cursor=([^"&]+)', answer.text)
            if found is None:
                break
            cursor, start = httpx.QueryParams(f"cursor={found.group(1)}")["cursor"], start + 10
        cached = [_timed(lambda: browser.get(part, headers=htmx))[0] for _ in range(requests)]
    return [
        _row("documents_part_live", invoices, live, target_p99_ms=TARGET_P99_MS),
        _row("documents_pages", invoices, pages, pages=len(pages), target_p99_ms=TARGET_P99_MS),
        _row("documents_part_cached", invoices, cached),
    ]


def section(rows: list[Row]) -> str:
    lines = [BEGIN, "## ERP documents (the ERP tab's Documents part, `python -m bench.documents`)", ""]
    lines += [
        "| Scenario | Invoices | Requests | Median ms | p99 ms | Max ms | Target |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = f"p99 < {row['target_p99_ms']:g} ms" if "target_p99_ms" in row else ""
        met = "" if not target else (" (met)" if row["p99_ms"] < row["target_p99_ms"] else " (MISSED)")
        lines.append(
            f"| {row['scenario']} | {row['n']:,} | {row['requests']} | {row['median_ms']} | {row['p99_ms']} | "
            f"{row['max_ms']} | {target}{met} |"
        )
    lines += [
        "",
        "The hub on SQLite and the sample connector in a process of its own, over loopback HTTP; each request is the",
        "part as htmx asks for it (HTML rendered). Live: `refresh=true`, a page of 10 and the balance read from the",
        "connector every time; pages: every page of the customer's invoices by cursor.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, rows: list[Row]) -> None:
    report.replace_section(path, BEGIN, END, section(rows))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1000, help="the customer's invoices")
    parser.add_argument("--requests", type=int, default=200, help="requests per repeated scenario")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file whose section to write")
    parser.add_argument("--no-results", action="store_true", help="print the JSON lines only")
    args = parser.parse_args(argv)
    rows = measure(args.invoices, args.requests)
    for row in rows:
        print(json.dumps(row), flush=True)
    if not args.no_results:
        write_section(args.results, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
