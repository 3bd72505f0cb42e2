"""docs/writing-a-connector.md stays true: its pytest example is the real one, and the files it cites exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GUIDE = (ROOT / "docs" / "writing-a-connector.md").read_text(encoding="utf-8")


def test_the_pytest_example_is_the_sample_conformance_test() -> None:
    (example,) = re.findall(r"```python\n(@pytest.fixture.*?)```", GUIDE, flags=re.DOTALL)
    assert example in (ROOT / "tests" / "testing" / "test_conformance_sample.py").read_text(encoding="utf-8")


def test_every_cited_file_exists() -> None:
    cited = set(re.findall(r"`((?:connectors|tests)/[\w/]+\.py)", GUIDE))
    assert cited
    missing = [path for path in cited if not (ROOT / "src" / "erpsync" / path).exists() and not (ROOT / path).exists()]
    assert missing == []
