"""Fixtures for the ``erpsync`` command: an embedded data folder per test, the sample connector, a runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables at full width
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


def run_json(*args: str, stdin: str | None = None, expect: int = 0) -> Any:
    """The JSON ``erpsync ARGS --json`` prints (the command must end with exit code ``expect``)."""
    result = CliRunner().invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


@pytest.fixture
def main_connection(data_dir: Path, tmp_path: Path, sample: RunningSample) -> str:
    """The connector ``Sample`` and its connection ``Main`` (inactive), added through the command line."""
    code, output = run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    assert code == 0, output
    (tmp_path / "config.json").write_text(json.dumps(sample.config))
    code, output = run_cli(
        "connections", "add", "Main", "--connector", "Sample", "--config", str(tmp_path / "config.json")
    )
    assert code == 0, output
    return "Main"
