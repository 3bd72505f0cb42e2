"""A connector that stops answering, over real HTTP: once its circuit is open, the ERP tab and *Sync now* say that the
ERP is not answering in the page's language, never the hub's English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol import models as m
from erpsync.testing.sample import COMPANY, running_sample

from .conftest import Site, add_connection, configure_customers, crm_countries, served_site

NOT_ANSWERING = {"en": "The ERP is not answering. Try again in a little while.", "da": "ERP-systemet svarer ikke."}


@pytest.fixture
def fragile(sqlite_template: Path, tmp_path: Path) -> Iterator[Site]:
    """A hub whose connector circuits open after one unanswered call and stay open for the test."""
    settings = {"breaker_failures": 1, "breaker_reset_seconds": 600, "interactive_budget_seconds": 2}
    with served_site(sqlite_template, tmp_path, **settings) as running:
        yield running


def test_a_connector_that_stops_answering_is_worded_in_the_pages_language(fragile: Site, tmp_path: Path) -> None:
    fragile.add_user("admin", is_admin=True)
    fragile.add_user("carla", licences=("erp",))
    admin, carla = fragile.signed_in("admin"), fragile.signed_in("carla")
    created = carla.post("/companies/new", {"name": "Acme"})
    assert created.status_code == 303, created.text
    tab = created.headers["location"] + "/erp"
    with running_sample(tmp_path / "sample") as sample:
        connection_id = add_connection(admin, sample)
        configure_customers(admin, connection_id, crm_countries(fragile, "Denmark")[0])
        assert admin.post(f"/settings/sync/connections/{connection_id}/active", {"active": "on"}).status_code == 303
        erp_key = sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": "Acme"}))
        linked = carla.post(f"{tab}/{connection_id}/connect", {"actor_type": "customer", "erp_key": erp_key})
        assert linked.status_code == 303, linked.text
        assert "Acme" in carla.get(tab).text
    carla.get(tab)  # the connector is gone: this call goes unanswered and opens its circuit
    for language, text in NOT_ANSWERING.items():
        page = carla.get(tab, headers={"Accept-Language": language})
        assert page.status_code == 200
        assert text in page.text, language
        synced = carla.post(f"{tab}/{connection_id}/sync", headers={"Accept-Language": language})
        assert text in synced.text, language
    danish = carla.get(tab, headers={"Accept-Language": "da"}).text
    assert "not answering" not in danish, "the link's last error, stored in the hub's words, is worded too"
    assert '<dd class="error-text">ERP-systemet svarer ikke.' in danish
    health = admin.get(f"/settings/sync/connections/{connection_id}/health", headers={"Accept-Language": "da"}).text
    assert "ERP-systemet svarer ikke." in health
    assert "not answering" not in health
