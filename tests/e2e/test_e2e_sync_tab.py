"""An administrator adds a Sync Connector and an ERP connection in a real browser, in English and in Danish."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Hub, screenshot

TEXTS = {
    "en": {
        "settings": "Settings and maintenance",
        "add_connector": "Add Sync Connector",
        "connections": "ERP connections",
        "add": "Add",
        "test": "Test connection",
        "passed": "Test passed.",
        "failed": "Test failed.",
        "configure": "Configure",
        "mappings": "Mappings",
    },
    "da": {
        "settings": "Indstillinger og vedligeholdelse",
        "add_connector": "Tilføj Sync Connector",
        "connections": "ERP-forbindelser",
        "add": "Tilføj",
        "test": "Test forbindelse",
        "passed": "Testen lykkedes.",
        "failed": "Testen mislykkedes.",
        "configure": "Konfigurer",
        "mappings": "Tilknytninger",
    },
}


def _choose_language(page: Page, hub: Hub, language: str) -> None:
    page.goto(f"{hub.url}/login")
    page.locator(f".language-switch button[value={language}]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("language", ["en", "da"])
def test_admin_adds_a_connector_and_a_connection(page: Page, hub: Hub, language: str) -> None:
    texts = TEXTS[language]
    _choose_language(page, hub, language)
    hub.sign_in(page, "admin")
    page.get_by_role("link", name=texts["settings"]).click()
    expect(page.get_by_role("heading", name=texts["connections"])).to_be_visible()
    screenshot(page, f"{language}-sync-tab-empty")

    page.get_by_role("link", name=texts["add_connector"]).click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("#connector-name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)

    page.get_by_role("link", name=texts["add_connector"]).click()
    dialog.locator("#connector-name").fill("Sample ERP")
    dialog.locator("#connector-url").fill(hub.sample.url)
    dialog.locator("#connector-secret").fill(hub.sample.secret)
    screenshot(page, f"{language}-connector-dialog")
    dialog.locator("button[type=submit]").click()
    expect(page.get_by_role("rowheader", name="Sample ERP")).to_be_visible()

    page.get_by_role("toolbar").get_by_role("button", name=texts["add"], exact=True).click()
    ok = dialog.locator("[data-ok-button]")
    expect(dialog.locator("#connection-name")).to_be_focused()
    dialog.locator("#connection-name").fill("Main")
    dialog.locator("#config-company").select_option("NORDIC")
    dialog.locator("#config-user").fill(hub.sample.config["user"])
    dialog.locator("#config-password").fill("wrong password")
    expect(ok).to_be_disabled()
    dialog.get_by_role("button", name=texts["test"]).click()
    expect(dialog.locator("#test-result")).to_contain_text(texts["failed"])
    expect(ok).to_be_disabled()

    dialog.locator("#config-password").fill(str(hub.sample.config["password"]))
    dialog.get_by_role("button", name=texts["test"]).click()
    expect(dialog.locator("#test-result")).to_contain_text(texts["passed"])
    expect(ok).to_be_enabled()
    dialog.locator("#config-page_size").fill("150")
    expect(ok).to_be_disabled()
    dialog.get_by_role("button", name=texts["test"]).click()
    expect(ok).to_be_enabled()
    dialog.locator("#connection-description").fill("Head office")
    expect(ok).to_be_enabled()  # only the connector's config values need a test
    screenshot(page, f"{language}-connection-dialog")
    ok.click()

    row = page.locator("tr", has_text="Head office")
    expect(row).to_contain_text("Main")
    expect(page.get_by_role("button", name=texts["mappings"])).to_be_disabled()
    configure = page.get_by_role("button", name=texts["configure"])
    expect(configure).to_be_disabled()
    row.click()
    expect(configure).to_be_enabled()
    screenshot(page, f"{language}-sync-tab")
    configure.click()
    expect(dialog.locator("#connection-name")).to_have_value("Main")
    expect(dialog.locator("#config-page_size")).to_have_value("150")
    expect(dialog.locator("#config-password")).to_have_value("")
    expect(ok).to_be_enabled()  # the saved values passed their test
    dialog.locator("#config-page_size").fill("200")
    expect(ok).to_be_disabled()  # a changed config value needs a test
    dialog.locator("#config-page_size").fill("150")
    expect(ok).to_be_enabled()
    dialog.locator("#connection-description").fill("Main office")
    dialog.locator("input[name=visibility][value=specified]").check()
    expect(ok).to_be_enabled()  # a new description or visibility needs no new test
    dialog.locator("input[name=visibility][value=everyone]").check()
    screenshot(page, f"{language}-connection-configure")
    ok.click()
    expect(page.locator("tr", has_text="Main office")).to_contain_text("Main")


def test_the_delete_preview_follows_the_chosen_policy_without_a_reload(page: Page, hub: Hub) -> None:
    connection_id = hub.add_connection(visible_to=())
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/sync/connections/{connection_id}/mappings?actor_type=customer")
    preview = page.locator("#delete-preview")
    expect(preview).to_have_attribute("data-delete-preview", "keep")
    expect(preview).to_contain_text("the next sync leaves their CRM records as they are")
    page.evaluate("window.notReloaded = true")
    page.locator("#erp-delete").select_option("delete")
    expect(preview).to_have_attribute("data-delete-preview", "delete")
    expect(preview).to_contain_text('Under "Delete the CRM record", the next sync would delete 0 CRM records.')
    page.locator("#erp-delete").select_option("deactivate")
    expect(preview).to_contain_text("the next sync would deactivate 0 CRM records")
    assert page.evaluate("window.notReloaded") is True  # swapped in place: the page was not loaded again
    expect(page.locator("#erp-delete")).to_have_value("deactivate")
