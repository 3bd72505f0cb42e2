"""The HTTP load's section of bench/RESULTS.md (between the ``load-bench`` markers): each scenario's figures, and the
load targets of the largest client count checked against them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report

Row = Mapping[str, Any]
BEGIN, END = "<!-- load-bench: begin -->", "<!-- load-bench: end -->"
ME_P99_MS = 300.0
TAB_P99_MS = 2000.0
HUNG_SCENARIO = "hung_connector_search"  # its own searches are refused by design (502/503): not errors


def _at(rows: Sequence[Row], scenario: str, clients: int) -> Row | None:
    return next((row for row in rows if row["scenario"] == scenario and row["clients"] == clients), None)


def _me(row: Row) -> str:
    return f"{row['me_own_process_p99_ms']:,} ms (among the clients {row['me_p99_ms']:,} ms)"


def _me_met(row: Row) -> bool:
    return bool(row["me_own_process_p99_ms"] < ME_P99_MS) and not row["me_own_process_errors"]


def _errors(row: Row) -> int:
    """The failed requests of a scenario: the load's and its ``/me`` probe's among the clients."""
    errors: int = sum(row["errors"].values()) + sum(row["me_errors"].values())
    return errors


def _no_errors(rows: Sequence[Row]) -> tuple[str, bool | None]:
    loads = [row for row in rows if row["scenario"] != HUNG_SCENARIO]
    if not loads:
        return "not run", None
    errors = sum(_errors(row) for row in loads)
    return f"{errors} errors in {sum(row['requests'] for row in loads):,} requests", errors == 0


def _with_import(rows: Sequence[Row], clients: int) -> list[tuple[str, str, bool | None]]:
    row = _at(rows, "mix_with_import", clients)
    name = f"{clients} clients with a background import"
    names = [
        f"{name}: the import finishes every record, 0 errors",
        f"{name}: ERP tab p99 < 2 s",
        f"{name}: `/me` p99 < 300 ms",
    ]
    if row is None:
        return [(target, "not run", None) for target in names]
    job = row["import_job"]
    errors = _errors(row)
    finished = job["status"] == "done" and job.get("created") == job.get("total") and not job.get("failed")
    tab = row.get("tab_p99_ms", float("nan"))
    return [
        (
            names[0],
            f"{job['status']}: {job.get('created', 0):,} of {job.get('total') or 0:,} created in {job['seconds']} s;"
            f" {errors} errors",
            finished and errors == 0,
        ),
        (names[1], f"{tab:,} ms", tab < TAB_P99_MS),
        (names[2], _me(row), _me_met(row)),
    ]


def targets(rows: Sequence[Row]) -> list[tuple[str, str, bool | None]]:
    """Each target of the largest client count: its name, the figure and whether it is met (None: not run)."""
    if not rows:
        return []
    clients = max(row["clients"] for row in rows)
    found: list[tuple[str, str, bool | None]] = []
    tab = _at(rows, "erp_tab", clients)
    found.append(
        (
            f"ERP tab p99 < 2 s at {clients} clients",
            f"{tab['p99_ms']:,} ms" if tab else "not run",
            tab["p99_ms"] < TAB_P99_MS if tab else None,
        )
    )
    figure, met = _no_errors(rows)
    found.append(("0 errors in every load (but the hung connector's own searches, refused by design)", figure, met))
    found += _with_import(rows, clients)
    hung = _at(rows, HUNG_SCENARIO, clients)
    found.append(
        (
            f"Beside a hung connector ({clients} clients searching it): `/me` p99 < 300 ms",
            _me(hung) if hung else "not run",
            _me_met(hung) if hung else None,
        )
    )
    return found


COLUMNS: tuple[tuple[str, Callable[[Row], Any]], ...] = (
    ("scenario", lambda row: row["scenario"]),
    ("clients", lambda row: row["clients"]),
    ("requests", lambda row: f"{row['requests']:,}"),
    ("p50 ms", lambda row: f"{row['p50_ms']:,}"),
    ("p95 ms", lambda row: f"{row['p95_ms']:,}"),
    ("p99 ms", lambda row: f"{row['p99_ms']:,}"),
    ("ERP tab p99 ms", lambda row: f"{row['tab_p99_ms']:,}" if "tab_p99_ms" in row else ""),
    ("errors", lambda row: ", ".join(f"{k}: {v:,}" for k, v in row["errors"].items()) or "0"),
    ("`/me` p99 ms among the clients", lambda row: f"{row['me_p99_ms']:,}"),
    ("`/me` p50 / p99 ms own process", lambda row: f"{row['me_own_process_p50_ms']} / {row['me_own_process_p99_ms']}"),
    ("hub CPU ms per request", lambda row: row["hub_cpu_ms_per_request"]),
)


def section(rows: Sequence[Row], *, command: str, seconds: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"## HTTP load (`{command}`, {now}, {seconds:.0f} s)",
        "",
        f"Load average at the end: {report.load_average()} on {os.cpu_count()} cores. `/me` targets are judged by the",
        "probe in a process of its own (the hub alone); the probe among the clients also waits for the load",
        "generator's event loop (bench/README.md).",
        "",
        *report.targets_table(targets(rows)),
    ]
    lines += ["", "| " + " | ".join(name for name, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell(row)) for _, cell in COLUMNS) + " |" for row in rows]
    for row in rows:
        if "import_job" in row:
            job = row["import_job"]
            lines += [
                "",
                f"The background import: {job['status']}, {job.get('created', 0):,} of {job.get('total') or 0:,} "
                f"created, {job.get('failed', 0)} failed, in {job['seconds']} s ({row['imported_during_load']:,} "
                "during the load).",
            ]
    lines += [END, ""]
    return "\n".join(lines)


def write_section(path: Path, rows: Sequence[Row], *, command: str, seconds: float) -> None:
    report.replace_section(path, BEGIN, END, section(rows, command=command, seconds=seconds))
