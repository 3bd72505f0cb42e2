"""The HTTP load's targets, checked from its rows (bench/load_report.py): what makes each one met or not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bench import load_report


def _row(scenario: str, clients: int, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "clients": clients,
        "requests": 100,
        "p50_ms": 100.0,
        "p95_ms": 300.0,
        "p99_ms": 900.0,
        "errors": {},
        "me_p99_ms": 250.0,
        "me_errors": {},
        "me_own_process_p50_ms": 10.0,
        "me_own_process_p99_ms": 150.0,
        "me_own_process_errors": {},
        "hub_cpu_ms_per_request": 5.0,
        **extra,
    }


ROWS = [
    _row("erp_tab", 20),
    _row("erp_tab", 50, p99_ms=1500.0),
    _row("sync_now", 50),
    _row("mix", 50, tab_p99_ms=700.0),
    _row(
        "mix_with_import",
        50,
        tab_p99_ms=1200.0,
        imported_during_load=30_000,
        import_job={
            "status": "done",
            "total": 50_000,
            "processed": 50_000,
            "created": 50_000,
            "failed": 0,
            "seconds": 25,
        },
    ),
    _row("hung_connector_search", 50, errors={"503": 400, "502": 3}),
    _row("erp_tab_beside_hung_connector", 10),
]


def _met(rows: list[dict[str, Any]]) -> dict[str, bool | None]:
    return {name: met for name, _, met in load_report.targets(rows)}


def test_every_target_is_met_by_a_load_that_meets_it_and_the_hung_connectors_refusals_are_no_errors() -> None:
    met = _met(ROWS)
    assert len(met) == 6
    assert all(met.values()), met
    assert "ERP tab p99 < 2 s at 50 clients" in met  # judged at the largest client count


def test_each_target_fails_on_its_own_figure() -> None:
    cases = {
        "ERP tab p99 < 2 s at 50 clients": (1, "p99_ms", 2100.0),
        "0 errors in every load (but the hung connector's own searches, refused by design)": (2, "errors", {"500": 1}),
        "50 clients with a background import: ERP tab p99 < 2 s": (4, "tab_p99_ms", 2500.0),
        "50 clients with a background import: `/me` p99 < 300 ms": (4, "me_own_process_p99_ms", 310.0),
        "Beside a hung connector (50 clients searching it): `/me` p99 < 300 ms": (5, "me_own_process_p99_ms", 400.0),
    }
    for target, (index, key, value) in cases.items():
        rows = copy.deepcopy(ROWS)
        rows[index][key] = value
        met = _met(rows)
        assert met[target] is False, target
        assert sum(1 for ok in met.values() if not ok) == 1, (target, met)


def test_an_import_that_does_not_finish_every_record_fails_its_target() -> None:
    rows = copy.deepcopy(ROWS)
    rows[4]["import_job"] = {"status": "still running", "seconds": 900.0}
    met = _met(rows)
    assert met["50 clients with a background import: the import finishes every record, 0 errors"] is False
    rows[4]["import_job"] = {**ROWS[4]["import_job"], "created": 49_999, "failed": 1}
    assert _met(rows)["50 clients with a background import: the import finishes every record, 0 errors"] is False


def test_the_section_replaces_its_own_part_of_the_results_and_keeps_the_rest(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nNotes kept.\n")
    load_report.write_section(results, ROWS, command="python -m bench.load_http", seconds=60)
    load_report.write_section(results, ROWS[:2], command="python -m bench.load_http", seconds=60)
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nNotes kept.\n")
    assert text.count(load_report.BEGIN) == 1
    assert text.count(load_report.END) == 1
    assert "| ERP tab p99 < 2 s at 50 clients | 1,500.0 ms | yes |" in text
    assert "| 50 clients with a background import: the import finishes every record, 0 errors | not run |  |" in text
