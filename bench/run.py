"""The benchmark runner: ``python -m bench.run [--quick] [--sizes 10000,100000] [--results bench/RESULTS.md]``.

Builds each scenario's world (setup, not measured), measures it in a child process of its own (``bench.child``),
prints one JSON object per scenario and size on its own line, and writes the Markdown table with the targets to
``--results``. The import and its limit are measured ``--pairs`` times side by side (the median pair is reported).
``--quick`` runs 10k only with one pair, 50 Sync now calls and no scale-out (``--quick --only scale_out`` runs
a small one: 2k actors, 1 and 2 workers), and writes its table to bench/out/ (not the committed bench/RESULTS.md).
The import and its limit run on SQLite and on PostgreSQL (a database of the bench's own on the server the tests use,
dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench import report
from bench.world import Site, connector_process, link_everything, new_site, seed_erp
from erpsync.testing.db import postgres_database

CHILD_TIMEOUT_SECONDS = 1800
CHANGED_PER_SIDE = 100  # records changed on each side before an incremental cycle (fewer when N is tiny)
COMPANY = "NORDIC"
RESULTS = Path("bench/RESULTS.md")
QUICK_RESULTS = Path("bench/out/RESULTS-quick.md")  # bench/out/ is not committed
DATABASES = ("sqlite", "postgresql")
Row = dict[str, Any]


@dataclass
class Options:
    sizes: list[int]
    scale_out_n: int
    scale_out_workers: list[int]
    results: Path | None
    quick: bool
    databases: list[str] = field(default_factory=lambda: list(DATABASES))
    sync_now_calls: int = 200
    pairs: int = 3
    scenarios: set[str] = field(default_factory=set)


def measure_in_child(module: str, site: Path, n: int, **options: Any) -> Row:
    """Run ``bench.scenarios.<module>.measure`` in a fresh Python process; its result row."""
    command = [sys.executable, "-m", "bench.child", module, str(site), str(n), json.dumps(options)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {module} at {n} failed:\n{done.stderr[-4000:]}")
    row: Row = json.loads(done.stdout.strip().splitlines()[-1])
    return row


@contextmanager
def sqlite_site(folder: Path, n: int) -> Iterator[tuple[Site, Path]]:
    """An ERP with ``n`` customers, its connector process and a SQLite hub with one connection; and where the site's
    JSON is."""
    with hub_sites(folder, n, [f"sqlite:///{folder / 'hub.sqlite'}"]) as [(site, site_path)]:
        yield site, site_path


@contextmanager
def hub_sites(folder: Path, n: int, database_urls: list[str]) -> Iterator[list[tuple[Site, Path]]]:
    """An ERP with ``n`` customers and its connector process, and one hub with one connection on each of
    ``database_urls``; each with where its site's JSON is."""
    secret = secrets.token_urlsafe(24)
    seed_erp(folder / "erp", {COMPANY: n})
    with connector_process(folder / "erp", secret) as url:
        sites = [new_site(folder / "erp", database_url, url, secret, [COMPANY]) for database_url in database_urls]
        yield [(site, site.save(folder / f"site-{number}.json")) for number, site in enumerate(sites)]


# --- suites: each builds one world and measures the scenarios that share it -----------------------------------------


