"""Fixtures for the ``erpsync`` command: an embedded data folder per test, the sample connector, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsync.cli import app
from erpsync.settings import get_settings
from erpsync.testing.sample import RunningSample, running_sample


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The embedded default (SQLite) in a folder of the test's own."""
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ERPSYNC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


def run_cli(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """Exit code and output of ``erpsync ARGS``."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output
