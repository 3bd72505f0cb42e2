"""``erpsync connectors …``, ``connections …`` and ``conformance`` against the sample connector over loopback."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales_seed import generate_invoices
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import RunningSample

from .conftest import run_cli


def _config_file(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_connector_and_connection_lifecycle(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    code, output = run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    assert code == 0, output
    assert "connector Sample added: sample" in output
    code, output = run_cli("connectors", "list")
    assert sample.url in output
    assert sample.secret not in output

    config = _config_file(tmp_path, sample.config)
    code, output = run_cli("connections", "add", "Main", "--connector", "Sample", "--config", config)
    assert code == 0, output
    assert "saved (inactive)" in output
    code, output = run_cli("connections", "test", "Main")
    assert code == 0, output
    assert "Connected to the sample ERP" in output
    code, output = run_cli("connections", "list")
    assert "Main\tSample\tinactive" in output

    code, output = run_cli("connectors", "remove", "Sample")
    assert code == 1
    assert "used by 1 connection" in output


def test_bad_input_is_one_clear_line(data_dir: Path, tmp_path: Path, sample: RunningSample) -> None:
    code, output = run_cli("connectors", "add", "X", "http://127.0.0.1:1", "--secret-stdin", stdin="s" * 20 + "\n")
    assert code == 1
    assert "does not answer as an erpsync connector" in output
    run_cli("connectors", "add", "Sample", sample.url, "--secret-stdin", stdin=sample.secret + "\n")
    wrong = _config_file(tmp_path, {**sample.config, "password": "wrong"})
    code, output = run_cli("connections", "add", "Main", "--connector", "Sample", "--config", wrong)
    assert code == 1
    assert "Test connection failed: The ERP refused the user name or password." in output
    (tmp_path / "broken.json").write_text("{not json")
    code, output = run_cli(
        "connections", "add", "Main", "--connector", "Sample", "--config", str(tmp_path / "broken.json")
    )
    assert code == 1
    assert "cannot read the config file" in output
    code, output = run_cli("connections", "test", "Nope")
    assert code == 1
    assert "no ERP connection named 'Nope'" in output


def test_conformance_passes_the_sample_connector(tmp_path: Path, sample: RunningSample) -> None:
    # A customer with invoices: the documents rules read them.
    company = str(sample.config["company"])
    customer = sample.erp.create_actor(company, ActorType.CUSTOMER, NewRecord({"name": "Documents A/S"}))
    generate_invoices(sample.erp, 12, company=company, customer_key=customer, today=dt.date.today())
    config = _config_file(tmp_path, {**sample.config, "include_inactive": True})
    delete = f"{sys.executable} -m erpsync.connectors.sample.delete {sample.erp.path} {sample.config['company']}"
    code, output = run_cli(
        "conformance", sample.url, "--secret", sample.secret, "--config", config, "--delete-command", delete
    )
    assert code == 0, output
    assert "signatures" in output
    assert "conforms" in output


def test_conformance_without_a_way_to_delete_is_incomplete_not_conforming(
    tmp_path: Path, sample: RunningSample
) -> None:
    config = _config_file(tmp_path, {**sample.config, "include_inactive": True})
    code, output = run_cli("conformance", sample.url, "--secret", sample.secret, "--config", config)
    assert code == 3, output
    assert "INCOMPLETE" in output
    assert "changes_deleted" in output


def test_conformance_fails_on_a_wrong_secret(tmp_path: Path, sample: RunningSample) -> None:
    config = _config_file(tmp_path, sample.config)
    code, output = run_cli("conformance", sample.url, "--secret", "not the secret at all", "--config", config)
    assert code == 1
    assert "info" in output
