"""The live-sync benchmark writes its own section of the results, with the percentiles it measured, and leaves the
others as they are (run as the bench runs, from the repository root: ``bench`` here is the tests' folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE = """
import sys
from pathlib import Path
from bench import live
p50 = int(sys.argv[2])
rows = [
    {"scenario": "erp_to_crm", "mode": "embedded", "edits": 200, **live.percentiles([p50 / 1000] * 199 + [2.0])},
    {"scenario": "idle", "mode": "embedded", "seconds": 120.0, "requests_per_minute": 2.5, "watch": 5},
]
live.write_section(Path(sys.argv[1]), rows)
"""


def write_section(results: Path, p50_ms: int) -> None:
    command = [sys.executable, "-c", WRITE, str(results), str(p50_ms)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)


def test_the_section_is_added_once_and_replaced_in_place(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nOther figures.\n")
    write_section(results, 300)
    results.write_text(results.read_text() + "\n## Later section\n")
    write_section(results, 400)
    text = results.read_text()
    assert text.count("<!-- live-bench: begin -->") == text.count("<!-- live-bench: end -->") == 1
    assert text.startswith("# Results\n\nOther figures.\n")
    assert text.rstrip().endswith("## Later section")
    assert "| erp_to_crm | embedded | 200 | 400 | 400 | 400 | 2000 |" in text
    assert "| erp_to_crm | embedded | 200 | 300 |" not in text
    assert "2.5 connector requests a minute" in text
