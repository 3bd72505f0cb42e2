"""The layering rules a linter cannot see: the HTTP layers never end a transaction themselves.

The service layer owns units of work (``erpsync.storage.unit_of_work``); ``api/`` and ``web/`` parse, call a use case
and render, so none of their modules commits or rolls back a session.
"""

from __future__ import annotations

import re
from pathlib import Path

import erpsync

PACKAGE = Path(erpsync.__file__).parent
HTTP_LAYERS = ("api", "web")
ENDS_A_TRANSACTION = re.compile(r"\b(commit|rollback)\(\)")


def _python_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def test_the_http_layers_have_modules_to_scan() -> None:
    for layer in HTTP_LAYERS:
        assert len(_python_files(layer)) > 5, f"no modules found under {PACKAGE / layer}"


def test_no_commit_or_rollback_in_api_or_web() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for layer in HTTP_LAYERS
        for path in _python_files(layer)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ENDS_A_TRANSACTION.search(line)
    ]
    assert found == [], "the service layer ends transactions, not the HTTP layers:\n" + "\n".join(found)


def test_the_scan_finds_a_commit() -> None:
    assert ENDS_A_TRANSACTION.search("    session.commit()")
    assert ENDS_A_TRANSACTION.search("session.rollback()  # why")
    assert not ENDS_A_TRANSACTION.search("with unit_of_work(session):")
