"""The problems benchmark's machinery on a tiny N, so it cannot rot; no timing is asserted (bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_problems_bench_groups_every_record_and_checks_alerts() -> None:
    command = [sys.executable, "-m", "bench.problems", "--sizes", "200", "--databases", "sqlite"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(row["scenario"], row["n"], row["database"]) for row in rows] == [
        ("problem_groups", 200, "sqlite"),
        ("alerts_check", 200, "sqlite"),
    ]
    assert rows[0]["causes"] == 20
