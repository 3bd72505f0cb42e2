"""``erpsync connectors …``, ``connections …`` and ``conformance`` against the sample connector over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsync.cli import app
from erpsync.settings import get_settings
from erpsync.testing.sample import RunningSample, running_sample


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ERPSYNC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[RunningSample]:
    with running_sample(tmp_path / "sample") as running:
        yield running


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def _config_file(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_connector_and_connection_lifecycle(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    code, output = _run("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    assert code == 0, output
    assert "connector Sample added: sample" in output
    code, output = _run("connectors", "list")
    assert sample.url in output
    assert sample.secret not in output

    config = _config_file(tmp_path, sample.config)
    code, output = _run("connections", "add", "Main", "--connector", "Sample", "--config", config)
    assert code == 0, output
    assert "saved (inactive)" in output
    code, output = _run("connections", "test", "Main")
    assert code == 0, output
    assert "Connected to the sample ERP" in output
    code, output = _run("connections", "list")
    assert "Main\tSample\tinactive" in output

    code, output = _run("connectors", "remove", "Sample")
    assert code == 1
    assert "used by 1 connection" in output


def test_bad_input_is_one_clear_line(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    code, output = _run("connectors", "add", "X", "http://127.0.0.1:1", "--secret-stdin", stdin="s" * 20 + "\n")
    assert code == 1
    assert "does not answer as an erpsync connector" in output
    _run("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    wrong = _config_file(tmp_path, {**sample.config, "password": "wrong"})
    code, output = _run("connections", "add", "Main", "--connector", "Sample", "--config", wrong)
    assert code == 1
    assert "Test connection failed: The ERP refused the user name or password." in output
    (tmp_path / "broken.json").write_text("{not json")
    code, output = _run(
        "connections", "add", "Main", "--connector", "Sample", "--config", str(tmp_path / "broken.json")
    )
    assert code == 1
    assert "cannot read the config file" in output
    code, output = _run("connections", "test", "Nope")
    assert code == 1
    assert "no ERP connection named 'Nope'" in output


def test_conformance_passes_the_sample_connector(tmp_path: Path, sample: RunningSample) -> None:
    config = _config_file(tmp_path, {**sample.config, "include_inactive": True})
    code, output = _run("conformance", sample.url, "--secret", sample.secret, "--config", config)
    assert code == 0, output
    assert "signatures" in output


def test_conformance_fails_on_a_wrong_secret(tmp_path: Path, sample: RunningSample) -> None:
    config = _config_file(tmp_path, sample.config)
    code, output = _run("conformance", sample.url, "--secret", "not the secret at all", "--config", config)
    assert code == 1
    assert "info" in output
