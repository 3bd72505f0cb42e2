"""``erpsync config export`` and ``erpsync config apply`` on the embedded default, with the sample connector over
loopback: a test hub's file promoted to a second hub, secrets from the environment and from a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erpsync.settings import get_settings
from erpsync.testing.sample import RunningSample

from .conftest import run_cli

ANNA_PASSWORD = "Lighthouse-Kettle-Orbit-42"


def _test_hub(tmp_path: Path, sample: RunningSample) -> None:
    """The test hub, set up with the command line."""
    code, output = run_cli("users", "add", "anna", "--licence", "erp", "--password-stdin", stdin=ANNA_PASSWORD + "\n")
    assert code == 0, output
    code, output = run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    assert code == 0, output
    config = tmp_path / "connection.json"
    config.write_text(json.dumps(sample.config))
    code, output = run_cli("connections", "add", "Main", "--connector", "Sample", "--config", str(config))
    assert code == 0, output


def _secrets(monkeypatch: pytest.MonkeyPatch, sample: RunningSample) -> None:
    monkeypatch.setenv("ERPSYNC_SECRET_CONNECTOR_SAMPLE", sample.secret)
    monkeypatch.setenv("ERPSYNC_SECRET_MAIN_PASSWORD", str(sample.config["password"]))
    monkeypatch.setenv("ERPSYNC_SECRET_USER_ANNA", ANNA_PASSWORD)


def _production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch to a second, empty hub (its own data folder and key)."""
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path / "production"))
    get_settings.cache_clear()


def test_a_configuration_is_promoted_from_a_test_hub(
    data_dir: Path, tmp_path: Path, sample: RunningSample, monkeypatch: pytest.MonkeyPatch
) -> None:
    _test_hub(tmp_path, sample)
    exported = tmp_path / "promote" / "hub.yaml"
    exported.parent.mkdir()
    code, output = run_cli("config", "export", "-o", str(exported))
    assert code == 0, output
    text = exported.read_text()
    assert sample.secret not in text
    assert "env: ERPSYNC_SECRET_CONNECTOR_SAMPLE" in text
    _secrets(monkeypatch, sample)
    code, output = run_cli("config", "apply", str(exported), "--yes")
    assert code == 0, output
    assert "no change" in output  # the hub it came from

    # The connector's secret from a file beside the configuration file, its URL and the other secrets from the
    # environment of the production hub.
    (exported.parent / "sample.secret").write_text(sample.secret + "\n")
    promoted = text.replace("env: ERPSYNC_SECRET_CONNECTOR_SAMPLE", "file: sample.secret")
    promoted = promoted.replace(f"url: {sample.url}", "url: {env: SAMPLE_CONNECTOR_URL}")
    assert sample.url not in promoted
    exported.write_text(promoted)
    monkeypatch.setenv("SAMPLE_CONNECTOR_URL", sample.url)
    monkeypatch.delenv("ERPSYNC_SECRET_CONNECTOR_SAMPLE")
    _production(tmp_path, monkeypatch)
    code, output = run_cli("config", "apply", str(exported), "--dry-run")
    assert code == 0, output
    assert "+ connection Main" in output
    assert "dry run: nothing applied" in output
    code, output = run_cli("config", "apply", str(exported), stdin="n\n")
    assert code == 1
    assert "nothing applied" in output
    code, output = run_cli("connections", "list")
    assert "Main" not in output

    code, output = run_cli("config", "apply", str(exported), "--yes")
    assert code == 0, output
    assert "applied: 3 added, 1 changed" in output  # connector, connection, user; the priority
    code, output = run_cli("connections", "list")
    assert "Main\tSample\tinactive" in output
    code, output = run_cli("config", "export")
    assert output == text
    assert "= user anna" in run_cli("config", "apply", str(exported), "--dry-run")[1]
    code, output = run_cli("config", "apply", str(exported), "--yes")
    assert code == 0, output
    assert "no change" in output


def test_an_invalid_file_is_refused_with_every_reason(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "erpsync_config: 1\n"
        "connectors:\n- name: Sample\n  url: http://127.0.0.1:1\n  secret: plain-text-secret\n"
        "connections:\n- name: Main\n  connector: Nowhere\n  policy: loudest\n"
    )
    code, output = run_cli("config", "apply", str(path), "--yes")
    assert code == 1
    assert "connectors[Sample].secret: a secret is written as a reference, {env: NAME} or {file: PATH}" in output
    assert "connections[Main].policy: Input should be 'newest', 'crm', 'erp' or 'ask'" in output
    path.write_text("erpsync_config: 1\nconnections:\n- name: Main\n  connector: Nowhere\n")
    code, output = run_cli("config", "apply", str(path), "--yes")
    assert code == 1
    assert "connections[Main].connector: no connector 'Nowhere' in the file or the hub" in output
    code, output = run_cli("config", "apply", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert "cannot read" in output
    code, output = run_cli("config", "export")
    assert output == "erpsync_config: 1\n"
