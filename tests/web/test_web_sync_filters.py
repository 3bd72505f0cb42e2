"""The *Filters* configure screen over real HTTP with the sample connector, in English and Danish: the criteria rows
of both sides, a preview that saves nothing, a save, a refused filter with its reason and what was entered kept."""

from __future__ import annotations

import re

import pytest

from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration_loading
from erpsync.sync.mapping import SyncFilter
from erpsync.testing.sample import RunningSample

from .conftest import Browser, Site, add_connection

TAB = "/settings/sync"
WHOLESALE = {"field.0": "customer_group", "operator.0": "oneof", "value.0": "WHOLESALE"}
WITH_NUMBER = {"field.3": "NUMBER1", "operator.3": "isnot", "value.3": ""}


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


def _saved(site: Site, connection_id: int) -> SyncFilter:
    with site.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        return configuration_loading.mapping_of(session, connection, m.ActorType.CUSTOMER).sync_filter


def test_a_filter_is_previewed_saved_and_refused_with_its_reason(
    admin: Browser, sample: RunningSample, site: Site
) -> None:
    connection_id = add_connection(admin, sample)
    url = f"{TAB}/connections/{connection_id}/filters"
    page = admin.get(url)
    assert page.status_code == 200
    assert "Sync filters" in page.text
    assert 'name="field.0"' in page.text
    assert 'name="field.5"' in page.text
    preview = admin.post(f"{url}?actor_type=customer", {**WHOLESALE, **WITH_NUMBER, "action": "preview"})
    assert preview.status_code == 200, re.findall(r"id=\"problems\".*?</div>", preview.text, re.S)
    assert "0 linked records would stop syncing." in preview.text
    assert _saved(site, connection_id).empty  # a preview saves nothing
    saved = admin.post(f"{url}?actor_type=customer", {**WHOLESALE, **WITH_NUMBER, "action": "save"})
    assert saved.status_code == 303
    stored = _saved(site, connection_id)
    assert [(r.field, r.operator.value, r.values) for r in (*stored.erp, *stored.crm)] == [
        ("customer_group", "oneof", ("WHOLESALE",)),
        ("NUMBER1", "isnot", (None,)),  # a blank value: "has a customer number"
    ]
    again = admin.get(f"{url}?actor_type=customer")
    assert 'value="WHOLESALE"' in again.text
    bad = admin.post(f"{url}?actor_type=customer", {"field.0": "employees", "operator.0": "contains", "value.0": "1"})
    assert bad.status_code == 422
    assert "does not apply to a integer field" in bad.text
    assert _saved(site, connection_id) == stored
    admin.post("/language", {"language": "da"})
    assert "Synkroniseringsfiltre" in admin.get(url).text
