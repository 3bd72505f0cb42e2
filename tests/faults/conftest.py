"""Fixtures for the fault suite, and the summary line of faults injected and survived.

Each test records ``faults_injected`` and ``faults_survived`` with ``record_property``; the summary adds them up
over every test report (under xdist too: user properties travel with the reports).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from erpsync.storage.db import Database
from erpsync.testing.db import database, postgres_url, sqlite_template

from .fault_world import FaultWorld, fault_world

__all__ = ["database", "postgres_url", "sqlite_database", "sqlite_template", "tally", "world"]

Tally = Callable[[int], None]


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """Network faults do not depend on the database: SQLite only, so the suite stays fast."""
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def world(sqlite_database: Database, tmp_path: Path) -> Iterator[FaultWorld]:
    with fault_world(sqlite_database, tmp_path) as built:
        yield built


@pytest.fixture
def tally(record_property: Callable[[str, object], None]) -> Tally:
    """Call with the number of faults a test injected, once its convergence checks have passed."""

    def record(injected: int) -> None:
        assert injected > 0, "the scenario injected no fault"
        record_property("faults_injected", injected)
        record_property("faults_survived", injected)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    totals = {"faults_injected": 0, "faults_survived": 0}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name in totals and getattr(report, "when", "call") == "call":
                    totals[name] += int(value)
    if totals["faults_injected"]:
        terminalreporter.write_sep(
            "-", f"faults injected: {totals['faults_injected']}, survived: {totals['faults_survived']}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The soak variants (marker ``slow``) of this folder run only when asked for: ``pytest -m slow``."""
    if "slow" in (config.option.markexpr or ""):
        return
    here = Path(__file__).parent
    soak = [item for item in items if item.get_closest_marker("slow") and here in item.path.parents]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item not in soak]
