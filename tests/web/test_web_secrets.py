"""The web UI never shows a connector's shared secret or a connection's password config field (SPEC §8)."""

from __future__ import annotations

import re

from erpsync.testing.sample import RunningSample

from .conftest import Site, add_connection


def test_no_page_of_the_sync_tab_shows_a_secret(site: Site, sample: RunningSample) -> None:
    site.add_user("ada", is_admin=True, licences=("erp",))
    admin = site.signed_in("ada")
    connection_id = add_connection(admin, sample)
    connector_id = re.search(r"/settings/sync/connectors/(\d+)/edit", admin.get("/settings/sync").text)
    assert connector_id
    pages = [
        "/settings/sync",
        "/settings/sync?deleted=true",
        f"/settings/sync/connectors/{connector_id.group(1)}/edit",
        f"/settings/sync/connections/{connection_id}/edit",
        f"/settings/sync/connections/config-fields?connector_id={connector_id.group(1)}",
        f"/settings/sync/connections/{connection_id}/health",
        "/settings/sync/priority",
    ]
    password = str(sample.config["password"])
    for path in pages:
        page = admin.get(path)
        assert page.status_code == 200, path
        assert sample.secret not in page.text, path
        assert f'value="{password}"' not in page.text, path
