"""In a real browser: a CRM user syncs a record whose e-mail changed in the ERP, sees on the ERP tab who wrote the
value and what it was, and reverts it; the record's history page lists every change with its source (English, then
Danish). The administrator dry-runs a resync from the ERP for one record, runs it, opens its run from the job page and
undoes it. Connector, connection, mapping and link are set up through the service layer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from erpsync import accounts
from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, links
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY

from .conftest import Hub, screenshot

TEXTS = {
    "en": {
        "sync_now": "Sync now",
        "revert": "Revert",
        "written": "1 field written back",
        "history": "Full field history",
    },
    "da": {
        "sync_now": "Synkroniser nu",
        "revert": "Tilbagefør",
        "written": "1 felt skrevet tilbage",
        "history": "Hele felthistorikken",
    },
}
OLD, NEW = "info@acme.example", "sales@acme.example"


def _setup(hub: Hub) -> tuple[int, str, int]:
    """An active connection mapping customers' name and e-mail both ways, visible to carla; the company Acme linked to
    the ERP customer Acme, whose e-mail then changes in the ERP."""
    with hub.database.session() as session:
        carla = accounts.find_user(session, "carla")
        assert carla
        carla_id = carla.id
        company_id = service.create_entity(
            session, EntityType.COMPANY, {"name": "Acme", "email": OLD}, changed_by="t"
        ).id
    connection_id = hub.add_connection(visible_to=(carla_id,))
    erp_key = hub.sample.erp.create_actor(
        COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": "Acme", "email": OLD})
    )
    mapping = ActorTypeMapping(
        actor_type=m.ActorType.CUSTOMER,
        active=True,
        fields=(
            FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH, show_in_tab=True),
            FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH, show_in_tab=True),
        ),
    )
    with hub.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        configuration.save_mapping(session, connection, mapping, erp_lists={})
        connection.active = True
        links.create_link(
            session,
            connection_id=connection_id,
            entity_type=EntityType.COMPANY,
            entity_id=company_id,
            actor_type=m.ActorType.CUSTOMER,
            erp_key=erp_key,
            agreed={"name": "Acme", "email": OLD},
        )
    hub.sample.erp.update_actor(COMPANY, m.ActorType.CUSTOMER, erp_key, {"email": NEW})
    return company_id, erp_key, connection_id


def _crm_email(hub: Hub, company_id: int) -> object:
    with hub.database.read_session() as session:
        return service.read_record(session, EntityType.COMPANY, company_id).values["EMAIL"]


@pytest.mark.parametrize("language", ["en", "da"])
def test_a_user_sees_who_wrote_a_field_and_reverts_it(page: Page, hub: Hub, language: str) -> None:
    texts = TEXTS[language]
    company_id, _, _ = _setup(hub)
    page.set_extra_http_headers({"Accept-Language": language})
    hub.sign_in(page, "carla")
    page.goto(f"{hub.url}/companies/{company_id}/erp")
    page.get_by_role("button", name=texts["sync_now"]).click()
    expect(page.locator("[data-sync-result]")).to_contain_text("EMAIL")
    last = page.locator('tr[data-last-write="email"]')
    expect(last).to_contain_text(OLD)
    screenshot(page, f"{language}-erp-tab-field-history")
    last.get_by_role("button", name=texts["revert"]).click()
    expect(page.locator("[data-undo-result]")).to_contain_text(texts["written"])
    history = page.locator("table[data-history] tbody tr")
    expect(history).to_have_count(2)
    screenshot(page, f"{language}-record-history")
    assert _crm_email(hub, company_id) == OLD
    page.goto(f"{hub.url}/companies/{company_id}/erp")
    page.get_by_role("link", name=texts["history"]).click()
    expect(page.locator("table[data-history] tbody tr")).to_have_count(2)


def test_admin_dry_runs_a_resync_runs_it_and_undoes_it_from_its_run(page: Page, hub: Hub) -> None:
    company_id, _, _ = _setup(hub)
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/sync")
    page.get_by_role("rowheader", name="Main").click()
    page.get_by_role("toolbar").get_by_role("button", name="Resync from CRM").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("The ERP's, written into the CRM").check()
    dialog.get_by_label("Actor type").select_option("customer")
    dialog.get_by_label("Only these CRM records (ids)").fill(str(company_id))
    dialog.get_by_role("button", name="Dry run").click()
    preview = page.locator("dialog[open] [data-dry-run]")
    expect(preview).to_contain_text("1 of 1 records would change")
    expect(preview.locator(f'tr[data-would-change="{company_id}:email"]')).to_contain_text(NEW)
    screenshot(page, "en-resync-dry-run")
    assert _crm_email(hub, company_id) == OLD
    page.locator("dialog[open]").get_by_role("button", name="Resync", exact=True).click()
    run_link = page.locator("[data-job-run]")
    expect(run_link).to_be_visible(timeout=20_000)
    assert _crm_email(hub, company_id) == NEW
    run_link.click()
    page.get_by_role("link", name="Undo").click()
    page.locator("dialog[open]").get_by_role("button", name="Undo").click()
    expect(page.locator("h2#run-heading")).to_contain_text("Undo")
    expect(page.locator("table.diff")).to_contain_text(OLD)
    screenshot(page, "en-undo-run")
    assert _crm_email(hub, company_id) == OLD
