"""The Tryton benchmark writes its own section of the results and leaves the others as they are (run as the bench
runs, from the repository root: ``bench`` here is the tests' folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE = """
import sys
from pathlib import Path
from bench import tryton
seconds = float(sys.argv[2])
rows = [
    tryton._row("tryton_bare_read", 5000, 2.0, records=5000, tryton_calls=31),
    tryton._row("tryton_import", 5000, seconds, records=5000, ratio_to_bare=seconds / 2.0),
]
tryton.write_section(Path(sys.argv[1]), rows)
"""


def write_section(results: Path, seconds: float) -> None:
    command = [sys.executable, "-c", WRITE, str(results), str(seconds)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)


def test_the_section_is_added_once_and_replaced_in_place(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nOther figures.\n")
    write_section(results, 3.0)
    results.write_text(results.read_text() + "\n## Later section\n")
    write_section(results, 4.0)
    text = results.read_text()
    assert text.count("<!-- tryton-bench: begin -->") == text.count("<!-- tryton-bench: end -->") == 1
    assert text.startswith("# Results\n\nOther figures.\n")
    assert text.rstrip().endswith("## Later section")
    assert "| tryton_import | 5,000 | 4.0 | 1250.0 |" in text
    assert "| tryton_import | 5,000 | 3.0 |" not in text
