"""The results: rows derived from others (memory, growth ratios), the targets, and the Markdown of bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def memory_row(imported: Row) -> Row:
    """Scenario 5 from the import's own child process: its peak RSS, and how much the run added to it."""
    return {
        "scenario": "import_memory",
        "database": imported["database"],
        "n": imported["n"],
        "seconds": imported["seconds"],
        "records_per_s": None,
        "peak_rss_mb": imported["peak_rss_mb"],
        "ratio_to_limit": None,
        "growth_during_run_mb": round(imported["peak_rss_mb"] - imported["rss_before_run_mb"], 1),
    }


# --- targets --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    check: Callable[[Sequence[Row]], tuple[str, bool | None]]
    """The measured figure as text, and whether it meets the target (None: not measured in this run)."""


def _rows(rows: Sequence[Row], scenario: str, database: str | None = None) -> dict[int, Row]:
    return {
        row["n"]: row
        for row in rows
        if row["scenario"] == scenario and (database is None or row.get("database") == database)
    }


def _largest(found: dict[int, Row]) -> tuple[int, Row]:
    n = max(found)
    return n, found[n]


def _import_speed(database: str, bound: int) -> Callable[[Sequence[Row]], tuple[str, bool | None]]:
    def check(rows: Sequence[Row]) -> tuple[str, bool | None]:
        found = _rows(rows, "import", database)
        if not found:
            return "not run", None
        n, row = _largest(found)
        return f"{row['records_per_s']:,} records/s at {n:,}", row["records_per_s"] >= bound

    return check


def _import_limit(database: str, bound: float) -> Callable[[Sequence[Row]], tuple[str, bool | None]]:
    def check(rows: Sequence[Row]) -> tuple[str, bool | None]:
        found = _rows(rows, "import", database)
        if not found:
            return "not run", None
        n, row = _largest(found)
        limit = _rows(rows, "import_limit", database)[n]
        figure = f"{row['ratio_to_limit']:.2f}x the limit at {n:,} (limit {limit['records_per_s']:,} records/s)"
        if row.get("machine_cpu_seconds") is not None and limit.get("machine_cpu_seconds"):
            work = row["machine_cpu_seconds"] / limit["machine_cpu_seconds"]
            figure += (
                f"; CPU of the whole machine {work:.2f}x the limit's, cores busy {row['cores_busy']:.2f} "
                f"(limit {limit['cores_busy']:.2f})"
            )
        return figure, row["ratio_to_limit"] <= bound

    return check


def _growth(
    scenario: str, key: str, bound: float, database: str | None = None
) -> Callable[[Sequence[Row]], tuple[str, bool | None]]:
    def check(rows: Sequence[Row]) -> tuple[str, bool | None]:
        found = _rows(rows, scenario, database)
        if 10_000 not in found or 100_000 not in found:
            return "needs 10k and 100k (full run)", None
        ratio = found[100_000][key] / found[10_000][key]
        return f"100k / 10k = {ratio:.2f}", ratio <= bound

    return check


def _sync_now(rows: Sequence[Row]) -> tuple[str, bool | None]:
    found = _rows(rows, "sync_now")
    if not found:
        return "not run", None
    worst = max(row["p99_ms"] for row in found.values())
    return f"p99 {worst:.1f} ms (worst size)", worst < 200


def _no_change(rows: Sequence[Row]) -> tuple[str, bool | None]:
    found = _rows(rows, "no_change_cycle")
    if not found:
        return "not run", None
    written = max(row["rows_written"] for row in found.values())
    return f"{written} rows written", written == 0


TARGETS = (
    Target("Import on SQLite >= 10,000 records/s (at 100k)", _import_speed("sqlite", 10_000)),
    Target("Import on PostgreSQL >= 5,000 records/s (at 100k)", _import_speed("postgresql", 5_000)),
    Target("Import on SQLite within 1.5x of the raw-driver limit (at 100k)", _import_limit("sqlite", 1.5)),
    Target("Import on PostgreSQL within 1.5x of the raw-driver limit (at 100k)", _import_limit("postgresql", 1.5)),
    Target("Import on PostgreSQL linear: 100k time within 11x of 10k", _growth("import", "seconds", 11, "postgresql")),
    Target("Import on SQLite linear: 100k time within 11x of 10k", _growth("import", "seconds", 11, "sqlite")),
    Target(
        "Import peak memory at 100k within 1.2x of 10k (SQLite)", _growth("import_memory", "peak_rss_mb", 1.2, "sqlite")
    ),
    Target(
        "Import peak memory at 100k within 1.2x of 10k (PostgreSQL)",
        _growth("import_memory", "peak_rss_mb", 1.2, "postgresql"),
    ),
    Target("Incremental cycle at 100k within 1.5x of 10k", _growth("incremental_cycle", "seconds", 1.5)),
    Target("No-change cycle writes 0 rows", _no_change),
    Target("Sync now p99 under 200 ms", _sync_now),
)


# --- Markdown -------------------------------------------------------------------------------------------------------

COLUMNS = ("scenario", "database", "n", "seconds", "records_per_s", "peak_rss_mb", "ratio_to_limit")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return str(value)


def _extra(row: Row) -> str:
    return "; ".join(f"{key}: {_cell(value)}" for key, value in row.items() if key not in COLUMNS)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo", encoding="utf-8")  # noqa: SIM115
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    sqlite = subprocess.run(
        ["python3", "-c", "import sqlite3; print(sqlite3.sqlite_version)"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = load_average()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite}; load average at the end {load} (1, 5, 15 min: "
        "other processes on the same cores slow every figure)"
    )


TITLE = "# Benchmark results\n\n"
BEGIN, END = "<!-- run-bench: begin -->", "<!-- run-bench: end -->"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as every section of the results states them."""
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def targets_table(targets: Iterable[tuple[str, str, bool | None]]) -> list[str]:
    """The Markdown lines of a table of targets: each one's name, figure and whether it is met (None: not run)."""
    lines = ["| Target | Measured | Met |", "|---|---|---|"]
    for name, figure, met in targets:
        lines.append(f"| {name} | {figure} | {'' if met is None else ('yes' if met else '**no**')} |")
    return lines


def write(path: Path, rows: Sequence[Row], *, quick: bool, seconds: float) -> None:
    """Write the runner's section of ``path`` (between the ``run-bench`` markers)."""
    replace_section(path, BEGIN, END, markdown(rows, quick=quick, seconds=seconds))


def markdown(rows: Sequence[Row], *, quick: bool, seconds: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Import, cycles and scale-out (`python -m bench.run`)",
        "",
        f"Written by `python -m bench.run{' --quick' if quick else ''}` on {now}, in {seconds:.0f} s.",
        "",
        f"Machine: {_machine()}.",
        "",
        "### Targets",
        "",
        *targets_table((target.name, *target.check(rows)) for target in TARGETS),
    ]
    lines += ["", "### Scenarios", "", "| " + " | ".join(COLUMNS) + " | details |", "|" + "---|" * (len(COLUMNS) + 1)]
    lines += ["| " + " | ".join(_cell(row.get(key)) for key in COLUMNS) + f" | {_extra(row)} |" for row in rows]
    lines += ["", "How to read them: bench/README.md.", END, ""]
    return "\n".join(lines)


def replace_section(path: Path, begin: str, end: str, section: str) -> None:
    """Write ``section`` (which starts with ``begin`` and ends with ``end``) over the one between those markers in
    ``path``, or append it; the rest of the file is left as it is. A new file (and its folder) starts with the
    title."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else TITLE
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
