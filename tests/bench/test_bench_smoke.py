"""The benchmark runner's machinery on a tiny N, so bench/ cannot rot; no timing is asserted (bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert by_name["no_change_cycle"]["rows_written"] == 0
    assert by_name["incremental_cycle"]["changed_per_side"] == 120 // 6
    assert by_name["sync_now"]["calls"] == 120
    table = results.read_text()
    assert "| Import within 2x of the measured limit |" in table
    assert all(f"| {name} | 120 |" in table for name in EXPECTED)
