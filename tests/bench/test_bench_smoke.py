"""The benchmark runner's machinery on a tiny N, so bench/ cannot rot; no timing is asserted (bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ["import_limit", "import", "import_memory", "no_change_cycle", "incremental_cycle", "sync_now"]


def test_the_runner_measures_every_single_process_scenario_and_writes_the_table(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--sizes",
        "120",
        "--only",
        "import,cycles",
        "--databases",
        "sqlite",
        "--results",
        str(results),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["scenario"] for row in rows] == EXPECTED
    assert {row["n"] for row in rows} == {120}
    by_name = {row["scenario"]: row for row in rows}
    assert by_name["import"]["ratio_to_limit"] > 0
    for name in ("import_limit", "import"):  # what the whole machine used beside the hub's own CPU
        assert by_name[name]["machine_cpu_seconds"] >= 0
        assert by_name[name]["cores_busy"] >= 0
    assert by_name["no_change_cycle"]["rows_written"] == 0
    assert by_name["incremental_cycle"]["changed_per_side"] == 120 // 6
    assert by_name["sync_now"]["calls"] == 120
    assert {row.get("database") for row in rows if row["scenario"].startswith("import")} == {"sqlite"}
    table = results.read_text()
    assert "| Import on SQLite within 1.5x of the raw-driver limit (at 100k) |" in table
    assert "| Import on PostgreSQL >= 5,000 records/s (at 100k) | not run |" in table
    assert all(f"| {name} | sqlite | 120 |" in table for name in EXPECTED[:3])
    assert all(f"| {name} |  | 120 |" in table for name in EXPECTED[3:])


@pytest.mark.postgres
def test_the_runner_measures_the_import_and_its_copy_limit_on_postgresql(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.run", "--sizes", "120", "--only", "import", "--databases", "postgresql"]
    command += ["--no-results", "--pairs", "3"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(row["scenario"], row["database"]) for row in rows] == [
        ("import_limit", "postgresql"),
        ("import", "postgresql"),
        ("import_memory", "postgresql"),
    ]
    assert rows[1]["ratio_to_limit"] > 0
    assert len(rows[1]["pair_ratios"]) == 3  # three pairs side by side: the median one is reported
    assert sorted(rows[1]["pair_ratios"])[1] == rows[1]["ratio_to_limit"]


def test_the_limit_target_names_the_work_the_import_adds_over_the_limit_on_the_whole_machine() -> None:
    """Within 1.5x of the limit needs the import's CPU, hub, connector and database together, within 1.5x of the
    limit's when the limit keeps the cores busy: the figure says both."""
    limit = {"scenario": "import_limit", "n": 100_000, "database": "postgresql", "records_per_s": 20_000}
    imported = {"scenario": "import", "n": 100_000, "database": "postgresql", "ratio_to_limit": 2.5}
    limit |= {"machine_cpu_seconds": 8.0, "cores_busy": 1.6}
    imported |= {"machine_cpu_seconds": 16.0, "cores_busy": 1.28}
    [target] = [t for t in report.TARGETS if t.name.startswith("Import on PostgreSQL within 1.5x")]
    figure, met = target.check([limit, imported])
    assert (figure, met) == (
        "2.50x the limit at 100,000 (limit 20,000 records/s); CPU of the whole machine 2.00x the limit's, cores busy "
        "1.28 (limit 1.60)",
        False,
    )


def test_quick_does_not_write_the_committed_results() -> None:
    check = (
        "from bench.run import QUICK_RESULTS, RESULTS, parse; "
        "print(parse(['--quick']).results, parse([]).results, QUICK_RESULTS.parent)"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["bench/out/RESULTS-quick.md", "bench/RESULTS.md", "bench/out"]
    assert "/bench/out/" in (ROOT / ".gitignore").read_text().splitlines()  # quick results are never committed


def test_a_number_of_pairs_below_one_is_refused_with_the_reason() -> None:
    command = [sys.executable, "-m", "bench.run", "--pairs", "0", "--no-results"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "argument --pairs: '0' is not a whole number of at least 1" in done.stderr
