"""Demo data, synthetic data, ``build_connector`` on a fresh data folder and the ``connector seed`` command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsync.cli import app
from erpsync.connectors import build_connector
from erpsync.connectors.sample.erp import SampleErp, Where
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER, generate_synthetic, seed_demo
from erpsync.protocol import models as m
from erpsync.settings import Settings, get_settings

CUSTOMER = m.ActorType.CUSTOMER


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleErp]:
    erp = SampleErp(tmp_path_factory.mktemp("demo") / "erp.sqlite")
    seed_demo(erp)
    yield erp
    erp.close()


def test_demo_data_is_a_few_hundred_nordic_companies_with_persons_and_projects(demo: SampleErp) -> None:
    organisations = sum(demo.count(t) for t in (CUSTOMER, m.ActorType.SUPPLIER, m.ActorType.PARTNER))
    assert 200 <= organisations <= 500
    assert demo.count(m.ActorType.PERSON) > organisations
    assert demo.count(m.ActorType.PROJECT) > 50
    assert [key for key, _ in demo.companies()] == ["FJORD", "NORDIC", "SVEA"]
    assert demo.authenticate(DEMO_USER, DEMO_PASSWORD)


def test_demo_values_look_real(demo: SampleErp) -> None:
    actors = demo.query("NORDIC", CUSTOMER, Where(), ORGANISATION.fields, limit=1000).values()
    formats = {
        "DK": (r"^[1-9]\d{7}$", r"^DK\d{8}$"),
        "SE": (r"^55\d{4}-\d{4}$", r"^SE\d{10}01$"),
        "NO": (r"^9\d{2} \d{3} \d{3}$", r"^NO9\d{8}MVA$"),
        "FI": (r"^\d{7}-\d$", r"^FI\d{8}$"),
    }
    for actor in actors:
        org_format, vat_format = formats[str(actor.fields["country"])]
        assert re.match(org_format, str(actor.fields["org_number"])), actor
        assert re.match(vat_format, str(actor.fields["vat_number"])), actor
        assert re.match(r"^[a-z0-9.-]+@[a-z0-9-]+\.(dk|se|no|fi)$", str(actor.fields["email"])), actor
    assert len({actor.fields["name"] for actor in actors}) == len(actors)


def test_demo_data_is_the_same_every_time(demo: SampleErp, tmp_path: Path) -> None:
    again = SampleErp(tmp_path / "again.sqlite")
    seed_demo(again)
    fields = [ORGANISATION.field("name"), ORGANISATION.field("vat_number")]
    first = [a.fields for a in demo.query("SVEA", CUSTOMER, Where(), fields, limit=1000).values()]
    second = [a.fields for a in again.query("SVEA", CUSTOMER, Where(), fields, limit=1000).values()]
    again.close()
    assert first == second


def test_synthetic_customers(tmp_path: Path) -> None:
    erp = SampleErp(tmp_path / "erp.sqlite")
    erp.add_company("NORDIC", "Nordic")
    keys = generate_synthetic(erp, 2000)
    assert len(set(keys)) == 2000 == erp.count(CUSTOMER, "NORDIC")
    erp.close()


def test_synthetic_customers_numbered_from_first_share_no_matching_value(tmp_path: Path) -> None:
    erp = SampleErp(tmp_path / "erp.sqlite")
    erp.add_company("NORDIC", "Nordic")
    keys = generate_synthetic(erp, 3) + generate_synthetic(erp, 3, first=3)
    fields = [f for f in ORGANISATION.fields if f.key in ("name", "org_number", "email")]
    actors = erp.fetch("NORDIC", CUSTOMER, keys, fields)
    for key in ("name", "org_number", "email"):
        assert len({actor.fields[key] for actor in actors.values()}) == 6
    erp.close()


def test_build_connector_seeds_a_fresh_data_folder_once(tmp_path: Path) -> None:
    connector = build_connector("sample", Settings(data_dir=tmp_path))
    config = {"company": "NORDIC", "user": DEMO_USER, "password": DEMO_PASSWORD}
    connector.save_connection(m.SaveConnectionRequest(connection_id="demo", config=config))
    found = connector.search_actors(
        m.SearchActorsRequest(connection_id="demo", actor_type=CUSTOMER, text="", field_keys=["name"], limit=5)
    )
    assert len(found.actors) == 5
    count = connector.erp.count(CUSTOMER)
    reopened = build_connector("sample", Settings(data_dir=tmp_path))
    assert reopened.erp.count(CUSTOMER) == count
    assert reopened.connections.get("demo") == config  # connections survive a restart
    connector.erp.close()
    reopened.erp.close()


def test_seed_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["connector", "seed", "sample", "--synthetic", "25"])
        refused = CliRunner().invoke(app, ["connector", "seed", "sample", "--synthetic", "1", "--company", "NOPE"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    erp = SampleErp(tmp_path / "sample-erp.sqlite")
    assert f"{erp.count(CUSTOMER)} customer" in result.output
    erp.close()
    assert refused.exit_code == 1
    assert "NOPE" in refused.output
