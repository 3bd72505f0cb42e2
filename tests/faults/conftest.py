"""Fixtures for the fault suite.

Each test records ``faults_injected`` and ``faults_survived`` with ``record_property`` (``tally``); the summary line
that adds them up, and the deselection of the ``slow`` soak variants, are in tests/conftest.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from erpsync.storage.db import Database
from support.fault_world import FaultWorld, Tally, fault_world


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