def import_suite(folder: Path, n: int, database: str, emit: Callable[[Row], None], pairs: int) -> None:
    """Scenarios 1 and 5 on ``database``: the limit and the import side by side on hubs of their own, ``pairs``
    times in alternating order (the limit first, then the import first, ...). The machine's speed drifts from one
    measurement to the next, so one pair is at its mercy: the pair with the median ratio is reported, with every
    pair's ratio."""
    with ExitStack() as stack:
        if database == "postgresql":
            urls = [stack.enter_context(postgres_database()) for _ in range(2 * pairs)]
        else:
            urls = [f"sqlite:///{folder / f'hub-{number}.sqlite'}" for number in range(2 * pairs)]
        with hub_sites(folder, n, urls) as sites:
            measured = []
            for number in range(pairs):
                order = [("import_limit", sites[2 * number][1]), ("import_erp", sites[2 * number + 1][1])]
                rows = {module: measure_in_child(module, path, n) for module, path in order[:: -1 if number % 2 else 1]}
                measured.append((rows["import_limit"], rows["import_erp"]))
    for limit, imported in measured:
        imported["ratio_to_limit"] = round(imported["seconds"] / limit["seconds"], 2)
    limit, imported = sorted(measured, key=lambda pair: float(pair[1]["ratio_to_limit"]))[len(measured) // 2]
    if pairs > 1:
        imported["pair_ratios"] = [pair[1]["ratio_to_limit"] for pair in measured]
    emit(limit)
    emit(imported)
    emit(report.memory_row(imported))


def cycle_suite(folder: Path, n: int, options: Options, emit: Callable[[Row], None]) -> None:
    """Scenarios 2, 3 and 4 on N linked records (linked in bulk as setup)."""
    with sqlite_site(folder, n) as (site, site_path):
        linked = link_everything(site, site.connection_ids[0])
        if linked != n:
            raise RuntimeError(f"linked {linked} records, not {n}")
        emit(measure_in_child("no_change_cycle", site_path, n))
        emit(measure_in_child("incremental_cycle", site_path, n, changed=min(CHANGED_PER_SIDE, n // 6)))
        emit(measure_in_child("sync_now", site_path, n, calls=min(options.sync_now_calls, n)))


def scale_out_suite(folder: Path, options: Options, emit: Callable[[Row], None]) -> None:
    from bench.scenarios import scale_out  # needs PostgreSQL and Redis: imported only when it runs

    for row in scale_out.run(folder, options.scale_out_n, options.scale_out_workers):
        emit(row)


# --- the run --------------------------------------------------------------------------------------------------------


def run(options: Options) -> list[Row]:
    rows: list[Row] = []

    def emit(row: Row) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    suites: list[tuple[str, Callable[[Path], None]]] = []
    for n in options.sizes:
        for database in options.databases:
            suites.append(("import", partial(import_suite, n=n, database=database, emit=emit, pairs=options.pairs)))
    for n in options.sizes:
        suites.append(("cycles", partial(cycle_suite, n=n, options=options, emit=emit)))
    if not options.quick or "scale_out" in options.scenarios:  # quick leaves scale-out out unless asked for
        suites.append(("scale_out", partial(scale_out_suite, options=options, emit=emit)))
    for name, suite in suites:
        if options.scenarios and name not in options.scenarios:
            continue
        with tempfile.TemporaryDirectory(prefix=f"erpsync-bench-{name}-") as folder:
            suite(Path(folder))
    return rows


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k only, no scale-out: under a minute")
    parser.add_argument("--sizes", help="comma-separated numbers of actors (default 10000,100000; quick 10000)")
    parser.add_argument("--scale-out-n", type=int, help="customers per scale-out run, over 4 connections")
    parser.add_argument("--workers", help="Dramatiq worker processes per scale-out run (default 1,2,4; quick 1,2)")
    parser.add_argument("--only", default="", help="comma-separated suites to run: import, cycles, scale_out")
    parser.add_argument(
        "--databases",
        default=",".join(DATABASES),
        help="comma-separated hub databases of the import: sqlite, postgresql",
    )
    parser.add_argument(
        "--results", type=Path, help=f"the Markdown file to write (default {RESULTS}; quick {QUICK_RESULTS})"
    )
    parser.add_argument(
        "--pairs",
        type=_positive,
        help="limit-and-import pairs per database and size, the median reported (default 3; quick 1)",
    )
    parser.add_argument("--no-results", action="store_true", help="print the JSON lines only")
    args = parser.parse_args(argv)
    sizes = args.sizes or ("10000" if args.quick else "10000,100000")
    return Options(
        sizes=[int(size) for size in sizes.split(",")],
        scale_out_n=args.scale_out_n or (2_000 if args.quick else 40_000),
        scale_out_workers=[int(count) for count in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")],
        results=None if args.no_results else (args.results or (QUICK_RESULTS if args.quick else RESULTS)),
        quick=args.quick,
        databases=[name for name in args.databases.split(",") if name],
        sync_now_calls=50 if args.quick else 200,
        pairs=args.pairs or (1 if args.quick else 3),
        scenarios={name for name in args.only.split(",") if name},
    )


def main(argv: list[str]) -> None:
    options = parse(argv)
    start = time.monotonic()
    rows = run(options)
    if options.results is not None:
        report.write(options.results, rows, quick=options.quick, seconds=time.monotonic() - start)


if __name__ == "__main__":
    main(sys.argv[1:])
