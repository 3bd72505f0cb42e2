"""A CRM user works on companies in a real browser; the Sync tab is not theirs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Hub, screenshot

TEXTS = {
    "en": {"new": "New company", "save": "Save", "edit": "Edit", "required": "Required.", "settings": "Settings"},
    "da": {"new": "Nyt firma", "save": "Gem", "edit": "Rediger", "required": "Skal udfyldes.", "settings": "Indstil"},
}


@pytest.mark.parametrize("language", ["en", "da"])
def test_a_crm_user_creates_and_edits_a_company(page: Page, hub: Hub, language: str) -> None:
    texts = TEXTS[language]
    page.goto(f"{hub.url}/login")
    page.locator(f".language-switch button[value={language}]").click()
    screenshot(page, f"{language}-login")
    hub.sign_in(page, "carla")
    expect(page.get_by_role("navigation").get_by_role("link", name=texts["settings"])).to_have_count(0)

    page.get_by_role("link", name=texts["new"]).click()
    expect(page.get_by_role("heading", name=texts["new"])).to_be_visible()
    page.get_by_role("button", name=texts["save"]).click()
    expect(page.locator("#field-name-error")).to_have_text(texts["required"])
    screenshot(page, f"{language}-company-form-errors")
    page.locator("#field-name").fill("Acme A/S")
    page.locator("#field-email").fill("info@acme.example")
    page.get_by_role("button", name=texts["save"]).click()
    expect(page.get_by_role("heading", name="Acme A/S")).to_be_visible()
    screenshot(page, f"{language}-company-view")

    page.get_by_role("link", name=texts["edit"], exact=True).click()
    page.locator("#field-name").fill("Acme Nordic A/S")
    page.get_by_role("button", name=texts["save"]).click()
    expect(page.get_by_role("heading", name="Acme Nordic A/S")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link").first.click()
    expect(page.get_by_role("link", name="Acme Nordic A/S")).to_be_visible()
    screenshot(page, f"{language}-companies")


def test_a_user_who_is_not_an_administrator_gets_no_sync_tab(page: Page, hub: Hub) -> None:
    hub.sign_in(page, "carla")
    expect(page.get_by_role("link", name="Settings and maintenance")).to_have_count(0)
    page.goto(f"{hub.url}/settings/sync")
    expect(page.get_by_role("alert")).to_contain_text("administrator role")
    screenshot(page, "en-forbidden")


def test_the_user_menu_signs_out(page: Page, hub: Hub) -> None:
    hub.sign_in(page, "carla")
    page.locator(".user-menu summary").click()
    expect(page.get_by_text("Signed in as carla")).to_be_visible()
    screenshot(page, "en-user-menu")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{hub.url}/login")


def test_deleting_a_company_asks_first_and_escape_keeps_it(page: Page, hub: Hub) -> None:
    hub.sign_in(page, "carla")
    page.goto(f"{hub.url}/companies/new")
    page.locator("#field-name").fill("Doomed Ltd")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Delete").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete Doomed Ltd?")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    screenshot(page, "en-company-delete")
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    page.get_by_role("link", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{hub.url}/companies")
    expect(page.get_by_text("Doomed Ltd")).to_have_count(0)
