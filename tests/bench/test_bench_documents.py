"""The Documents benchmark's machinery on a tiny N, so it cannot rot; no timing is asserted (bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_documents_benchmark_measures_and_writes_its_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nkept as it is\n")
    command = [
        sys.executable,
        "-m",
        "bench.documents",
        "--invoices",
        "25",
        "--requests",
        "3",
        "--results",
        str(results),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["scenario"] for row in rows] == ["documents_part_live", "documents_pages", "documents_part_cached"]
    assert rows[1]["pages"] == 3  # 25 invoices in pages of 10
    text = results.read_text()
    assert text.startswith("# Results\n\nkept as it is\n")
    assert text.count("<!-- documents-bench: begin -->") == 1
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert results.read_text().count("<!-- documents-bench: begin -->") == 1  # rewritten in place
