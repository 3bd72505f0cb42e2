"""In a real browser: the administrator runs the Import from ERP wizard to the end against the sample connector,
watches the live progress bar reach 100 %, sees the created records listed (links to the companies), undoes the import
after confirming; then the key steps again in Danish. Resync from CRM's confirmation is opened from the Sync tab.
Connector, connection and mapping are set up through the service layer."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol import models as m
from erpsync.storage.tables import Company, ErpConnection
from erpsync.sync import configuration
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY

from .conftest import Hub, screenshot

NAMES = ("Alfa ApS", "Beta A/S", "Gamma IVS")


def _setup(hub: Hub) -> None:
    """The connection "Main" mapping customers (name and e-mail both ways) and three ERP customers."""
    connection_id = hub.add_connection(visible_to=())
    mapping = ActorTypeMapping(
        actor_type=m.ActorType.CUSTOMER,
        active=True,
        fields=(
            FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
            FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
        ),
    )
    with hub.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection is not None
        configuration.save_mapping(session, connection, mapping, erp_lists={})
    records = [NewRecord(values={"name": name, "email": f"info@{name.split()[0].lower()}.example"}) for name in NAMES]
    hub.sample.erp.insert_many(COMPANY, m.ActorType.CUSTOMER, records)


def _companies(hub: Hub) -> int:
    with hub.database.read_session() as session:
        return session.scalar(select(func.count()).select_from(Company)) or 0


def _open_wizard(page: Page, hub: Hub, import_button: str) -> None:
    page.goto(f"{hub.url}/settings/sync")
    page.get_by_role("rowheader", name="Main").click()
    page.get_by_role("toolbar").get_by_role("button", name=import_button).click()


def test_admin_imports_from_the_erp_watches_the_progress_and_undoes(page: Page, hub: Hub) -> None:
    _setup(hub)
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/sync")
    page.get_by_role("rowheader", name="Main").click()
    page.get_by_role("toolbar").get_by_role("button", name="Resync from CRM").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Do not overwrite non-blank values with blank ones")).not_to_be_checked()
    screenshot(page, "en-resync-confirm")
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)

    _open_wizard(page, hub, "Import from ERP")
    expect(page.get_by_label("ERP actor type to import")).to_have_value("customer")
    screenshot(page, "en-import-choose")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Every Customer in the ERP").check()
    screenshot(page, "en-import-criteria")
    page.get_by_role("button", name="Find actors").click()
    expect(page.get_by_role("heading", name="3 ERP actors found")).to_be_visible()
    for name in NAMES:
        expect(page.get_by_role("checkbox", name=name)).to_be_checked()
    screenshot(page, "en-import-results")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("tr[data-verb=create]")).to_have_count(3)
    screenshot(page, "en-import-preview")

    page.get_by_role("button", name="Run import").click()
    expect(page.locator("[data-percentage]")).to_have_text("100 %", timeout=20_000)  # polled live until done
    expect(page.locator("#job-progress")).to_have_attribute("value", "100.0")
    result = page.locator("[data-result-list=created]")
    for name in NAMES:
        expect(result.get_by_role("link", name=name)).to_be_visible()
    assert _companies(hub) == 3
    screenshot(page, "en-import-result")

    page.get_by_role("link", name="Undo import").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete the CRM records this import created (3)")
    screenshot(page, "en-import-undo-confirm")
    dialog.get_by_role("button", name="Undo import").click()
    expect(page.get_by_role("status")).to_have_text("Import undone: 3 records deleted.")
    assert _companies(hub) == 0
    screenshot(page, "en-import-undone")

    page.locator(".language-switch button[value=da]").click()
    page.get_by_role("link", name="Ny import").click()
    page.get_by_role("button", name="Næste").click()
    page.get_by_role("button", name="Find aktører").click()
    page.get_by_role("checkbox", name="Gamma IVS").uncheck()
    page.get_by_role("button", name="Vis eksempel").click()
    expect(page.locator("tr[data-verb=create]")).to_have_count(2)
    screenshot(page, "da-import-preview")
    page.get_by_role("button", name="Kør import").click()
    expect(page.locator("[data-percentage]")).to_have_text("100 %", timeout=20_000)
    expect(page.get_by_role("navigation", name="Resultatlister")).to_contain_text("Oprettet (2)")
    screenshot(page, "da-import-result")
